"""What monitoring adds to the shared registry: the queries and source-data verification
panels, their navigation entries, the data-saved hooks and the demo steps."""

from django.utils.translation import gettext_lazy as _

from trial.monitoring import checks, dashboard, demo, panels, sdv, services, tasks  # noqa: F401
from trial.registry import DemoStep, NavItem, Panel, Registry


def register(registry: Registry) -> None:
    registry.add_panel(
        Panel("queries", "trial/monitoring/panel_queries.html", panels.queries_context, order=15)
    )
    registry.add_nav(NavItem("trial:query_list", _("Queries"), order=65, group="review"))
    registry.add_nav(NavItem("trial:edit_checks", _("Edit checks"), order=66, group="review"))
    registry.add_panel(
        Panel("sdv", "trial/monitoring/panel_sdv.html", panels.sdv_context, order=16)
    )
    registry.add_nav(
        NavItem("trial:sdv_worklist", _("Source-data verification"), order=67, group="review")
    )
    registry.on_data_saved(checks.after_save)
    # A change to a verified form clears its verification, in the transaction of the change.
    registry.on_data_saved(services.sdv_clear_on_change)
    sdv.sdv_forms()  # an unknown form in TRIAL_SDV_FORMS stops the start-up
    dashboard.register_panels()
    # After the treatment, follow-up and questionnaire steps: the checks read their data.
    registry.add_demo_step(DemoStep("queries", demo.seed_queries, order=150))
    registry.add_demo_step(DemoStep("sdv", demo.seed_verifications, order=155))
