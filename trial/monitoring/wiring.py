"""What monitoring adds to the shared registry: the queries panel and the navigation entry."""

from django.utils.translation import gettext_lazy as _

from trial.monitoring import checks, dashboard, demo, locks, panels, tasks  # noqa: F401 - tasks
from trial.registry import DemoStep, NavItem, Panel, Registry


def register(registry: Registry) -> None:
    registry.add_panel(
        Panel("queries", "trial/monitoring/panel_queries.html", panels.queries_context, order=15)
    )
    registry.add_nav(NavItem("trial:query_list", _("Queries"), order=65, group="review"))
    registry.add_nav(NavItem("trial:edit_checks", _("Edit checks"), order=66, group="review"))
    registry.add_panel(
        Panel("lock", "trial/monitoring/panel_lock.html", panels.lock_context, order=5)
    )
    registry.add_nav(NavItem("trial:trial_lock", _("Database lock"), order=67, group="review"))
    # The data locks: one guard before every audited write, the conditions for locking (the
    # casebook's signature is plugged in by its own package), and the lock in words for pages.
    registry.add_write_guard(locks.guard)
    registry.add_lock_condition(locks.condition_followup_over)
    registry.add_lock_condition(locks.condition_queries_closed)
    registry.lock_message = locks.lock_message
    registry.on_data_saved(checks.after_save)
    dashboard.register_panels()
    # After the treatment, follow-up and questionnaire steps: the checks read their data.
    registry.add_demo_step(DemoStep("queries", demo.seed_queries, order=150))
