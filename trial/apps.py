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

        # The screening path (issue 3): pages, participant-page panels, timeline and demo.
        from trial import screening_demo, screening_panels
        from trial.registry import DemoStep, Panel

        registry.add_nav(NavItem("trial:screening_log", _("Screening log"), order=20))
        registry.add_nav(NavItem("trial:referral_list", _("Referrals"), order=25))
        # CONSORT and the criteria versions are reached from the central roles' home pages;
        # the navigation bar is already full for them.
        registry.add_panel(
            Panel(
                "readiness",
                "trial/panels/readiness.html",
                screening_panels.readiness_context,
                order=1,
            )
        )
        registry.add_panel(
            Panel(
                "screening",
                "trial/panels/screening.html",
                screening_panels.screening_context,
                order=20,
            )
        )
        registry.timeline(screening_panels.screening_timeline)
        registry.add_demo_step(DemoStep("screening", screening_demo.seed_screening, order=10))
