"""Reports: the coordinator's dashboard and the outcome report.

- ``dashboard``: the trial's own dashboard panels (recruitment, CONSORT flow, SAEs).
- ``outcome_data``: the report's data, one ``Subject`` per randomised participant.
- ``consort_flow``: the CONSORT flow (outcome report and dashboard).
- ``outcomes``: the outcome report's tables, intention to treat and as treated.
- ``statistics``: the pure statistical functions the report uses.
- ``views``: the dashboard and outcome-report pages; ``demo``: their ``seed_demo`` step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trial.registry import Registry


def register(registry: Registry) -> None:
    """Wire the reports into the trial app; called once from ``TrialConfig.ready``."""
    from django.utils.translation import gettext_lazy as _

    from trial.registry import DemoStep, NavItem, autodiscover_dashboards
    from trial.reports import dashboard, demo

    # The coordinator's landing link; the trial's panels, then every other app's from its
    # own dashboard.py.
    registry.add_nav(NavItem("trial:dashboard", _("Dashboard"), order=5))
    dashboard.register_panels()
    autodiscover_dashboards()
    registry.add_demo_step(DemoStep("dashboard", demo.seed_outcomes, order=90))
