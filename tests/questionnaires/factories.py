"""Helpers that build questionnaire data through the services, as the app does."""

from __future__ import annotations

from questionnaires import links, services
from questionnaires.models import Mode

ODI_ANSWERS = {f"odi_{n}": 3 for n in range(1, 11)}  # 30 / 50 -> 60.0
VAS_ANSWERS = {"vas_back": 70, "vas_leg": 35}
EQ5D_ANSWERS = {
    "eq5d_mo": 2,
    "eq5d_sc": 1,
    "eq5d_ua": 2,
    "eq5d_pd": 3,
    "eq5d_ad": 2,
    "eq_vas": 45,
}  # 21232
BASELINE_ANSWERS = {"odi": ODI_ANSWERS, "vas": VAS_ANSWERS, "eq5d3l": EQ5D_ANSWERS}


def letter_link(participant, *, visit_code="BL", user=None, language="da"):
    return links.link_issue_letter(
        participant=participant, visit_code=visit_code, user=user, language=language
    )


def complete_visit(participant, *, visit_code="BL", mode=Mode.LINK, answers=None):
    answers = answers or BASELINE_ANSWERS
    from trial.protocol import visits

    for code in visits.visit_instruments(visit_code):
        services.response_save_answers(
            participant=participant,
            visit_code=visit_code,
            instrument_code=code,
            answers=answers.get(code, {}),
            mode=mode,
        )
    return services.visit_submit(participant=participant, visit_code=visit_code, mode=mode)
