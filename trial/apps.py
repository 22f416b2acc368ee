from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrialConfig(AppConfig):
    name = "trial"
    verbose_name = _("Trial")

    def ready(self) -> None:
        from trial.protocol import check_schedule_setting

        # Fail at startup, not at the first nightly run, when FOLLOWUP_SCHEDULE is wrong.
        check_schedule_setting()

        from trial.registry import NavGroup, NavItem, registry

        registry.add_nav(NavItem("trial:participant_list", _("Participants"), order=10))
        registry.add_nav_group(NavGroup("admin", _("Administration")))
        registry.add_nav(NavItem("trial:site_list", _("Sites"), order=80, group="admin"))
        registry.add_nav(NavItem("trial:staff_list", _("Staff"), order=85, group="admin"))
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

        from trial.home_cards import register_cards
        from trial.selectors import _screening_blockers

        register_cards()

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

        # Death and withdrawal (issue 7): the panel that ends follow-up, and its timeline.
        from trial import events_views

        registry.add_panel(
            Panel(
                "end_of_trial",
                "trial/panels/end_of_trial.html",
                events_views.end_of_trial_context,
                order=90,
            )
        )
        registry.timeline(events_views.end_of_trial_timeline)

        # --- dashboard and outcome report (issue 8) ---
        from trial import reports

        reports.register()
        # --- end dashboard and outcome report (issue 8) ---

        # --- treatment and clinical events (issue 7) ---
        from trial import treatment_demo, treatment_panels

        registry.add_panel(
            Panel(
                "treatment",
                "trial/treatment/panel_treatment.html",
                treatment_panels.treatment_context,
                order=40,
            )
        )
        registry.add_panel(
            Panel(
                "adverse_events",
                "trial/treatment/panel_adverse_events.html",
                treatment_panels.adverse_events_context,
                order=50,
            )
        )
        registry.timeline(treatment_panels.treatment_timeline)
        registry.add_nav(NavItem("trial:sae_list", _("SAEs"), order=60))
        registry.add_demo_step(DemoStep("treatment", treatment_demo.seed_treatment, order=70))
        # --- end treatment and clinical events (issue 7) ---

        # --- exports (issue 8) ---
        from trial import exports

        exports.register()
        # --- end exports (issue 8) ---

        # --- outbox ---
        # A task published from the outbox marks its row done (or notes its error) wherever
        # it runs: in a worker, or eagerly in the embedded default.
        from celery.signals import task_failure, task_success

        from trial.outbox import services as outbox

        task_success.connect(outbox.on_task_success, weak=False, dispatch_uid="outbox-done")
        task_failure.connect(outbox.on_task_failure, weak=False, dispatch_uid="outbox-failed")
        # --- end outbox ---
