from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RandomizationConfig(AppConfig):
    name = "randomization"
    verbose_name = _("Randomisation")

    def ready(self) -> None:
        from randomization import selectors
        from randomization.corrections import correction_check, correction_snapshot
        from randomization.demo import seed_envelopes
        from randomization.timeline import allocation_events
        from randomization.views import participant_panel
        from trial.registry import (
            Concealment,
            CorrectionCheck,
            DemoStep,
            NavGroup,
            NavItem,
            Panel,
            registry,
        )

        registry.concealment = Concealment(
            revealed=selectors.allocation_revealed,
            revealed_q=selectors.revealed_q,
            concealed_ids=selectors.concealed_allocation_ids,
            audit_model="randomization.Allocation",
            audit_fields=frozenset({"arm"}),
        )

        registry.add_correction_check(
            CorrectionCheck(snapshot=correction_snapshot, after=correction_check)
        )
        registry.add_panel(
            Panel(
                code="randomisation",
                template="randomization/panel.html",
                context=participant_panel,
                order=20,
            )
        )
        registry.timeline(allocation_events)
        registry.add_nav_group(NavGroup("randomisation", _("Randomisation")))
        for name, label, order in (
            ("randomization:envelopes", _("Envelopes"), 40),
            ("randomization:allocation_list", _("Allocation list"), 41),
            ("randomization:verification", _("Verification"), 42),
            ("randomization:deviations", _("Deviations"), 43),
        ):
            registry.add_nav(NavItem(name, label, order=order, group="randomisation"))
        registry.add_demo_step(DemoStep("envelopes", seed_envelopes, order=50))
        registry.add_api_action("randomise", randomise_for_api)


def randomise_for_api(*, participant, user) -> dict:
    """The web API's randomise: the page's service and refusals. Like the page it names the
    envelope to open and never its arm: the arm is read from the card and confirmed on the
    participant's page (allocation concealment)."""
    from django.urls import reverse

    from randomization import services

    # A refusal (not ready, already randomised, no stock) is a ServiceError with every reason
    # in words, as on the page; the API answers it as a 409.
    allocation = services.participant_randomize(participant=participant, user=user)
    return {
        "trial_number": participant.trial_number,
        "envelope_serial": allocation.envelope.serial,
        "stratum": allocation.stratum,
        "randomised_at": allocation.randomised_at.isoformat(),
        "confirm_url": reverse(
            "randomization:allocation_confirm", kwargs={"trial_number": participant.trial_number}
        ),
    }
