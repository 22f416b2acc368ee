"""Reads of screening: eligibility, the screening log, open referrals and the CONSORT counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Field, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trial import access
from trial.access import participants_for
from trial.models import (
    Answer,
    Consent,
    CriterionAssessor,
    CriterionKind,
    EligibilityAssessment,
    EligibilityCriteriaVersion,
    EligibilityCriterion,
    Participant,
    ParticipantStatus,
    Referral,
    ReferralStatus,
    ScreeningForm,
    ScreeningLogEntry,
    Site,
    SurgicalAssessment,
    User,
)
from trial.participants.selectors import randomisation_blockers
from trial.registry import Blocker
from trial.screening import derivation


@dataclass(frozen=True)
class EligibilityResult:
    """The derived eligibility of a participant: 'eligible', 'not_eligible', 'pending_surgeon'
    or 'incomplete' (hematologist answers missing), with the reasons in words."""

    status: str
    reasons: tuple[str, ...] = ()

    @property
    def eligible(self) -> bool:
        return self.status == "eligible"


def current_criteria_version() -> EligibilityCriteriaVersion | None:
    today = timezone.localdate()
    return (
        EligibilityCriteriaVersion.objects.filter(effective_from__lte=today)
        .order_by("-version")
        .first()
    )


def criterion_verdicts(
    assessment, surgical, *, has_consent: bool
) -> list[tuple[EligibilityCriterion, str]]:
    """The one evaluation of the eligibility criteria: each criterion of the version the
    participant was assessed against, with its verdict.

    Verdicts: ``met``, ``failed``, ``missing`` (the hematologist's answer is unknown),
    ``pending`` (the surgeon has not assessed yet) and ``consent_missing`` (consent has its own
    readiness item; never an eligibility failure). Criteria the recorded data answers
    (trial.screening.derivation: age, pain onset, planned levels, contraindication) are read
    from the records as they are now, on the assessment's date, so a corrected record changes
    the verdict; only where the record is missing (assessments saved before derivation) does
    the stored answer count. The consent criterion comes from the consent record.
    """
    facts = derivation.facts_for(assessment.participant, surgical=surgical)
    verdicts: list[tuple[EligibilityCriterion, str]] = []
    for criterion in assessment.version.criteria.all():
        derived = derivation.derive(criterion.code, facts, assessment.assessed_on)
        if derived is not None and derived.answer != Answer.UNKNOWN:
            answer = derived.answer
        elif criterion.assessed_by == CriterionAssessor.SURGEON:
            if surgical is None:
                verdicts.append((criterion, "pending"))
                continue
            answer = assessment.answers.get(criterion.code, Answer.UNKNOWN)
        elif criterion.assessed_by == CriterionAssessor.CONSENT:
            if not has_consent:
                verdicts.append((criterion, "consent_missing"))
                continue
            answer = Answer.YES
        else:
            answer = assessment.answers.get(criterion.code, Answer.UNKNOWN)
        required = Answer.YES if criterion.kind == CriterionKind.INCLUSION else Answer.NO
        if answer == Answer.UNKNOWN:
            verdicts.append((criterion, "missing"))
        elif answer != required:
            verdicts.append((criterion, "failed"))
        else:
            verdicts.append((criterion, "met"))
    return verdicts


def eligibility_result(participant: Participant) -> EligibilityResult:
    """Inclusion criteria must be met and exclusion criteria absent (``criterion_verdicts``),
    summed up with the reasons in words."""
    assessment = EligibilityAssessment.objects.filter(participant=participant).first()
    if assessment is None:
        return EligibilityResult(
            "incomplete", (str(_("The eligibility checklist is not filled in.")),)
        )
    surgical = SurgicalAssessment.objects.filter(participant=participant).first()
    has_consent = Consent.objects.filter(participant=participant).exists()
    verdicts = criterion_verdicts(assessment, surgical, has_consent=has_consent)

    def texts(verdict: str) -> tuple[str, ...]:
        return tuple(criterion.text() for criterion, v in verdicts if v == verdict)

    if failing := texts("failed"):
        return EligibilityResult("not_eligible", failing)
    if missing := texts("missing"):
        return EligibilityResult("incomplete", missing)
    if pending := texts("pending"):
        return EligibilityResult("pending_surgeon", pending)
    return EligibilityResult("eligible")


def _screening_blockers(participant: Participant) -> list[Blocker]:
    from django.urls import reverse

    def url(name: str) -> str:
        return reverse(f"trial:{name}", args=[participant.trial_number])

    page = participant.get_absolute_url()
    blockers: list[Blocker] = []
    if participant.status != ParticipantStatus.SCREENING:
        blockers.append(
            Blocker(
                "status",
                str(
                    _("The participant is not in screening (status: %(status)s).")
                    % {"status": participant.get_status_display()}
                ),
                page,
            )
        )
    if not ScreeningForm.objects.filter(participant=participant).exists():
        blockers.append(
            Blocker(
                "screening_form",
                str(_("The screening form is not filled in.")),
                url("screening_form"),
            )
        )
    result = eligibility_result(participant)
    if result.status == "incomplete":
        blockers.append(
            Blocker(
                "eligibility",
                str(_("The eligibility checklist is not complete.")),
                url("eligibility"),
            )
        )
    elif result.status == "not_eligible":
        blockers.append(
            Blocker(
                "eligibility",
                str(_("Not eligible: %(reasons)s")) % {"reasons": "; ".join(result.reasons)},
                url("eligibility"),
            )
        )
    if not Consent.objects.filter(participant=participant).exists():
        blockers.append(Blocker("consent", str(_("Consent is not recorded.")), url("consent")))
    surgical = SurgicalAssessment.objects.filter(participant=participant).first()
    if surgical is None:
        if Referral.objects.filter(participant=participant, status=ReferralStatus.OPEN).exists():
            blockers.append(
                Blocker(
                    "surgical_assessment",
                    str(_("The surgical assessment is awaited (referral sent).")),
                    url("surgical_assessment"),
                )
            )
        else:
            blockers.append(
                Blocker(
                    "surgical_assessment",
                    str(_("The patient has not been referred for surgical assessment.")),
                    url("referral_create"),
                )
            )
    elif surgical.contraindication:
        blockers.append(
            Blocker(
                "surgical_assessment",
                str(_("The surgeon found a contraindication.")),
                url("surgical_assessment"),
            )
        )
    elif not 1 <= len(surgical.planned_levels) <= 4:
        blockers.append(
            Blocker(
                "surgical_assessment",
                str(_("The surgical assessment must plan 1 to 4 levels.")),
                url("surgical_assessment"),
            )
        )
    return blockers


def screening_entries_for(user: User) -> QuerySet[ScreeningLogEntry]:
    """Screening-log entries a user may see: the same site rule as participants_for.

    Hematologists and nurses see their sites' log, central roles every site; surgeons work
    from referrals and see no screening log.
    """
    scope = access.site_scope(user)
    if scope == "none":
        return ScreeningLogEntry.objects.none()
    if scope == "all":
        return ScreeningLogEntry.objects.all()
    if scope == "surgical":
        return ScreeningLogEntry.objects.none()
    return ScreeningLogEntry.objects.filter(site__memberships__user=user)


def screening_entry_get_for(user: User, entry_id: int) -> ScreeningLogEntry:
    return get_object_or_404(
        screening_entries_for(user).select_related("site", "participant", "created_by"),
        pk=entry_id,
    )


@dataclass(frozen=True)
class EarlierScreening:
    """An earlier screening of the same CPR number, as far as the user may know of it."""

    screened_on: object
    visible: bool
    url: str = ""
    site_code: str = ""
    decision: str = ""


def screening_duplicates(user: User, entries) -> list[EarlierScreening]:
    """Earlier screenings described for ``user``: a link where they may see the entry, else
    only that it happened at another site on a date."""
    from django.urls import reverse

    visible_ids = set(
        screening_entries_for(user)
        .filter(pk__in=[e.pk for e in entries])
        .values_list("pk", flat=True)
    )
    result = []
    for entry in entries:
        if entry.pk in visible_ids:
            result.append(
                EarlierScreening(
                    screened_on=entry.screened_on,
                    visible=True,
                    url=reverse("trial:screening_log_detail", args=[entry.pk]),
                    site_code=entry.site.code,
                    decision=entry.get_decision_display(),
                )
            )
        else:
            result.append(EarlierScreening(screened_on=entry.screened_on, visible=False))
    return result


def open_referrals_for(user: User) -> QuerySet[Referral]:
    """Referrals awaiting the surgeon, for the participants the user may see.

    For a surgeon, only those sent to their own surgical departments."""
    qs = Referral.objects.filter(status=ReferralStatus.OPEN, participant__in=participants_for(user))
    if access.site_scope(user) == "surgical":
        qs = qs.filter(surgical_site__memberships__user=user)
    return qs.select_related("participant", "participant__site", "surgical_site", "referred_by")


# --- CONSORT counts ---
# One function counts the CONSORT flow up to randomisation; the CONSORT page and the
# coordinator's dashboard both use it. It returns plain data (numbers, codes, labels).

# Bucket codes for not-eligible patients whose failed criterion is not on record.
CONSORT_UNCODED_AT_SCREENING = "screening_log"
CONSORT_UNCODED_AFTER_REGISTRATION = "criterion_not_recorded"


@dataclass
class ConsortCounts:
    screened: int = 0
    not_eligible: int = 0
    # [{"code", "label", "count"}], most frequent first. A patient failing several criteria
    # counts under each, so the counts may add up to more than ``not_eligible``.
    not_eligible_by_criterion: list = field(default_factory=list)
    # [{"code", "label", "count"}] per coded reason (not eligible, declined, contraindicated,
    # other): screening-log decisions plus participants ended as not included.
    not_included_by_reason: list = field(default_factory=list)
    declined: int = 0
    other: int = 0
    referred: int = 0
    contraindicated: int = 0
    in_screening: int = 0
    ready: int | None = 0
    randomised: int = 0

    def as_dict(self) -> dict:
        from dataclasses import asdict

        return asdict(self)


RANDOMISED_STATUSES = (
    ParticipantStatus.RANDOMISED,
    ParticipantStatus.COMPLETED,
    ParticipantStatus.WITHDRAWN,
    ParticipantStatus.DECEASED,
)


def _failed_criterion_codes(assessment, surgical) -> list[str]:
    """Codes of the criteria the participant fails, against the version they were assessed on
    (``criterion_verdicts``, by code instead of in words; a missing consent never counts)."""
    return [
        criterion.code
        for criterion, verdict in criterion_verdicts(assessment, surgical, has_consent=False)
        if verdict == "failed"
    ]


def _criterion_labels() -> dict[str, str]:
    """Each criterion code's text in the active language, from the newest version using it."""
    labels: dict[str, str] = {}
    for criterion in EligibilityCriterion.objects.select_related("version").order_by(
        "-version__version"
    ):
        labels.setdefault(criterion.code, criterion.text())
    return labels


def criterion_labels_for(codes: list[str] | None) -> list[str]:
    """The texts of the given criterion codes, in the active language (codes if unknown)."""
    if not codes:
        return []
    labels = _criterion_labels()
    return [labels.get(code, code) for code in codes]


def consort_counts(site: Site | None = None, *, count_ready: bool = True) -> ConsortCounts:
    """The CONSORT flow up to randomisation, from the log and the participants, by code.

    Screened: every log entry, plus participants registered without one (e.g. bulk imports).
    Not eligible / declined / other: log decisions plus participants who ended as not included
    for that reason. Not eligible by criterion: the criteria each such participant fails in
    the eligibility checklist they were assessed with, and the criteria ticked on the screening
    log for patients not eligible there; log entries without criteria (logged before they were
    asked) and participants without a failed criterion on record are counted in their own
    buckets. Ready: participants in screening with nothing blocking randomisation;
    that runs every readiness check per participant, so pages that must keep a constant number
    of queries (the dashboard) pass ``count_ready=False`` and get ``ready = None``.
    """
    from collections import Counter

    from django.db.models import Count

    from trial.models import NotIncludedReason, ScreeningDecision

    log = ScreeningLogEntry.objects.all()
    participants = Participant.objects.all()
    if site is not None:
        log = log.filter(site=site)
        participants = participants.filter(site=site)
    counts = ConsortCounts()
    counts.screened = log.count() + participants.filter(screening_entry__isnull=True).count()

    by_reason: Counter = Counter()
    for decision, n in (
        log.exclude(decision=ScreeningDecision.INCLUDED)
        .values_list("decision")
        .annotate(n=Count("id"))
        .order_by()
    ):
        by_reason[decision] += n
    for code, n in (
        participants.filter(status=ParticipantStatus.NOT_INCLUDED)
        .values_list("not_included_reason")
        .annotate(n=Count("id"))
        .order_by()
    ):
        by_reason[code or NotIncludedReason.OTHER] += n
    counts.not_included_by_reason = [
        {"code": code, "label": str(NotIncludedReason(code).label), "count": by_reason[code]}
        for code in NotIncludedReason.values
        if by_reason[code]
    ]
    counts.not_eligible = by_reason[NotIncludedReason.NOT_ELIGIBLE]
    counts.declined = by_reason[NotIncludedReason.DECLINED]
    counts.other = by_reason[NotIncludedReason.OTHER]

    by_criterion: Counter = Counter()
    # Log entries name the criteria they fail; older entries without any are counted apart.
    for codes in log.filter(decision=ScreeningDecision.NOT_ELIGIBLE).values_list(
        "failed_criteria", flat=True
    ):
        for code in codes or [CONSORT_UNCODED_AT_SCREENING]:
            by_criterion[code] += 1
    not_eligible = (
        participants.filter(
            status=ParticipantStatus.NOT_INCLUDED,
            not_included_reason=NotIncludedReason.NOT_ELIGIBLE,
        )
        # The derived criteria read the screening form and the CPR number (derivation).
        .select_related("eligibility__version", "surgical_assessment", "screening_form", "identity")
        .prefetch_related("eligibility__version__criteria")
    )
    for participant in not_eligible:
        assessment = getattr(participant, "eligibility", None)
        surgical = getattr(participant, "surgical_assessment", None)
        codes = _failed_criterion_codes(assessment, surgical) if assessment else []
        for code in codes or [CONSORT_UNCODED_AFTER_REGISTRATION]:
            by_criterion[code] += 1
    labels = _criterion_labels()
    labels[CONSORT_UNCODED_AT_SCREENING] = str(
        _("Not eligible at screening (criterion not recorded in the log)")
    )
    labels[CONSORT_UNCODED_AFTER_REGISTRATION] = str(_("No failed criterion on record"))
    counts.not_eligible_by_criterion = [
        {"code": code, "label": labels.get(code, code), "count": n}
        for code, n in sorted(by_criterion.items(), key=lambda item: (-item[1], item[0]))
        if n
    ]

    counts.referred = participants.filter(referrals__isnull=False).distinct().count()
    # Every patient not included for a surgical contraindication: found at the assessment, or
    # ended with that coded reason (the box and the table of coded reasons then agree).
    counts.contraindicated = participants.filter(
        Q(surgical_assessment__contraindication=True)
        | Q(
            status=ParticipantStatus.NOT_INCLUDED,
            not_included_reason=NotIncludedReason.CONTRAINDICATED,
        )
    ).count()
    if count_ready:
        screening = list(participants.filter(status=ParticipantStatus.SCREENING))
        counts.in_screening = len(screening)
        counts.ready = sum(1 for p in screening if not randomisation_blockers(p))
    else:
        counts.in_screening = participants.filter(status=ParticipantStatus.SCREENING).count()
        counts.ready = None
    counts.randomised = participants.filter(status__in=RANDOMISED_STATUSES).count()
    return counts


# --- end of CONSORT counts ---


def entry_history(entry: ScreeningLogEntry) -> list[dict]:
    """The entry's audit trail, newest first, with what each change changed (one query)."""
    rows = list(entry.history.select_related("history_user").order_by("history_date", "pk"))
    history = []
    previous = None
    for row in rows:
        changes: list[tuple[str, Any, Any]] = []
        if previous is not None:
            delta = row.diff_against(previous, excluded_fields=["cpr_digest"])
            for change in delta.changes:
                column = ScreeningLogEntry._meta.get_field(change.field)
                # A history diff names the row's own columns, never a reverse relation.
                label = column.verbose_name if isinstance(column, Field) else column.name
                changes.append((str(label), change.old, change.new))
        history.append({"row": row, "changes": changes})
        previous = row
    return list(reversed(history))
