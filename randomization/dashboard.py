"""The randomisation app's part of the coordinator's dashboard and outcome report.

Discovered by ``trial.registry.autodiscover_dashboards``: envelope stock per site and stratum,
arm balance per stratum, and the allocations the outcome report groups by (arm, stratum, day 0).
Only revealed allocations' arms are counted (``selectors.revealed_allocations``): nothing here
reveals the arm of an unused envelope, nor of one taken but not yet confirmed.
"""

from __future__ import annotations

from django.db.models import Count, Q
from django.utils import timezone

from randomization import selectors
from randomization.models import Arm
from randomization.strata import FACTORS, STRATA, UnknownStratum, get_stratum
from trial.registry import DashboardPanel, dashboard


def stock_context(request) -> dict:
    """Unused envelopes per hematology site and stratum (two queries)."""
    from django.conf import settings

    return {
        "stock": selectors.stock_overview(),
        "strata": list(STRATA.values()),
        "threshold": settings.RANDOMISATION_STOCK_THRESHOLD,
    }


def arm_balance() -> list[dict]:
    """Allocations per stratum and arm (one query), every stratum listed, then the total."""
    counts = {
        row["stratum"]: row
        for row in selectors.revealed_allocations()
        .values("stratum")
        .annotate(
            pvp=Count("id", filter=Q(arm=Arm.PVP)),
            conservative=Count("id", filter=Q(arm=Arm.CONSERVATIVE)),
        )
        .order_by()
    }
    rows = []
    for code, stratum in STRATA.items():
        row = counts.get(code)
        pvp, conservative = (row["pvp"], row["conservative"]) if row else (0, 0)
        rows.append(
            {
                "code": code,
                "label": stratum.label,
                "pvp": pvp,
                "conservative": conservative,
                "total": pvp + conservative,
                "difference": pvp - conservative,
            }
        )
    return rows


def balance_context(request) -> dict:
    rows = arm_balance()
    return {
        "rows": rows,
        "total": {
            "pvp": sum(r["pvp"] for r in rows),
            "conservative": sum(r["conservative"] for r in rows),
            "total": sum(r["total"] for r in rows),
            "difference": sum(r["difference"] for r in rows),
        },
    }


def _stratum_levels(code: str) -> dict[str, str]:
    """Factor code -> level code of a stratum (``{"cohort": "A", ...}``): the analysis adjusts
    for the factors as they were at randomisation, decoded by the strata's one declaration."""
    try:
        return get_stratum(code).level_codes
    except UnknownStratum:
        return {}


def allocations() -> dict[int, dict]:
    """participant id -> arm, stratum (and its factor levels), day of randomisation (local
    date). One query."""
    return {
        pid: {
            "arm": arm,
            "stratum": stratum,
            "stratum_levels": _stratum_levels(stratum),
            "randomised_on": timezone.localdate(at),
        }
        for pid, arm, stratum, at in selectors.revealed_allocations().values_list(
            "participant_id", "arm", "stratum", "randomised_at"
        )
    }


def ineligible_randomised() -> set[int]:
    """Participants randomised although not eligible: a correction after randomisation made
    them ineligible, recorded as a protocol deviation (randomization.corrections). One query.
    The per-protocol analysis leaves them out (trial.reports.populations)."""
    return set(selectors.ineligible_deviations().values_list("participant_id", flat=True))


def strata_factors() -> dict[str, str]:
    """Factor code -> label, how the adjusted analyses name their covariates."""
    return {f.code: str(f.label) for f in FACTORS}


def arm_labels() -> dict[str, str]:
    return {value: str(label) for value, label in Arm.choices}


dashboard.add_panel(
    DashboardPanel(
        "arm_balance", "trial/dashboard/panels/arm_balance.html", balance_context, order=30
    )
)
dashboard.add_panel(
    DashboardPanel(
        "envelope_stock", "trial/dashboard/panels/stock.html", stock_context, order=40, wide=True
    )
)
dashboard.add_report_source("allocations", allocations)
dashboard.add_report_source("arm_labels", arm_labels)
dashboard.add_report_source("strata_factors", strata_factors)
dashboard.add_report_source("ineligible_randomised", ineligible_randomised)
