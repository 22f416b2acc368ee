"""What screening adds to the shared registry: pages, participant-page panels, the readiness
check that gates randomisation, timeline events and the demo step."""

from django.utils.translation import gettext_lazy as _

from trial.registry import DemoStep, NavItem, Panel, Registry
from trial.screening import demo, panels
from trial.screening.selectors import _screening_blockers


def register(registry: Registry) -> None:
    registry.readiness_check(order=10)(_screening_blockers)
    registry.add_nav(
        NavItem("trial:screening_log", _("Screening log"), order=20, group="screening")
    )
    registry.add_nav(NavItem("trial:referral_list", _("Referrals"), order=25, group="screening"))
    # CONSORT and the criteria versions are reached from the central roles' home pages;
    # the navigation bar is already full for them.
    registry.add_panel(
        Panel("readiness", "trial/panels/readiness.html", panels.readiness_context, order=1)
    )
    registry.add_panel(
        Panel("screening", "trial/panels/screening.html", panels.screening_context, order=20)
    )
    registry.timeline(panels.screening_timeline)
    registry.add_demo_step(DemoStep("screening", demo.seed_screening, order=10))
