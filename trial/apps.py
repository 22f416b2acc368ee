from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrialConfig(AppConfig):
    name = "trial"
    verbose_name = _("Trial")

    def ready(self) -> None:
        from trial.registry import NavItem, registry

        registry.add_nav(NavItem("trial:participant_list", _("Participants"), order=10))
        registry.add_nav(NavItem("trial:site_list", _("Sites"), order=80))
        registry.add_nav(NavItem("trial:audit_log", _("Audit trail"), order=90))
        registry.add_nav(NavItem("admin:index", _("Administration"), order=99))

        from trial.selectors import _screening_blockers

        registry.readiness_check(order=10)(_screening_blockers)
