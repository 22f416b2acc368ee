"""The follow-up app's part of the coordinator's dashboard and outcome report.

Discovered by ``trial.registry.autodiscover_dashboards``: completeness per visit and the
overdue contacts; for the outcome report, every contact's status (the report reads the visits
themselves from trial.protocol).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from followup.models import OPEN_STATUSES, Contact, ContactStatus
from trial.models import Participant
from trial.protocol import active_schedule
from trial.registry import DashboardPanel, dashboard

OVERDUE_SHOWN = 25


@dataclass(frozen=True)
class OverdueContact:
    """A row of the overdue panel: the contact's fields the panel shows, and how late it is."""

    participant: Participant
    visit_code: str
    target_date: dt.date
    days_overdue: int
    window_closed: bool


def completeness() -> list[dict]:
    """Per visit of the schedule in force: contacts done of those whose window has closed.

    A contact counts as expected once it is done or its window has closed (missed, or still
    open past its window because the nightly job has not marked it yet); cancelled contacts
    (death, withdrawal) are not expected. One query.
    """
    today = timezone.localdate()
    counts = {
        row["visit_code"]: row
        for row in Contact.objects.values("visit_code")
        .annotate(
            done=Count("id", filter=Q(status=ContactStatus.DONE)),
            missed=Count("id", filter=Q(status=ContactStatus.MISSED)),
            late=Count("id", filter=Q(status__in=OPEN_STATUSES, window_closes__lt=today)),
            open=Count("id", filter=Q(status__in=OPEN_STATUSES, window_closes__gte=today)),
            cancelled=Count("id", filter=Q(status=ContactStatus.CANCELLED)),
        )
        .order_by()
    }
    rows = []
    for visit in active_schedule().visits:
        row = counts.get(visit.code)
        done, missed, late, still_open, cancelled = (
            (row["done"], row["missed"], row["late"], row["open"], row["cancelled"])
            if row
            else (0, 0, 0, 0, 0)
        )
        expected = done + missed + late
        rows.append(
            {
                "code": visit.code,
                "label": _(visit.label),
                "primary": visit.primary,
                "done": done,
                "missed": missed + late,
                "open": still_open,
                "cancelled": cancelled,
                "expected": expected,
                "percent": round(100 * done / expected) if expected else None,
            }
        )
    return rows


def completeness_context(request) -> dict:
    return {"rows": completeness()}


def overdue_context(request) -> dict:
    """Open contacts past their target day, oldest first (two queries)."""
    today = timezone.localdate()
    qs = Contact.objects.filter(status__in=OPEN_STATUSES, target_date__lt=today)
    contacts = [
        OverdueContact(
            participant=contact.participant,
            visit_code=contact.visit_code,
            target_date=contact.target_date,
            days_overdue=(today - contact.target_date).days,
            window_closed=contact.window_closes < today,
        )
        for contact in qs.select_related("participant", "participant__site").order_by(
            "target_date", "id"
        )[:OVERDUE_SHOWN]
    ]
    return {"contacts": contacts, "count": qs.count(), "shown": OVERDUE_SHOWN}


def contacts() -> list[tuple]:
    """(participant id, visit code, status, completed day or None) of every contact. One query."""
    return [
        (pid, code, status, timezone.localdate(completed) if completed else None)
        for pid, code, status, completed in Contact.objects.values_list(
            "participant_id", "visit_code", "status", "completed_at"
        )
    ]


dashboard.add_panel(
    DashboardPanel(
        "followup_completeness",
        "trial/dashboard/panels/completeness.html",
        completeness_context,
        order=50,
        wide=True,  # sixteen visits and five counts: too wide for half the page
    )
)
dashboard.add_panel(
    DashboardPanel(
        "overdue_contacts",
        "trial/dashboard/panels/overdue.html",
        overdue_context,
        order=60,
        wide=True,
    )
)
dashboard.add_report_source("contacts", contacts)
