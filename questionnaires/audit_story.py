"""How the audit trail tells a questionnaire response (trial.registry.AuditStory): the
instrument and visit by name, the participant named when they answered through their personal
link or the clinic tablet, answers as question and answer, and a draft's autosaves folded into
one entry per submission."""

from __future__ import annotations

from django.utils.translation import gettext as _

from questionnaires.instruments import get_instrument
from questionnaires.models import Mode
from questionnaires.services import AUTOSAVE_REASON, SUBMIT_REASON, answer_rows
from trial.registry import AuditStory


def _subject(row) -> str:
    try:
        name = get_instrument(row.instrument_code).name
    except LookupError:
        name = row.instrument_code
    return _("%(instrument)s at visit %(visit)s") % {"instrument": name, "visit": row.visit_code}


def _actor(row) -> str | None:
    """Patients have no account: their saves carry no user, and the mode says how they came."""
    if row.mode == Mode.LINK:
        return _("the participant (by personal link)")
    if row.mode == Mode.TABLET:
        return _("the participant (on the clinic tablet)")
    return None


def _answers(value: dict, row) -> list[tuple[str, str]]:
    return answer_rows(row.instrument_code, value)


STORY = AuditStory(
    model="questionnaires.QuestionnaireResponse",
    subject=_subject,
    actor=_actor,
    values={"answers": _answers},
    autosave_reasons=frozenset({AUTOSAVE_REASON}),
    submit_reasons=frozenset({SUBMIT_REASON}),
)
