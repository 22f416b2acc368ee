"""Monitoring's part of the coordinator's dashboard: queries not closed, per site, with the age
of the oldest (one query), and source-data verification progress per site (one query per
form), whatever the number of participants."""

from __future__ import annotations

from django.urls import reverse

from trial import access
from trial.monitoring import sdv, selectors
from trial.registry import DashboardPanel, dashboard


def queries_context(request) -> dict:
    rows = selectors.counts_by_site(request.user)
    return {
        "rows": rows,
        "open": sum(r["open"] for r in rows),
        "answered": sum(r["answered"] for r in rows),
    }


def sdv_context(request) -> dict:
    """Source-data verification per site: form instances verified of those that need it (one
    query per form of TRIAL_SDV_FORMS)."""
    url = reverse("trial:sdv_worklist")
    return {
        "rows": sdv.progress_by_site(request.user),
        "worklist_url": url if access.may_open(request.user, url, method="GET") else "",
    }


def register_panels() -> None:
    dashboard.add_panel(
        DashboardPanel("queries", "trial/dashboard/panels/queries.html", queries_context, order=35)
    )
    dashboard.add_panel(
        DashboardPanel("sdv", "trial/dashboard/panels/sdv.html", sdv_context, order=36)
    )
