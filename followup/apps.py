from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FollowupConfig(AppConfig):
    name = "followup"
    verbose_name = _("Follow-up")

    def ready(self) -> None:
        from followup import services
        from followup.demo import seed_followup, seed_followup_today
        from trial.registry import DemoStep, NavGroup, NavItem, registry

        @registry.on_participant_ended
        def cancel_contacts(*, participant, reason, user=None):
            services.contacts_cancel_open(participant=participant, reason=reason, user=user)

        @registry.on_schedule_anchor
        def create_contacts(*, participant, anchor, user=None):
            services.contacts_create_for(participant=participant, user=user)

        from followup.panels import schedule_panel
        from followup.selectors import call_timeline
        from trial.registry import Panel

        registry.timeline(call_timeline)
        from followup.selectors import adverse_event_prefill

        registry.add_form_prefill("adverse_event", adverse_event_prefill)
        registry.add_panel(
            Panel("schedule", "followup/panels/schedule.html", schedule_panel, order=30)
        )
        registry.add_nav_group(NavGroup("followup", _("Follow-up")))
        registry.add_nav(
            NavItem(
                "followup:worklist",
                _("Follow-up"),
                order=30,
                group="followup",
                short_label=_("Worklist"),
            )
        )
        registry.add_nav(
            NavItem("followup:completeness", _("Completeness"), order=45, group="followup")
        )
        registry.add_nav(
            NavItem("followup:missing_data", _("Missing data"), order=46, group="followup")
        )
        from followup.home import worklist_card
        from trial.models import Role
        from trial.registry import HomeCard

        registry.add_home_card(
            HomeCard("followup", frozenset({Role.NURSE, Role.HEMATOLOGIST}), worklist_card, 10)
        )
        registry.add_demo_step(DemoStep("followup", seed_followup, order=60))
        registry.add_demo_step(DemoStep("followup_today", seed_followup_today, order=95))
