"""What treatment adds to the shared registry: the treatment and adverse-event panels, their
timeline, the SAE list and the demo step."""

from django.utils.translation import gettext_lazy as _

from trial.registry import DemoStep, NavItem, Panel, Registry

# tasks: imported so that a worker, which loads the wiring at start-up, registers them.
from trial.treatment import demo, panels, tasks  # noqa: F401


def register(registry: Registry) -> None:
    registry.add_panel(
        Panel(
            "treatment",
            "trial/treatment/panel_treatment.html",
            panels.treatment_context,
            order=40,
        )
    )
    registry.add_panel(
        Panel(
            "adverse_events",
            "trial/treatment/panel_adverse_events.html",
            panels.adverse_events_context,
            order=50,
        )
    )
    registry.timeline(panels.treatment_timeline)
    registry.add_nav(NavItem("trial:sae_list", _("SAEs"), order=60, group="review"))
    registry.add_demo_step(DemoStep("treatment", demo.seed_treatment, order=70))
