"""What monitoring adds to the shared registry: the queries panel and the navigation entry."""

from django.utils.translation import gettext_lazy as _

from trial.monitoring import checks, dashboard, demo, panels, tasks  # noqa: F401 - tasks
from trial.registry import DemoStep, NavItem, Panel, Registry


def register(registry: Registry) -> None:
    registry.add_panel(
        Panel("queries", "trial/monitoring/panel_queries.html", panels.queries_context, order=15)
    )
    registry.add_nav(NavItem("trial:query_list", _("Queries"), order=65, group="review"))
    registry.add_nav(NavItem("trial:edit_checks", _("Edit checks"), order=66, group="review"))
    registry.on_data_saved(checks.after_save)
    dashboard.register_panels()
    # After the treatment, follow-up and questionnaire steps: the checks read their data.
    registry.add_demo_step(DemoStep("queries", demo.seed_queries, order=150))
