from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FollowupConfig(AppConfig):
    name = "followup"
    verbose_name = _("Follow-up")

    def ready(self) -> None:
        from followup import services
        from trial.registry import registry

        @registry.on_participant_ended
        def cancel_contacts(*, participant, reason, user=None):
            services.contacts_cancel_open(participant=participant, reason=reason, user=user)
