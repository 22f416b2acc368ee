"""The DMC safety report's rows of the permission matrix (trial.access_matrix reads them in).

The open report (pooled, no arms) is for the central roles. The closed report (by arm) is
for the roles the coordinator names on the settings page (``trial.reports.dmc_access``), read
at request time; only central roles can be named, so a site role never reaches it.
"""

from __future__ import annotations

from trial.models import CENTRAL_ROLES, Role


def _named_for_closed_report() -> frozenset[str]:
    from trial.reports.dmc_selectors import dmc_closed_roles

    return dmc_closed_roles()


def dmc_entries(Rule) -> dict:
    closed = {
        "kind": "central",
        "roles_if_named": (_named_for_closed_report, frozenset(CENTRAL_ROLES)),
    }
    return {
        "trial:dmc_open": Rule(
            kind="central",
            read_roles=frozenset(CENTRAL_ROLES),
            description="DMC safety report, open version: pooled, no arms (each look logged)",
        ),
        "trial:dmc_open_pdf": Rule(
            kind="central",
            read_roles=frozenset(CENTRAL_ROLES),
            description="The open DMC safety report as PDF (each download logged)",
        ),
        "trial:dmc_closed": Rule(
            **closed,
            description="DMC safety report, closed version: by arm; roles the coordinator names"
            " (each look logged)",
        ),
        "trial:dmc_closed_pdf": Rule(
            **closed,
            description="The closed DMC safety report as PDF (each download logged)",
        ),
        "trial:dmc_settings": Rule(
            kind="central",
            roles=frozenset({Role.COORDINATOR}),
            read_roles=frozenset({Role.DATA_MANAGER, Role.MONITOR}),
            description="Who may open the closed DMC report (coordinator, with a reason);"
            " the log of looks at both versions",
        ),
    }
