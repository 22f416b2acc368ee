"""What participants add to the shared registry: the participant list, and the panel and
timeline of death and withdrawal (the events that end follow-up)."""

from django.utils.translation import gettext_lazy as _

from trial.participants import views
from trial.registry import NavItem, Panel, Registry


def register(registry: Registry) -> None:
    registry.add_nav(NavItem("trial:participant_list", _("Participants"), order=10))
    registry.add_panel(
        Panel(
            "end_of_trial",
            "trial/panels/end_of_trial.html",
            views.end_of_trial_context,
            order=90,
        )
    )
    registry.timeline(views.end_of_trial_timeline)
