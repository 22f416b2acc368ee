"""The demo's queries: what the edit checks find in the demo data, and a query the monitor
raised on a screening form, answered by the site's nurse, so the query pages have a thread to
show."""

from __future__ import annotations

from trial.models import Participant, ScreeningForm
from trial.monitoring import checks, items, services
from trial.monitoring.models import Query


def seed_queries(context: dict) -> None:
    if Query.objects.exists():
        return  # seeded before
    checks.edit_checks_run_all()
    users = context.get("users", {})
    # The demo's personas, by their usernames (trial.staff.demo).
    monitor, nurse = users.get("monitor"), users.get("nurse")
    form = (
        ScreeningForm.objects.filter(
            participant__site__code="AAR", participant__status="randomised"
        )
        .select_related("participant")
        .order_by("participant__trial_number")
        .first()
    )
    if monitor is None or nurse is None or form is None:
        return
    participant: Participant = form.participant
    onset = items.item_get(participant, f"trial.ScreeningForm:{form.pk}:pain_onset_date")
    dose = items.item_get(participant, f"trial.ScreeningForm:{form.pk}:opioid_ome_mg_per_day")
    if onset is not None:
        answered = services.query_raise(
            participant=participant,
            item=onset,
            text="The referral letter gives another month for the start of the pain: please check.",
            user=monitor,
        )
        services.query_step(
            query=answered,
            step="answer",
            user=nurse,
            text="Checked with the patient and the hospital record: the date is right.",
        )
    if dose is not None:
        services.query_raise(
            participant=participant,
            item=dose,
            text="Is this the daily dose, or the dose of one tablet?",
            user=monitor,
        )


def seed_signature(context: dict) -> None:
    """One casebook signed by the site's hematologist: the first randomised participant of
    AAR (the one with the queries), so the signature panel and list have something to show."""
    from trial.monitoring.signature_models import Signature
    from trial.monitoring.signature_services import signature_sign

    if Signature.objects.exists():
        return  # seeded before
    hematologist = context.get("users", {}).get("hematologist")
    participant = (
        Participant.objects.filter(site__code="AAR", status="randomised")
        .order_by("trial_number")
        .first()
    )
    if hematologist is None or participant is None:
        return
    signature_sign(participant=participant, user=hematologist)


def seed_verifications(context: dict) -> None:
    """The monitor has verified consent, eligibility and randomisation of the first few
    randomised participants of AAR, so the worklist and the dashboard show progress."""
    from trial.monitoring import sdv
    from trial.monitoring.models import SourceVerification

    monitor = context.get("users", {}).get("monitor")
    if monitor is None or SourceVerification.objects.exists():
        return
    participants = Participant.objects.filter(site__code="AAR", status="randomised").order_by(
        "trial_number"
    )[:3]
    for participant in participants:
        for instance in sdv.sdv_state_for(participant):
            if instance.form.code in ("consent", "eligibility", "randomisation"):
                services.sdv_mark(
                    participant=participant,
                    form=instance.form.code,
                    visit_code=instance.visit_code,
                    record_id=instance.record_id,
                    user=monitor,
                )
