"""The printed letter with a personal link and its QR code, for patients without e-mail.

Rendered with WeasyPrint inside the link's language (translation.override), so the letter is
in the patient's language whatever the staff member's interface says.
"""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation

from questionnaires.models import QuestionnaireLink


def qr_data_uri(url: str) -> str:
    import segno

    return segno.make(url, error="m").svg_data_uri(scale=4, border=2)


def link_letter_pdf(*, link: QuestionnaireLink, url: str, identity=None) -> bytes:
    from weasyprint import HTML

    with translation.override(link.language), timezone.override(settings.TIME_ZONE):
        html = render_to_string(
            "questionnaires/letter.html",
            {
                "link": link,
                "url": url,
                "qr": qr_data_uri(url),
                "identity": identity,
                "participant": link.participant,
                "trial_name": settings.TRIAL_NAME,
                "today": timezone.localdate(),
            },
        )
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()
