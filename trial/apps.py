from importlib import import_module

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# The capability packages that add pages, panels, timeline events and demo steps to the shared
# registry, each through its own ``register(registry)`` (in ``wiring.py``, or the package's
# ``__init__`` for exports and reports). The order is the order in which timeline providers are
# asked, so events at the same moment keep their place on the page; menus, panels and demo
# steps are sorted by their own ``order``.
WIRING = (
    "trial.staff.wiring",
    "trial.screening.wiring",
    "trial.participants.wiring",
    "trial.reports",
    "trial.treatment.wiring",
    "trial.exports",
    "trial.monitoring.wiring",
)


class TrialConfig(AppConfig):
    name = "trial"
    verbose_name = _("Trial")

    def ready(self) -> None:
        from trial.protocol import check_schedule_setting
        from trial.registry import registry

        # Fail at startup, not at the first nightly run, when FOLLOWUP_SCHEDULE is wrong.
        check_schedule_setting()
        self.wire_core(registry)
        for module in WIRING:
            import_module(module).register(registry)
        self.wire_outbox()
        self.start_periodic_jobs()

    @staticmethod
    def wire_core(registry) -> None:
        from trial.home_cards import register_cards
        from trial.registry import NavGroup, NavItem

        registry.add_nav_group(NavGroup("admin", _("Administration")))
        # The screening log and the referrals, folded for the central roles that see them all.
        registry.add_nav_group(NavGroup("screening", _("Screening")))
        # Safety and data quality: SAEs (treatment), queries and edit checks (monitoring).
        registry.add_nav_group(NavGroup("review", _("Review")))
        registry.add_nav(NavItem("trial:audit_log", _("Audit trail"), order=90, group="admin"))
        registry.add_nav(
            NavItem(
                "admin:index",
                _("Administration"),
                order=99,
                group="admin",
                short_label=_("Sites and settings"),
            )
        )
        register_cards()

    @staticmethod
    def start_periodic_jobs() -> None:
        # The embedded default's stand-in for Celery beat; it decides itself whether this
        # process is the development server that should run it.
        import os
        import sys

        from trial.scheduler import start_if_dev_server

        start_if_dev_server(sys.argv, os.environ)

    @staticmethod
    def wire_outbox() -> None:
        # A task published from the outbox marks its row done (or notes its error) wherever it
        # runs: in a worker, or eagerly in the embedded default.
        from celery.signals import task_failure, task_success

        from trial.outbox import services as outbox

        task_success.connect(outbox.on_task_success, weak=False, dispatch_uid="outbox-done")
        task_failure.connect(outbox.on_task_failure, weak=False, dispatch_uid="outbox-failed")
