"""The nurse's weekly contact list as a PDF (WeasyPrint), for print or as an e-mail attachment."""

from __future__ import annotations

import datetime as dt

from django.template.loader import render_to_string
from django.utils import timezone
from weasyprint import HTML

from followup.selectors import rows_for


def weekly_list_pdf(*, user, week_start: dt.date, contacts, identified: bool) -> bytes:
    """``identified``: names and phone numbers of the participants whose identity ``user`` may
    see. The e-mailed copy is never identified (see services.weekly_list_send_one)."""
    rows = rows_for(user, contacts, with_identity=identified)
    html = render_to_string(
        "followup/pdf/weekly_list.html",
        {
            "rows": rows,
            "identified": identified,
            "nurse": user,
            "week_start": week_start,
            "week_end": week_start + dt.timedelta(days=6),
            "printed_at": timezone.localtime(),
        },
    )
    return HTML(string=html).write_pdf()
