"""The follow-up app's part of the coordinator's dashboard and outcome report.

Discovered by ``trial.registry.autodiscover_dashboards``: completeness per visit and the
overdue contacts; for the outcome report, every contact's status (the report reads the visits
themselves from trial.protocol).
"""

from __future__ import annotations

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from followup.models import OPEN_STATUSES, Contact, ContactStatus
from trial.protocol import active_schedule
from trial.registry import DashboardPanel, dashboard

OVERDUE_SHOWN = 25


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
        row = counts.get(visit.code, {})
        done, missed, late = row.get("done", 0), row.get("missed", 0), row.get("late", 0)
        expected = done + missed + late
        rows.append(
            {
                "code": visit.code,
                "label": _(visit.label),
                "primary": visit.primary,
                "done": done,
                "missed": missed + late,
                "open": row.get("open", 0),
                "cancelled": row.get("cancelled", 0),
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
    contacts = list(
        qs.select_related("participant", "participant__site").order_by("target_date", "id")[
            :OVERDUE_SHOWN
        ]
    )
    for contact in contacts:
        contact.days_overdue = (today - contact.target_date).days
        contact.window_closed = contact.window_closes < today
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
