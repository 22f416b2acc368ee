from importlib import import_module

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# The capability packages that add pages, panels, timeline events and demo steps to the shared
# registry, each through its own ``wiring.register(registry)``. The order is the order in which
# timeline providers are asked, so events at the same moment keep their place on the page;
# menus, panels and demo steps are sorted by their own ``order``.
WIRING = (
    "trial.staff",
    "trial.screening",
    "trial.participants",
    "trial.treatment",
)


class TrialConfig(AppConfig):
    name = "trial"
    verbose_name = _("Trial")

    def ready(self) -> None:
        from trial.registry import registry

        self.wire_core(registry)
        for package in WIRING:
            import_module(f"{package}.wiring").register(registry)
        self.wire_dashboard_and_exports(registry)

    @staticmethod
    def wire_core(registry) -> None:
        from trial.home_cards import register_cards
        from trial.registry import NavGroup, NavItem

        registry.add_nav_group(NavGroup("admin", _("Administration")))
        registry.add_nav(NavItem("trial:audit_log", _("Audit trail"), order=90, group="admin"))
        registry.add_nav(
            NavItem(
                "admin:index",
                _("Administration"),
                order=99,
                group="admin",
                short_label=_("Users, sites and settings"),
            )
        )
        register_cards()

    @staticmethod
    def wire_dashboard_and_exports(registry) -> None:
        from trial import dashboard_demo, export_demo
        from trial.registry import DemoStep, NavItem, autodiscover_dashboards

        # The coordinator's landing link; panels come from every app's dashboard.py.
        registry.add_nav(NavItem("trial:dashboard", _("Dashboard"), order=5))
        autodiscover_dashboards()
        registry.add_demo_step(DemoStep("dashboard", dashboard_demo.seed_outcomes, order=90))
        # Last, so that the demo export holds everything the other steps made.
        registry.add_demo_step(DemoStep("export", export_demo.seed_export, order=200))
        registry.add_nav(NavItem("trial:export_list", _("Exports"), order=75))
