"""The messages that carry a personal link: e-mail and text message, in the link's language."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation

from questionnaires import sms
from questionnaires.models import QuestionnaireLink, SentVia


def send_link(*, link: QuestionnaireLink, address: str, url: str, reminder: bool) -> None:
    context = {
        "url": url,
        "reminder": reminder,
        "expires_at": link.expires_at,
        "trial_name": settings.TRIAL_NAME,
    }
    with translation.override(link.language):
        if link.sent_via == SentVia.EMAIL:
            subject = render_to_string("questionnaires/email/link_subject.txt", context).strip()
            body = render_to_string("questionnaires/email/link_body.txt", context)
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [address])
        elif link.sent_via == SentVia.SMS:
            text = render_to_string("questionnaires/email/link_sms.txt", context).strip()
            sms.send_sms(address, text)
