"""Monitoring's part of the coordinator's dashboard: queries not closed, per site, with the age
of the oldest. One query, whatever the number of participants."""

from __future__ import annotations

from trial.monitoring import selectors
from trial.registry import DashboardPanel, dashboard


def queries_context(request) -> dict:
    rows = selectors.counts_by_site(request.user)
    return {
        "rows": rows,
        "open": sum(r["open"] for r in rows),
        "answered": sum(r["answered"] for r in rows),
    }


def register_panels() -> None:
    dashboard.add_panel(
        DashboardPanel("queries", "trial/dashboard/panels/queries.html", queries_context, order=35)
    )
