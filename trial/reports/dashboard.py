"""The trial's panels of the coordinator's dashboard.

The dashboard is a list of panels from trial.registry.dashboard: this module defines the
trial's own (recruitment, CONSORT flow, serious adverse events), which ``register_panels()``
adds at start-up (trial.reports.register); randomization, followup and
questionnaires add theirs from their own ``dashboard.py``. Each panel runs a constant number of
queries, so the page does not slow down as the trial grows.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.utils import timezone
from django.utils.translation import gettext as _

from trial.registry import DashboardPanel, dashboard
from trial.reports.consort_flow import consort_flow
from trial.reports.outcome_data import OutcomeData, Subject, optional_model, outcome_data

SAES_SHOWN = 25


def _outcome_data(request) -> OutcomeData:
    """Gathered once per request and shared by the panels that need it."""
    if not hasattr(request, "_dashboard_outcome_data"):
        request._dashboard_outcome_data = outcome_data()
    return request._dashboard_outcome_data


def _month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _months(first: dt.date, last: dt.date) -> list[dt.date]:
    months, current = [], _month(first)
    while current <= last:
        months.append(current)
        current = (current + dt.timedelta(days=32)).replace(day=1)
    return months


def recruitment_chart(subjects: list[Subject], today: dt.date) -> dict:
    """Cumulative number randomised per site and month, for Chart.js (via json_script)."""
    if not subjects:
        return {}
    per_site: dict[str, dict[dt.date, int]] = defaultdict(lambda: defaultdict(int))
    for s in subjects:
        per_site[s.site_code][_month(s.randomised_on)] += 1
    months = _months(min(s.randomised_on for s in subjects), today)
    datasets = []
    for code in sorted(per_site):
        running, values = 0, []
        for month in months:
            running += per_site[code].get(month, 0)
            values.append(running)
        datasets.append({"label": code, "data": values})
    return {
        "labels": [m.strftime("%Y-%m") for m in months],
        "datasets": datasets,
        "total": len(subjects),
        "title": _("Randomised, cumulative"),
    }


def recruitment_context(request) -> dict:
    data = _outcome_data(request)
    today = timezone.localdate()
    per_site: dict[str, int] = defaultdict(int)
    last_30 = 0
    for s in data.subjects:
        per_site[s.site_code] += 1
        last_30 += (today - s.randomised_on).days < 30
    return {
        "chart": recruitment_chart(data.subjects, today),
        "per_site": sorted(per_site.items()),
        "total": len(data.subjects),
        "last_30": last_30,
    }


def consort_context(request) -> dict:
    return {"flow": consort_flow(data=_outcome_data(request))}


def sae_context(request) -> dict:
    """Serious adverse events nobody has acknowledged yet, oldest onset first (two queries)."""
    model = optional_model("trial", "AdverseEvent")
    if model is None:
        return {"missing": True}
    qs = model.objects.filter(serious=True, acknowledged_at__isnull=True)
    events = list(
        qs.select_related("participant", "participant__site").order_by("onset_date", "pk")[
            :SAES_SHOWN
        ]
    )
    return {"events": events, "count": qs.count(), "shown": SAES_SHOWN}


def register_panels() -> None:
    dashboard.add_panel(
        DashboardPanel(
            "recruitment", "trial/dashboard/panels/recruitment.html", recruitment_context, 10, True
        )
    )
    dashboard.add_panel(
        DashboardPanel("consort", "trial/dashboard/panels/consort.html", consort_context, 20, True)
    )
    dashboard.add_panel(
        # Right after the flow: an unacknowledged SAE is the most urgent thing on the page.
        DashboardPanel("saes", "trial/dashboard/panels/saes.html", sae_context, order=25)
    )
