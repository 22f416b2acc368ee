"""The screening path on the participant page: the readiness panel, the screening summary
with its action buttons, and the timeline events. Registered in trial/screening/wiring.py."""

from __future__ import annotations

import dataclasses

from django.utils.translation import gettext as _

from trial import access
from trial.models import (
    Consent,
    EligibilityAssessment,
    ParticipantStatus,
    Referral,
    ReferralStatus,
    ScreeningForm,
    ScreeningLogEntry,
    SurgicalAssessment,
)
from trial.participants.selectors import randomisation_blocker_details
from trial.protocol.vertebrae import LEVELS
from trial.registry import TimelineEvent, lock_message
from trial.screening.corrections import page_mode
from trial.screening.selectors import eligibility_result

# The links of the summary panel, by URL name; shown only to roles the matrix lets write.
ACTIONS = (
    "screening_form",
    "eligibility",
    "consent",
    "referral_create",
    "referral_cancel",
    "surgical_assessment",
    "not_included",
)


def _attach_cancel_reasons(referrals) -> None:
    """Set ``cancel_reason`` on each referral: the audit reason of its cancellation."""
    cancelled = [r.pk for r in referrals if r.status == ReferralStatus.CANCELLED]
    reasons: dict = {}
    if cancelled:
        for row in (
            Referral.history.filter(id__in=cancelled, status=ReferralStatus.CANCELLED)
            .order_by("-history_date")
            .values("id", "history_change_reason")
        ):
            reasons[row["id"]] = row["history_change_reason"] or ""
    for referral in referrals:
        referral.cancel_reason = reasons.get(referral.pk, "")


def readiness_context(request, participant) -> dict:
    if participant.status == ParticipantStatus.SCREENING:
        # Each missing item links to where it is done, but only for a user who may do it
        # there; the others read the same list as plain text.
        locked = bool(lock_message(participant))
        blockers = [
            b
            if not b.url or (not locked and access.may_open(request.user, b.url))
            else dataclasses.replace(b, url="")
            for b in randomisation_blocker_details(participant)
        ]
        return {"mode": "screening", "blockers": blockers, "participant": participant}
    if participant.status == ParticipantStatus.NOT_INCLUDED:
        return {"mode": "not_included", "participant": participant}
    return {}


def _spine(planned, earlier) -> list[tuple[str, str]]:
    """Every level with its state, for the small read-only spine drawing."""
    return [
        (level, "planned" if level in planned else "earlier" if level in earlier else "")
        for level in LEVELS
    ]


def screening_context(request, participant) -> dict:
    entry = ScreeningLogEntry.objects.filter(participant=participant).first()
    form = ScreeningForm.objects.filter(participant=participant).first()
    assessment = (
        EligibilityAssessment.objects.select_related("version", "assessed_by")
        .filter(participant=participant)
        .first()
    )
    answers = []
    if assessment is not None:
        for criterion in assessment.version.criteria.all():
            answers.append((criterion, assessment.answers.get(criterion.code, "")))
    consent = (
        Consent.objects.select_related("information_sheet", "taken_by")
        .filter(participant=participant)
        .first()
    )
    referrals = list(
        participant.referrals.select_related("surgical_site", "referred_by").order_by(
            "referred_on", "id"
        )
    )
    surgical = (
        SurgicalAssessment.objects.select_related("surgeon").filter(participant=participant).first()
    )
    in_screening = participant.status == ParticipantStatus.SCREENING
    user = request.user
    can = {name: access.can(user, f"trial:{name}") and in_screening for name in ACTIONS}
    # The records of the path: filled in by the clinic, corrected (after randomisation too)
    # by those trial.screening.corrections names.
    records = {"screening_form": form, "eligibility": assessment, "consent": consent}
    for name, record in records.items():
        can[name] = page_mode(user, participant, name, existing=record is not None).allowed
    has_open_referral = any(r.status == ReferralStatus.OPEN for r in referrals)
    can["referral_create"] = can["referral_create"] and not has_open_referral and not surgical
    can["referral_cancel"] = can["referral_cancel"] and has_open_referral
    _attach_cancel_reasons(referrals)
    can["surgical_assessment"] = page_mode(
        user, participant, "surgical_assessment", existing=surgical is not None
    ).allowed and (surgical is not None or has_open_referral)
    if lock_message(participant):
        can = dict.fromkeys(can, False)  # locked data: no page to change it is offered
    return {
        "participant": participant,
        "entry": entry,
        "form": form,
        "assessment": assessment,
        "answers": answers,
        "result": eligibility_result(participant),
        "consent": consent,
        "referrals": referrals,
        "surgical": surgical,
        "spine": _spine(surgical.planned_levels, surgical.earlier_fracture_levels)
        if surgical
        else [],
        "can": can,
    }


def screening_timeline(user, participant) -> list[TimelineEvent]:
    page = participant.get_absolute_url()
    events: list[TimelineEvent] = []
    entry = ScreeningLogEntry.objects.filter(participant=participant).first()
    if entry is not None:
        events.append(
            TimelineEvent(
                when=entry.screened_on,
                title=_("Screened (%(decision)s)") % {"decision": entry.get_decision_display()},
                kind="screening",
                url=page + "#screening",
            )
        )
    form = ScreeningForm.objects.filter(participant=participant).only("completed_at").first()
    if form is not None:
        events.append(
            TimelineEvent(
                when=form.completed_at,
                title=_("Screening form filled in"),
                kind="screening",
                url=page + "#screening",
            )
        )
    assessment = (
        EligibilityAssessment.objects.select_related("version")
        .filter(participant=participant)
        .first()
    )
    if assessment is not None:
        events.append(
            TimelineEvent(
                when=assessment.assessed_on,
                title=_("Eligibility checklist (criteria v%(v)s)")
                % {"v": assessment.version.version},
                kind="eligibility",
                url=page + "#screening",
            )
        )
    consent = Consent.objects.filter(participant=participant).first()
    if consent is not None:
        events.append(
            TimelineEvent(
                when=consent.consent_date,
                title=_("Consent given"),
                kind="consent",
                url=page + "#screening",
            )
        )
    referrals = list(participant.referrals.select_related("surgical_site"))
    _attach_cancel_reasons(referrals)
    for referral in referrals:
        events.append(
            TimelineEvent(
                when=referral.referred_on,
                title=_("Referred to %(site)s") % {"site": referral.surgical_site.code},
                detail=referral.get_status_display(),
                kind="referral",
                url=page + "#surgical",
            )
        )
    if any(r.cancel_reason for r in referrals):
        for row in (
            Referral.history.filter(
                id__in=[r.pk for r in referrals if r.cancel_reason],
                status=ReferralStatus.CANCELLED,
                history_type="~",
            )
            .select_related("surgical_site")
            .order_by("history_date")
        ):
            events.append(
                TimelineEvent(
                    when=row.history_date,
                    title=_("Referral to %(site)s cancelled") % {"site": row.surgical_site.code},
                    detail=row.history_change_reason or "",
                    kind="referral",
                    url=page + "#surgical",
                )
            )
    surgical = SurgicalAssessment.objects.filter(participant=participant).first()
    if surgical is not None:
        if surgical.contraindication:
            detail = _("contraindication")
        else:
            detail = _("planned levels: %(levels)s") % {
                "levels": ", ".join(surgical.planned_levels)
            }
        events.append(
            TimelineEvent(
                when=surgical.assessed_on,
                title=_("Surgical assessment"),
                detail=detail,
                kind="surgical",
                url=page + "#surgical",
            )
        )
    if participant.status == ParticipantStatus.NOT_INCLUDED:
        ended = (
            participant.history.filter(status=ParticipantStatus.NOT_INCLUDED)
            .order_by("history_date")
            .values_list("history_date", flat=True)
            .first()
        )
        events.append(
            TimelineEvent(
                when=ended or participant.created_at,
                title=_("Not included: %(reason)s")
                % {"reason": participant.get_not_included_reason_display() or "—"},
                detail=participant.not_included_note,
                kind="not-included",
            )
        )
    return events
