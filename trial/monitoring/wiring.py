"""What monitoring adds to the shared registry: the queries and casebook panels, the navigation
entries, and the casebook's own section (the queries' resolutions)."""

from django.utils.translation import gettext_lazy as _

from trial.monitoring import checks, dashboard, demo, panels, tasks  # noqa: F401 - tasks
from trial.monitoring.casebook import sections
from trial.monitoring.casebook import tasks as casebook_tasks  # noqa: F401 - registers them
from trial.registry import CasebookSectionProvider, DemoStep, NavItem, Panel, Registry


def register(registry: Registry) -> None:
    registry.add_panel(
        Panel("queries", "trial/monitoring/panel_queries.html", panels.queries_context, order=15)
    )
    registry.add_nav(NavItem("trial:query_list", _("Queries"), order=65, group="review"))
    registry.add_nav(NavItem("trial:edit_checks", _("Edit checks"), order=66, group="review"))
    registry.add_panel(
        Panel("casebook", "trial/monitoring/panel_casebook.html", panels.casebook_context, order=95)
    )
    registry.add_nav(
        NavItem("trial:casebook_archive", _("Site archives"), order=67, group="review")
    )
    registry.add_casebook_section(
        CasebookSectionProvider("queries", sections.queries_section, order=10)
    )
    registry.on_data_saved(checks.after_save)
    dashboard.register_panels()
    # After the treatment, follow-up and questionnaire steps: the checks read their data.
    registry.add_demo_step(DemoStep("queries", demo.seed_queries, order=150))
