"""PDFs of the randomisation app, rendered by WeasyPrint from templates.

The batch PDF is the only document that carries the arms of unused envelopes: one insert per
page (serial, site, stratum, allocation, instructions), then sheets of outside labels (serial,
site, stratum, no allocation). Each generation is logged and rendered by a task
(printing.batch_print_request).
"""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import timezone
from weasyprint import HTML

from randomization.models import EnvelopeBatch
from randomization.selectors import batch_envelopes
from randomization.strata import STRATA
from randomization.verification import VerificationReport

#: Outside labels per A4 sheet: 3 columns x 8 rows of 70 x 35 mm.
LABELS_PER_SHEET = 24


def _chunks(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def batch_pdf(batch: EnvelopeBatch) -> bytes:
    envelopes = list(batch_envelopes(batch))
    html = render_to_string(
        "randomization/pdf/batch.html",
        {
            "batch": batch,
            "stratum": STRATA[batch.stratum],
            "envelopes": envelopes,
            "label_sheets": _chunks(envelopes, LABELS_PER_SHEET),
            "printed_at": timezone.localtime(),
        },
    )
    return HTML(string=html).write_pdf()


def verification_pdf(report: VerificationReport) -> bytes:
    html = render_to_string(
        "randomization/pdf/verification.html",
        {"report": report, "printed_at": timezone.localtime()},
    )
    return HTML(string=html).write_pdf()
