"""The questionnaires part of the demo trial (a step of ``seed_demo``, idempotent).

Randomised, completed, withdrawn and deceased participants get a complete baseline and
follow-up answers whose scores improve over time (so the chart on the participant page shows a
trajectory); screening participants get a baseline in progress, a letter link or an e-mailed
link. Modes vary: personal link, tablet, phone, paper.
"""

from __future__ import annotations

import random

from questionnaires import links, services
from questionnaires.instruments import get_instrument
from questionnaires.models import Mode, QuestionnaireLink, QuestionnaireResponse
from trial.models import Identity, Participant, ParticipantStatus
from trial.protocol import visits
from trial.protocol.schedule import local_today
from trial.protocol.windows import visit_timing

# The VERTEBRA visits the demo answers (a spread over the year, not every weekly call); under
# another protocol's schedule, its first questionnaire visits instead.
VERTEBRA_DEMO_VISITS = ("W1", "W2", "W4", "W8", "M3", "M12")
MODES = (Mode.LINK, Mode.TABLET, Mode.PHONE, Mode.PAPER)


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
    # A follow-up visit is answered on its target day, as in the trial (trial.protocol.windows);
    # one still to come, or of a participant not randomised, is left alone.
    answered_on = None
    if visit_code != visits.BASELINE:
        answered_on = visit_timing(participant, visit_code).target
        if answered_on is None or answered_on > local_today():
            return
    for code in visits.visit_instruments(visit_code):
        answers = _answers(code, severity, rng)
        if mode in (Mode.PHONE, Mode.PAPER):
            services.response_enter(
                participant=participant,
                visit_code=visit_code,
                instrument_code=code,
                answers=answers,
                mode=mode,
                user=nurse,
                answered_on=answered_on,
            )
        else:
            services.response_save_answers(
                participant=participant,
                visit_code=visit_code,
                instrument_code=code,
                answers=answers,
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


def seed_questionnaires(context: dict) -> None:
    rng: random.Random = context["rng"]
    nurse = context["users"]["nurse"]
    busy = set(QuestionnaireResponse.objects.values_list("participant_id", flat=True)) | set(
        QuestionnaireLink.objects.values_list("participant_id", flat=True)
    )
    followed = {
        ParticipantStatus.RANDOMISED,
        ParticipantStatus.COMPLETED,
        ParticipantStatus.WITHDRAWN,
        ParticipantStatus.DECEASED,
    }
    screening_seen = 0
    follow_up = follow_up_visits()
    for participant in Participant.objects.filter(sequence__lte=8).order_by("site__code", "pk"):
        if participant.pk in busy:
            continue
        severity = rng.uniform(0.55, 0.85)
        if participant.status in followed:
            _complete_visit(participant, visits.BASELINE, severity, rng.choice(MODES), nurse, rng)
            count = len(follow_up) if participant.status == ParticipantStatus.COMPLETED else 4
            if participant.status in (ParticipantStatus.WITHDRAWN, ParticipantStatus.DECEASED):
                count = 2
            for visit_code in follow_up[:count]:
                severity = max(0.05, severity * rng.uniform(0.6, 0.95))
                _complete_visit(participant, visit_code, severity, rng.choice(MODES), nurse, rng)
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
