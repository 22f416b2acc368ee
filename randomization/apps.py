from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RandomizationConfig(AppConfig):
    name = "randomization"
    verbose_name = _("Randomisation")

    def ready(self) -> None:
        from randomization.demo import seed_envelopes
        from randomization.timeline import allocation_events
        from randomization.views import participant_panel
        from trial.registry import DemoStep, NavItem, Panel, registry

        registry.add_panel(
            Panel(
                code="randomisation",
                template="randomization/panel.html",
                context=participant_panel,
                order=20,
            )
        )
        registry.timeline(allocation_events)
        registry.add_nav(NavItem("randomization:envelopes", _("Envelopes"), order=40))
        registry.add_nav(NavItem("randomization:allocation_list", _("Allocation list"), order=41))
        registry.add_nav(NavItem("randomization:verification", _("Verification"), order=42))
        registry.add_nav(NavItem("randomization:deviations", _("Deviations"), order=43))
        registry.add_demo_step(DemoStep("envelopes", seed_envelopes, order=50))
