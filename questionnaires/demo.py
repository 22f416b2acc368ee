"""The questionnaires part of the demo trial (two steps of ``seed_demo``, idempotent).

``seed_questionnaires`` (before randomisation): randomised, completed, withdrawn and deceased
participants get a complete baseline; screening participants get a baseline in progress, a
letter link or an e-mailed link. Modes vary: personal link, tablet, phone, paper.

``seed_follow_up_answers`` (after the follow-up replay, treatment and the recorded deaths and
withdrawals): every randomised demo participant answers the follow-up visits the replayed calls
did not cover, on each visit's target day, when the window has closed and before a death or
withdrawal; a few leave the primary visit unanswered, so multiple imputation has something to
impute. A visit with any answer is left alone.

The answers follow one outcome model (``visit_answers``, also used by the replayed calls in
followup.demo): disability eases over the months in both arms, sooner and further after PVP
(about 10 ODI points at week 4, 8 at 3 months, 5 at 12 months), from each participant's own
baseline, with a participant's own response and noise at each visit. Every draw is seeded by
the trial number and visit, so the demo gives the same figures each time.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass

from questionnaires import links, services
from questionnaires.instruments import get_instrument
from questionnaires.models import Mode, QuestionnaireLink, QuestionnaireResponse, ResponseStatus
from trial.models import Death, Identity, Participant, ParticipantStatus, Withdrawal
from trial.protocol import active_schedule, visits
from trial.protocol.anchors import participant_anchors
from trial.protocol.schedule import local_today
from trial.protocol.windows import (
    VisitTiming,
    participant_timings,
    randomised_q,
    revealed_arm,
    visit_timing,
)

# The VERTEBRA visits the demo answers (a spread over the year, not every weekly call); under
# another protocol's schedule, its first questionnaire visits instead.
VERTEBRA_DEMO_VISITS = ("W1", "W2", "W4", "W8", "M3", "M12")
MODES = (Mode.LINK, Mode.TABLET, Mode.PHONE, Mode.PAPER)
# Follow-up visits are phone calls: most answers are taken by phone, some come on paper or
# through the personal link.
FOLLOW_UP_MODES = (Mode.PHONE, Mode.PHONE, Mode.PAPER, Mode.LINK)
# Share of participants who leave the primary visit unanswered.
PRIMARY_NON_RESPONSE = 0.1
# The procedure follows the allocation (or the crossover) by this many days
# (trial.treatment.demo), and its relief starts then.
PROCEDURE_AFTER_DAYS = 4


def _answers(instrument_code: str, severity: float, rng: random.Random) -> dict:
    """Plausible answers for a patient whose trouble is ``severity`` (0 none .. 1 worst)."""
    answers = {}
    for item in get_instrument(instrument_code).items:
        if item.kind == "choice":
            top = len(item.choices) - 1
            level = round(severity * top + rng.uniform(-0.8, 0.8))
            answers[item.code] = item.choices[max(0, min(top, level))]
        elif item.code == "eq_vas":
            answers[item.code] = max(0, min(100, round(100 - severity * 80 + rng.randint(-8, 8))))
        elif item.kind == "vas":
            answers[item.code] = max(0, min(100, round(severity * 90 + rng.randint(-10, 10))))
        else:
            answers[item.code] = rng.choice([0, 0, 1, 2])
    if instrument_code == "odi" and rng.random() < 0.3:
        answers.pop("odi_8", None)  # sex life is often left out
    return answers


def follow_up_visits() -> tuple[str, ...]:
    codes = [code for code in visits.visit_codes() if code != visits.BASELINE]
    if set(VERTEBRA_DEMO_VISITS) <= set(codes):
        return VERTEBRA_DEMO_VISITS
    return tuple(codes[: len(VERTEBRA_DEMO_VISITS)])


def _complete_visit(participant, visit_code, severity, mode, nurse, rng) -> None:
    """Baseline, answered now (baseline is exempt from the schedule's windows)."""
    answers = {code: _answers(code, severity, rng) for code in visits.visit_instruments(visit_code)}
    _enter_visit(participant, visit_code, answers, mode, nurse)


def _enter_visit(
    participant, visit_code: str, answers: dict, mode, nurse, *, timing=None, answered_on=None
) -> None:
    """A visit's answers (instrument code -> answers): by phone or on paper entered by the
    nurse, or saved and submitted as the patient does (link, tablet)."""
    for code, values in answers.items():
        if mode in (Mode.PHONE, Mode.PAPER):
            services.response_enter(
                participant=participant,
                visit_code=visit_code,
                instrument_code=code,
                answers=values,
                mode=mode,
                user=nurse,
                timing=timing,
                answered_on=answered_on,
            )
        else:
            services.response_save_answers(
                participant=participant,
                visit_code=visit_code,
                instrument_code=code,
                answers=values,
                mode=mode,
            )
    if mode not in (Mode.PHONE, Mode.PAPER):
        services.visit_submit(
            participant=participant, visit_code=visit_code, mode=mode, answered_on=answered_on
        )


def _only_baseline_missing(participant) -> bool:
    from trial.participants.selectors import randomisation_blocker_details

    codes = {blocker.code for blocker in randomisation_blocker_details(participant)}
    return codes == {"baseline"}


FOLLOWED = (
    ParticipantStatus.RANDOMISED,
    ParticipantStatus.COMPLETED,
    ParticipantStatus.WITHDRAWN,
    ParticipantStatus.DECEASED,
)


def seed_questionnaires(context: dict) -> None:
    from trial.participants.demo import BASE_STATES, demo_size

    rng: random.Random = context["rng"]
    nurse = context["users"]["nurse"]
    busy = set(QuestionnaireResponse.objects.values_list("participant_id", flat=True)) | set(
        QuestionnaireLink.objects.values_list("participant_id", flat=True)
    )
    screening_seen = 0
    demo = Participant.objects.filter(sequence__lte=demo_size()).order_by("site__code", "pk")
    for participant in demo:
        # The analysis cohort is all randomised; in screening, only the base participants
        # (in a demo seeded before the cohort existed, the places after them are others').
        if participant.pk in busy or (
            participant.status not in FOLLOWED and participant.sequence > len(BASE_STATES)
        ):
            continue
        severity = rng.uniform(0.55, 0.85)
        if participant.status in FOLLOWED:
            # Their follow-up comes after randomisation: seed_follow_up_answers.
            _complete_visit(participant, visits.BASELINE, severity, rng.choice(MODES), nurse, rng)
        elif participant.status == ParticipantStatus.SCREENING and _only_baseline_missing(
            participant
        ):
            # The screening path is complete: the baseline on the clinic tablet makes the
            # participant ready to randomise (the demo must show ready participants).
            _complete_visit(participant, visits.BASELINE, severity, Mode.TABLET, nurse, rng)
        elif participant.status == ParticipantStatus.SCREENING:
            screening_seen += 1
            if screening_seen % 2 == 1:
                # Started on a personal link, half-way through the ODI.
                links.link_issue_letter(
                    participant=participant, visit_code=visits.BASELINE, user=nurse
                )
                answers = _answers("odi", severity, rng)
                services.response_save_answers(
                    participant=participant,
                    visit_code=visits.BASELINE,
                    instrument_code="odi",
                    answers={k: v for k, v in answers.items() if k <= "odi_5"},
                    mode=Mode.LINK,
                )
            elif Identity.objects.filter(participant=participant).exclude(email="").exists():
                links.link_send(
                    participant=participant, visit_code=visits.BASELINE, user=nurse, via="email"
                )


# --- the outcome model -------------------------------------------------------------------


@dataclass(frozen=True)
class OutcomeProfile:
    """What a participant's follow-up answers depend on."""

    trial_number: str
    baseline: float  # severity 0 (none) .. 1 (worst), from the baseline ODI
    randomised_on: dt.date
    treated_from: int | None  # day after randomisation the PVP's relief starts, if ever


def outcome_profile(participant: Participant) -> OutcomeProfile | None:
    """The participant's outcome profile, or None when not randomised."""
    from trial.participants.demo import EARLY_CROSSOVER_DAY, LATE_CROSSOVER_DAY, cohort_member

    randomised, arm = revealed_arm(participant)
    randomised_on = participant_anchors(participant.pk).get("randomisation")
    if not randomised or randomised_on is None:
        return None
    scores = (
        QuestionnaireResponse.objects.filter(
            participant=participant,
            visit_code=visits.BASELINE,
            instrument_code="odi",
            status=ResponseStatus.SUBMITTED,
        )
        .values_list("scores", flat=True)
        .first()
    )
    odi = (scores or {}).get("odi_score")
    baseline = float(odi) / 100 if odi is not None else 0.7
    member = cohort_member(participant)
    deviation = member.deviation if member else ""
    treated_from: int | None = None
    if arm == "pvp" and deviation != "early":  # "early" in the PVP arm: declined the PVP
        treated_from = PROCEDURE_AFTER_DAYS
    elif arm == "conservative" and deviation:
        crossover = EARLY_CROSSOVER_DAY if deviation == "early" else LATE_CROSSOVER_DAY
        treated_from = crossover + PROCEDURE_AFTER_DAYS
    return OutcomeProfile(participant.trial_number, baseline, randomised_on, treated_from)


def _improvement(day: int, treated_from: int | None) -> float:
    """How much the severity has eased by ``day``: slowly with usual care alone, and from the
    procedure on a quicker extra relief that fades to a lasting part over the year."""
    usual = 0.30 * (1 - math.exp(-max(day, 0) / 45))
    if treated_from is None or day <= treated_from:
        return usual
    since = day - treated_from
    return usual + (1 - math.exp(-since / 7)) * (0.045 + 0.07 * math.exp(-since / 120))


def severity_on(profile: OutcomeProfile, day: int) -> float:
    own = random.Random(f"demo-outcome:{profile.trial_number}").gauss(0, 0.06)
    noise = random.Random(f"demo-outcome:{profile.trial_number}:{day}").gauss(0, 0.05)
    value = profile.baseline - _improvement(day, profile.treated_from) + own + noise
    return max(0.02, min(0.98, value))


def visit_answers(
    participant: Participant,
    visit_code: str,
    profile: OutcomeProfile | None = None,
    target: dt.date | None = None,
) -> dict[str, dict]:
    """The answers to every questionnaire of a follow-up visit, by instrument code, as the
    outcome model gives them on the visit's target day; empty for a visit not scheduled."""
    profile = profile or outcome_profile(participant)
    target = target or visit_timing(participant, visit_code).target
    if profile is None or target is None:
        return {}
    severity = severity_on(profile, (target - profile.randomised_on).days)
    rng = random.Random(f"demo-answers:{profile.trial_number}:{visit_code}")
    return {code: _answers(code, severity, rng) for code in visits.visit_instruments(visit_code)}


# --- follow-up answers -------------------------------------------------------------------


def _ends() -> dict[int, dt.date]:
    """The day each participant's follow-up ended (death or withdrawal), by participant id."""
    ends = dict(Withdrawal.objects.values_list("participant_id", "withdrawn_on"))
    for pid, day in Death.objects.values_list("participant_id", "date_of_death"):
        ends[pid] = min(day, ends.get(pid, day))
    return ends


def _skips_primary(trial_number: str) -> bool:
    return random.Random(f"demo-primary:{trial_number}").random() < PRIMARY_NON_RESPONSE


def seed_follow_up_answers(context: dict) -> None:
    from trial.participants.demo import demo_size

    nurse = context["users"].get("nurse")
    if nurse is None:
        return
    today = local_today()
    rng = random.Random(20261127)
    primary = next((v.code for v in active_schedule().visits if v.primary), None)
    answered = set(
        QuestionnaireResponse.objects.exclude(visit_code=visits.BASELINE).values_list(
            "participant_id", "visit_code"
        )
    )
    ends = _ends()
    randomised = (
        Participant.objects.filter(randomised_q(), sequence__lte=demo_size())
        .select_related("site")
        .order_by("site__code", "sequence")
    )
    for participant in randomised:
        _randomised, timings = participant_timings(participant)
        profile = None
        for code in follow_up_visits():
            timing = timings.get(code)
            end = ends.get(participant.pk)
            if (
                (participant.pk, code) in answered
                or timing is None
                or timing.target is None
                or timing.closes is None
                # A window still open is today's nurse's call (the worklist).
                or timing.closes >= today
                or (end is not None and timing.target >= end)
                or (code == primary and _skips_primary(participant.trial_number))
            ):
                continue
            profile = profile or outcome_profile(participant)
            answers = visit_answers(participant, code, profile, timing.target)
            _answer_follow_up(participant, timing, answers, rng.choice(FOLLOW_UP_MODES), nurse)


def _answer_follow_up(participant, timing: VisitTiming, answers: dict, mode, nurse) -> None:
    """Answered on the visit's target day: by phone or on paper entered by the nurse, or on the
    patient's personal link."""
    visit, day = timing.visit_code, timing.target
    _enter_visit(participant, visit, answers, mode, nurse, timing=timing, answered_on=day)
