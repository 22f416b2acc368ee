"""The follow-up card on the nurse's (and hematologist's) home page: calls waiting today."""

from __future__ import annotations

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from followup import selectors


def worklist_card(user) -> dict | None:
    today = timezone.localdate()
    counts = selectors.open_contacts_for(user).aggregate(
        today=Count("id", filter=Q(window_opens__lte=today, window_closes__gte=today)),
        overdue=Count("id", filter=Q(target_date__lt=today)),
    )
    text = ngettext("%(n)s call due today", "%(n)s calls due today", counts["today"]) % {
        "n": counts["today"]
    }
    if counts["overdue"]:
        text += ", " + ngettext("%(n)s overdue", "%(n)s overdue", counts["overdue"]) % {
            "n": counts["overdue"]
        }
    return {
        "url": reverse("followup:worklist"),
        "title": gettext("Follow-up calls"),
        "text": text,
        "level": "warning" if counts["overdue"] else "",
    }
