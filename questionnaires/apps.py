from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QuestionnairesConfig(AppConfig):
    name = "questionnaires"
    verbose_name = _("Questionnaires")

    def ready(self) -> None:
        from questionnaires import contributions
        from trial.registry import DemoStep, NavItem, Panel, registry

        registry.readiness_check(order=40)(contributions.baseline_blockers)

        @registry.on_participant_ended
        def revoke_links(*, participant, reason, user=None):
            from questionnaires.links import participant_links_revoke

            participant_links_revoke(participant=participant, reason=reason, user=user)

        registry.timeline(contributions.timeline_events)

        from questionnaires.audit_story import STORY

        registry.add_audit_story(STORY)
        registry.add_panel(
            Panel(
                code="scores",
                template="questionnaires/panels/scores.html",
                context=contributions.scores_panel,
                order=50,
            )
        )
        registry.add_nav(
            NavItem("questionnaires:link_list", _("Questionnaires"), order=40, group="followup")
        )

        from questionnaires.demo import seed_follow_up_answers, seed_questionnaires

        registry.add_demo_step(DemoStep(code="questionnaires", run=seed_questionnaires, order=40))
        # After the follow-up replay, treatment and the recorded deaths and withdrawals (and
        # today's calls, order 95), whose dates bound the answers.
        registry.add_demo_step(
            DemoStep(code="follow_up_answers", run=seed_follow_up_answers, order=96)
        )
