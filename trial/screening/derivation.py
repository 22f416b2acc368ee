"""Eligibility criteria that the recorded data already answers (issue 17, item 7).

The one home of every derived criterion: a criterion's code maps to a function over the
participant's records (``Facts``: the screening form, the birth date in the CPR number, the
surgical assessment) that returns the answer and, in words, the record it comes from. The
eligibility form shows these answers read-only, the service refuses a ticked answer that
disagrees with them (naming both), and the readiness check reads them live
(``trial.screening.selectors.criterion_verdicts``), so a corrected record changes the verdict.

The inclusion date a criterion is measured against is the eligibility assessment's date
(``EligibilityAssessment.assessed_on``): the day the hematologist decides the patient
fulfils the criteria (protocol: "The hematologist will ... decide if they fulfil the inclusion
and exclusion criteria"). "At most 3 months" is counted in calendar months: pain that began
on 15 June is within the limit for inclusion on 15 September, pain from 14 June is not.

A criterion without a derivation here is answered by the hematologist, as before.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from trial.cpr import age_on, cpr_birth_date
from trial.models import (
    Answer,
    CriterionAssessor,
    EligibilityCriterion,
    Identity,
    MyelomaStatus,
    Participant,
    ScreeningForm,
    SurgicalAssessment,
)
from trial.screening.models import AGE_MIN

# Cohort A (known myeloma): the pain from the new fracture began at most this many calendar
# months before inclusion (protocol: "relevant pain <= 3 months prior to inclusion").
PAIN_WINDOW_MONTHS = 3
# The surgeon plans 1 to 4 levels for vertebroplasty (DOMAIN.md step 3).
LEVELS_MIN, LEVELS_MAX = 1, 4


@dataclass(frozen=True)
class Facts:
    """The records a derivation reads; ``None`` where the record is not there yet."""

    screening_form: ScreeningForm | None
    birth_date: dt.date | None
    surgical: SurgicalAssessment | None


@dataclass(frozen=True)
class Derivation:
    """A criterion's answer as the data gives it (``Answer.UNKNOWN`` when the data cannot say
    yet), and the source in words: which record, and what it says."""

    answer: str
    source: str


_UNSET = object()


def _loaded_or_fetched(participant: Participant, name: str, fetch):
    """A related record a caller already loaded (select_related), else a fresh read: never a
    value cached on the participant before the record was written."""
    cache = participant._state.fields_cache
    if name in cache:
        return cache[name]
    return fetch()


def facts_for(participant: Participant, *, surgical=_UNSET) -> Facts:
    """The participant's records the derivations read (``surgical`` when already loaded)."""
    form = _loaded_or_fetched(
        participant,
        "screening_form",
        lambda: ScreeningForm.objects.filter(participant=participant).first(),
    )
    if surgical is _UNSET:
        surgical = _loaded_or_fetched(
            participant,
            "surgical_assessment",
            lambda: SurgicalAssessment.objects.filter(participant=participant).first(),
        )
    identity = _loaded_or_fetched(
        participant,
        "identity",
        lambda: Identity.objects.filter(participant=participant).only("cpr").first(),
    )
    born = None
    if identity is not None:
        try:
            born = cpr_birth_date(identity.cpr)
        except ValidationError:
            born = None
    return Facts(screening_form=form, birth_date=born, surgical=surgical)


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` calendar months earlier (the month's last day if it is shorter)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _date(day: dt.date) -> str:
    return formats.date_format(day, "DATE_FORMAT")


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _not_recorded(record: str) -> Derivation:
    return Derivation(Answer.UNKNOWN, _("%(record)s is not recorded yet.") % {"record": record})


def _adult_with_myeloma(facts: Facts, on: dt.date) -> Derivation:
    form = facts.screening_form
    if form is None:
        return _not_recorded(_("The screening form (myeloma status)"))
    if facts.birth_date is None:
        return _not_recorded(_("The CPR number (identifying data)"))
    age = age_on(facts.birth_date, on)
    source = _(
        "Age %(age)s on %(date)s, from the CPR number; %(status)s, diagnosed %(diagnosed)s "
        "(screening form)."
    ) % {
        "age": age,
        "date": _date(on),
        "status": _lower_first(str(form.get_myeloma_status_display())),
        "diagnosed": _date(form.diagnosis_date),
    }
    return Derivation(Answer.YES if age >= AGE_MIN else Answer.NO, source)


def _pain_within_window(facts: Facts, on: dt.date) -> Derivation:
    form = facts.screening_form
    if form is None:
        return _not_recorded(_("The screening form (myeloma status and pain onset)"))
    if form.myeloma_status == MyelomaStatus.NEW:
        return Derivation(
            Answer.YES,
            _(
                "Newly diagnosed myeloma (screening form): cohort B, where the 3-month limit "
                "does not apply."
            ),
        )
    onset = form.pain_onset_date
    if onset > on:
        return Derivation(
            Answer.UNKNOWN,
            _(
                "The screening form gives pain onset on %(onset)s, after the inclusion date "
                "%(date)s: correct one of the two."
            )
            % {"onset": _date(onset), "date": _date(on)},
        )
    limit = months_before(on, PAIN_WINDOW_MONTHS)
    days = (on - onset).days
    source = ngettext(
        "Known myeloma; the screening form gives pain onset on %(onset)s, %(days)s day before "
        "inclusion on %(date)s (the limit is %(limit)s).",
        "Known myeloma; the screening form gives pain onset on %(onset)s, %(days)s days before "
        "inclusion on %(date)s (the limit is %(limit)s).",
        days,
    ) % {"onset": _date(onset), "days": days, "date": _date(on), "limit": _date(limit)}
    return Derivation(Answer.YES if onset >= limit else Answer.NO, source)


def _levels_to_treat(facts: Facts, on: dt.date) -> Derivation:
    surgical = facts.surgical
    if surgical is None:
        return _not_recorded(_("The surgical assessment"))
    levels = list(surgical.planned_levels or [])
    source = ngettext(
        "Surgical assessment of %(date)s: %(n)s level planned%(levels)s.",
        "Surgical assessment of %(date)s: %(n)s levels planned%(levels)s.",
        len(levels),
    ) % {
        "date": _date(surgical.assessed_on),
        "n": len(levels),
        "levels": f" ({', '.join(levels)})" if levels else "",
    }
    return Derivation(Answer.YES if LEVELS_MIN <= len(levels) <= LEVELS_MAX else Answer.NO, source)


def _surgical_contraindication(facts: Facts, on: dt.date) -> Derivation:
    surgical = facts.surgical
    if surgical is None:
        return _not_recorded(_("The surgical assessment"))
    if surgical.contraindication:
        source = _("Surgical assessment of %(date)s: contraindication (%(details)s).") % {
            "date": _date(surgical.assessed_on),
            "details": surgical.contraindication_details,
        }
        return Derivation(Answer.YES, source)
    return Derivation(
        Answer.NO,
        _("Surgical assessment of %(date)s: no contraindication.")
        % {"date": _date(surgical.assessed_on)},
    )


# Criterion code (EligibilityCriterion.code, migration 0003) -> its derivation.
DERIVATIONS: Mapping[str, Callable[[Facts, dt.date], Derivation]] = {
    "adult_myeloma": _adult_with_myeloma,
    "pain_within_3_months": _pain_within_window,
    "levels_1_to_4": _levels_to_treat,
    "surgical_contraindication": _surgical_contraindication,
}


def derives(code: str) -> bool:
    return code in DERIVATIONS


def derive(code: str, facts: Facts, on: dt.date) -> Derivation | None:
    """The criterion's answer from the data, on inclusion date ``on``; None when the data has
    no say and the criterion is answered by hand."""
    function = DERIVATIONS.get(code)
    return function(facts, on) if function is not None else None


def _answer_label(answer: str) -> str:
    return str(Answer(answer).label) if answer in Answer.values else answer


@dataclass(frozen=True)
class Reconciled:
    """Given answers checked against the data: the answers to store (derived ones filled in),
    the derived answers with their sources (``{code: {"answer", "source"}}``, kept on the
    assessment for the audit trail), and the refusals by criterion code."""

    answers: dict[str, str]
    derived: dict[str, dict[str, str]]
    errors: dict[str, str]


def reconcile(
    criteria: Iterable[EligibilityCriterion],
    answers: Mapping[str, str],
    facts: Facts,
    on: dt.date,
) -> Reconciled:
    """Check the hematologist's answers against what the data says on inclusion date ``on``.

    A criterion the hematologist answers and the data derives takes the data's answer; a
    different answer given for it is refused with both named, and so is a criterion whose
    data is not recorded yet (record it first). Criteria answered by the surgeon or the
    consent record are never stored as answers; what the data already says of them is kept
    among the derived ones.
    """
    stored = dict(answers)
    derived: dict[str, dict[str, str]] = {}
    errors: dict[str, str] = {}
    for criterion in criteria:
        derivation = derive(criterion.code, facts, on)
        if derivation is None:
            continue
        by_hematologist = criterion.assessed_by == CriterionAssessor.HEMATOLOGIST
        if derivation.answer == Answer.UNKNOWN:
            if by_hematologist:
                errors[criterion.code] = _("“%(criterion)s” cannot be answered yet: %(why)s") % {
                    "criterion": criterion.text(),
                    "why": derivation.source,
                }
            continue
        derived[criterion.code] = {"answer": derivation.answer, "source": derivation.source}
        if not by_hematologist:
            continue
        given = stored.get(criterion.code)
        if given and given != derivation.answer:
            errors[criterion.code] = _(
                "You answered “%(given)s” to “%(criterion)s”, but the recorded data says "
                "“%(derived)s”: %(source)s"
            ) % {
                "given": _answer_label(given),
                "criterion": criterion.text(),
                "derived": _answer_label(derivation.answer),
                "source": derivation.source,
            }
        stored[criterion.code] = derivation.answer
    return Reconciled(answers=stored, derived=derived, errors=errors)
