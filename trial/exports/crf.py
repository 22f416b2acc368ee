"""The blank annotated CRF: every form of the trial as a paper form, each item with its
question, its export variable name and type, its codes and units, and boxes to fill.

For the statistician it is the CDISC annotated CRF (what each box becomes in the data); for
the sites it is the paper fallback when the system is down. It is read from the same source as
the codebook, the exporters' variables (``trial.exports.registry``), so the two cannot differ;
apps add the words a form is filled with in a language (the questionnaires' licensed or demo
wording) through ``ExporterRegistry.add_crf_wording``. Forms the system keeps by itself
(contacts, the participant register, queries) are left out (``Exporter.on_crf``), and so is
the identifying data, which has its own protected form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from trial.exports.registry import CrfWording, Exporter, Variable, autodiscover

LANGUAGES = ("da", "en")


@dataclass(frozen=True)
class CrfItem:
    variable: str
    question: str
    type: str
    codes: list[tuple[Any, str]]
    allowed: str
    unit: str
    derived: bool = False

    @property
    def boxes(self) -> int:
        """How many character boxes a free answer gets on paper."""
        return {"integer": 6, "decimal": 8, "boolean": 0, "date": 0, "datetime": 0}.get(
            self.type, 30
        )


@dataclass(frozen=True)
class CrfForm:
    identifier: str
    label: str
    description: str
    repeated: bool
    key_name: str
    title: str
    intro: str
    demo: bool
    items: list[CrfItem]


def _item(var: Variable, wording: CrfWording | None) -> CrfItem:
    question = (wording.questions.get(var.name) if wording else "") or str(var.label)
    texts = wording.choices.get(var.name, {}) if wording else {}
    codes = [(code, texts.get(code) or str(meaning)) for code, meaning in var.codes]
    if not codes and texts:  # a slider: its two ends
        codes = sorted(texts.items())
    return CrfItem(var.name, question, var.type, codes, var.allowed, var.unit, var.derived)


def _form(exporter: Exporter, language: str) -> CrfForm:
    wording = autodiscover().crf_wording(exporter.identifier, language)
    return CrfForm(
        identifier=exporter.identifier,
        label=str(exporter.label),
        description=str(exporter.description),
        repeated=exporter.repeated,
        key_name=exporter.key_name,
        title=wording.title if wording else "",
        intro=wording.intro if wording else "",
        demo=wording.demo if wording else False,
        items=[_item(v, wording) for v in exporter.variables() if not v.identifying],
    )


def crf_forms(language: str) -> list[CrfForm]:
    """Every form people fill, in the export's order, worded in ``language``."""
    with translation.override(language):
        return [_form(e, language) for e in autodiscover().exporters() if e.on_crf]


def annotated_crf_pdf(language: str) -> bytes:
    """The blank annotated CRF in ``language`` ("da" or "en") as PDF."""
    from django.template.loader import render_to_string
    from weasyprint import HTML

    if language not in LANGUAGES:
        raise ValueError(f"no annotated CRF in {language!r}")
    with translation.override(language):
        html = render_to_string(
            "trial/exports/annotated_crf_pdf.html",
            {
                "forms": crf_forms(language),
                "trial_name": settings.TRIAL_NAME,
                "created": timezone.localtime(),
                "language": language,
                "intro": _(
                    "Blank case report forms of every form of the trial. Beside each item: "
                    "its variable name in the exports and codebook, its type, and its codes. "
                    "On paper, fill the boxes or tick one code; enter the form in the system "
                    "as soon as it is running again."
                ),
            },
        )
    return HTML(string=html).write_pdf()
