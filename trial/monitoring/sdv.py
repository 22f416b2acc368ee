"""Source-data verification (SDV): which forms the monitor verifies against the source, and
what stands verified, read in a fixed number of SQL queries.

``SDV_FORMS`` is the one place that says what each form of the setting ``TRIAL_SDV_FORMS``
means: a model, which of its rows count (serious events only; the primary outcome's measure
at its visit, from the schedule in force), and when a row was recorded (the worklist shows
the oldest first). A *form instance* is one such row of a participant; its state comes from
its newest ``SourceVerification``: none (to verify), standing (verified), or cleared by a
later change (to verify again). The writes are in ``trial.monitoring.services``.

Models of the apps built on trial are named by label (``randomization.Allocation``), as in
``trial.monitoring.items``, so that the core imports none of them.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast
from django.utils.translation import gettext_lazy as _

from trial import access
from trial.monitoring import items as catalogue
from trial.monitoring.models import SourceVerification
from trial.protocol.schedule import PRIMARY_MEASURES, active_schedule
from trial.protocol.visits import COLLECT_TO_INSTRUMENT, INSTRUMENT_LABELS

TO_VERIFY, VERIFIED, CLEARED = "to_verify", "verified", "cleared"
STATE_CHOICES = (
    (TO_VERIFY, _("To verify")),
    (VERIFIED, _("Verified")),
    (CLEARED, _("Changed since verified: verify again")),
)


def _first_history(model_label: str):
    """When the row was first saved, from its history (for forms without a recorded-at)."""
    history = apps.get_model(model_label).history.model  # type: ignore[attr-defined]
    return Subquery(
        history.objects.filter(id=OuterRef("pk"), history_type="+")
        .order_by("history_date")
        .values("history_date")[:1]
    )


def _primary_outcome() -> tuple[str, str] | None:
    """(visit code, instrument code) of the primary outcome in the schedule in force."""
    schedule = active_schedule()
    visit = schedule.primary_visit
    if visit is None or schedule.primary_measure is None:
        return None
    instrument = COLLECT_TO_INSTRUMENT.get(PRIMARY_MEASURES[schedule.primary_measure])
    return (visit.code, instrument) if instrument else None


@dataclass(frozen=True)
class SdvForm:
    """One kind of form the monitor verifies: ``rows()`` are its instances, all participants."""

    code: str
    label: Any
    model_label: str
    recorded_at: Callable[[], Any]  # an expression on the model: when the row was recorded
    where: Callable[[], Q | None] = lambda: Q()  # None: the form has no instance at all
    visit: Callable[[], str] = lambda: ""  # the visit of a per-visit form

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model(self.model_label)

    @property
    def form_label(self) -> str:
        """The label of the model in the query catalogue, when the form has one there."""
        source = catalogue.source_for(self.model_label)
        return str(source.form_label) if source else str(self.label)

    def rows(self) -> QuerySet:
        where = self.where()
        if where is None:
            return self.model._default_manager.none()
        return self.model._default_manager.filter(where)


def _primary_where() -> Q | None:
    primary = _primary_outcome()
    if primary is None:
        return None
    visit, instrument = primary
    return Q(visit_code=visit, instrument_code=instrument, status="submitted")


def _primary_label() -> str:
    primary = _primary_outcome()
    if primary is None:
        return str(_("Primary outcome"))
    visit, instrument = primary
    return str(_("Primary outcome: %(instrument)s at %(visit)s")) % {
        "instrument": INSTRUMENT_LABELS.get(instrument, instrument),
        "visit": visit,
    }


class _PrimaryLabel:
    """The primary outcome's label, read from the schedule when shown (a lazy string)."""

    def __str__(self) -> str:
        return _primary_label()


SDV_FORMS: tuple[SdvForm, ...] = (
    SdvForm("consent", _("Consent"), "trial.Consent", lambda: F("recorded_at")),
    SdvForm(
        "eligibility",
        _("Eligibility"),
        "trial.EligibilityAssessment",
        lambda: _first_history("trial.EligibilityAssessment"),
    ),
    SdvForm(
        "randomisation",
        _("Randomisation"),
        "randomization.Allocation",
        lambda: F("confirmed_at"),
        # Verified once the clinician has confirmed the envelope opened; never the arm.
        where=lambda: Q(confirmed_at__isnull=False),
    ),
    SdvForm(
        "primary_outcome",
        _PrimaryLabel(),
        "questionnaires.QuestionnaireResponse",
        lambda: F("submitted_at"),
        where=_primary_where,
        visit=lambda: (_primary_outcome() or ("", ""))[0],
    ),
    SdvForm(
        "sae",
        _("Serious adverse event"),
        "trial.AdverseEvent",
        lambda: F("recorded_at"),
        where=lambda: Q(serious=True),
    ),
    SdvForm("death", _("Death"), "trial.Death", lambda: F("recorded_at")),
)
SDV_FORMS_BY_CODE = {f.code: f for f in SDV_FORMS}
# Every model an SDV form may be verified on, whether or not the setting asks for it now: a
# change to a row verified under an earlier setting still clears its mark.
SDV_MODEL_LABELS = frozenset(f.model_label for f in SDV_FORMS)


def sdv_forms() -> tuple[SdvForm, ...]:
    """The forms ``TRIAL_SDV_FORMS`` asks to verify, in the order of ``SDV_FORMS``; an unknown
    code stops the start-up (``trial.monitoring.wiring``) rather than verify less than asked."""
    wanted = tuple(settings.TRIAL_SDV_FORMS)
    unknown = sorted(set(wanted) - set(SDV_FORMS_BY_CODE))
    if unknown:
        raise ImproperlyConfigured(
            f"TRIAL_SDV_FORMS names unknown forms {', '.join(unknown)}; "
            f"known: {', '.join(SDV_FORMS_BY_CODE)}"
        )
    return tuple(f for f in SDV_FORMS if f.code in wanted)


def sdv_form_choices() -> list[tuple[str, str]]:
    return [(f.code, str(f.label)) for f in sdv_forms()]


# --- the instances and their state, in one query ----------------------------------------------

_COLUMNS = (
    "sdv_participant",
    "sdv_trial_number",
    "sdv_site",
    "sdv_form",
    "sdv_visit",
    "sdv_record",
    "sdv_recorded",
    "sdv_verification",
    "sdv_standing",
)


def _verifications(form: SdvForm, visit: str) -> QuerySet[SourceVerification]:
    return SourceVerification.objects.filter(
        participant_id=OuterRef("sdv_participant"),
        form=form.code,
        visit_code=visit,
        target_id=OuterRef("sdv_record"),
    )


def _instances(form: SdvForm, participants: QuerySet | None) -> QuerySet:
    """The form's instances as the rows of ``_COLUMNS`` (every column an annotation, in the
    same order for every form, so that the forms' queries make one UNION)."""
    visit = form.visit()
    rows = form.rows()
    if participants is not None:
        rows = rows.filter(participant__in=participants)
    mine = _verifications(form, visit)
    return (
        rows.annotate(
            sdv_participant=F("participant_id"),
            sdv_trial_number=F("participant__trial_number"),
            sdv_site=F("participant__site__code"),
            sdv_form=Value(form.code, output_field=CharField()),
            sdv_visit=Value(visit, output_field=CharField()),
            sdv_record=Cast("pk", output_field=CharField(max_length=40)),
            sdv_recorded=form.recorded_at(),
            sdv_verification=Subquery(mine.order_by("-verified_at", "-id").values("id")[:1]),
            sdv_standing=Exists(mine.filter(cleared_at__isnull=True)),
        )
        .order_by()
        .values_list(*_COLUMNS)
    )


@dataclass
class SdvInstance:
    """One form instance and its state; ``verification`` is the newest one, if any."""

    participant_id: int
    trial_number: str
    site_code: str
    form: SdvForm
    visit_code: str
    record_id: str
    recorded_at: dt.datetime | None
    verification: SourceVerification | None
    state: str

    @property
    def key(self) -> str:
        return f"{self.form.code}:{self.visit_code}:{self.record_id}"

    @property
    def label(self) -> str:
        return str(self.form.label)

    @property
    def state_label(self) -> str:
        return str(dict(STATE_CHOICES)[self.state])


def _instance(row: tuple, verifications: dict[int, SourceVerification]) -> SdvInstance:
    pid, tn, site, code, visit, record, recorded, verification_id, standing = row
    verification = verifications.get(verification_id) if verification_id else None
    if standing:
        state = VERIFIED
    elif verification is not None:
        state = CLEARED
    else:
        state = TO_VERIFY
    return SdvInstance(
        pid, tn, site, SDV_FORMS_BY_CODE[code], visit, record, recorded, verification, state
    )


def _load(rows: list[tuple]) -> list[SdvInstance]:
    """The instances of ``rows``, with their newest verifications (one query)."""
    ids = {row[7] for row in rows if row[7]}
    verifications = (
        {
            v.pk: v
            for v in SourceVerification.objects.filter(pk__in=ids).select_related(
                "verified_by", "cleared_by"
            )
        }
        if ids
        else {}
    )
    return [_instance(row, verifications) for row in rows]


def _union(
    forms: Iterable[SdvForm], participants: QuerySet | None, *, standing: bool | None = None
) -> QuerySet | None:
    parts = []
    for form in forms:
        part = _instances(form, participants)
        if standing is not None:
            part = part.filter(sdv_standing=standing)
        parts.append(part)
    if not parts:
        return None
    first, *rest = parts
    return first.union(*rest, all=True) if rest else first


def sdv_state_for(participant) -> list[SdvInstance]:
    """Every form instance of ``participant`` that needs verifying, with its state, in the
    order of ``SDV_FORMS`` (two queries). For the participant page, the casebook and the
    lock: ``all(i.state == VERIFIED for i in sdv_state_for(p))`` says the casebook is
    verified."""
    from trial.models import Participant

    union = _union(sdv_forms(), Participant.objects.filter(pk=participant.pk))
    if union is None:
        return []
    order = {f.code: i for i, f in enumerate(SDV_FORMS)}
    instances = _load(list(union))
    return sorted(
        instances,
        key=lambda i: (order[i.form.code], i.recorded_at is None, i.recorded_at, i.record_id),
    )


def sdv_instance_get(participant, *, form: str, visit_code: str = "", record_id: str = ""):
    """The row of ``form`` for ``participant`` (at ``visit_code``; the row ``record_id`` when
    the participant may have several, as serious adverse events), or None when nothing is
    recorded yet, or the form is not one the setting asks to verify."""
    sdv_form = SDV_FORMS_BY_CODE.get(form)
    if sdv_form is None or sdv_form not in sdv_forms() or visit_code != sdv_form.visit():
        return None
    rows = sdv_form.rows().filter(participant=participant)
    if record_id:
        if not (record_id.isdecimal() and len(record_id) <= 18):
            return None
        rows = rows.filter(pk=int(record_id))
    found = list(rows.order_by("pk")[:2])
    # Without a record, a form with several rows for the participant is ambiguous.
    return found[0] if len(found) == 1 else None


def worklist(user, *, site_code: str = "", form: str = "") -> QuerySet | None:
    """What is still to verify among the participants ``user`` sees (never verified, or
    cleared by a change), oldest first: one UNION query per page, whatever the number of
    participants; ``worklist_page`` adds the verifications of the page (one query)."""
    participants = access.participants_for(user)
    if site_code:
        participants = participants.filter(site__code=site_code)
    forms = [f for f in sdv_forms() if not form or f.code == form]
    union = _union(forms, participants, standing=False)
    if union is None:
        return None
    return union.order_by("sdv_recorded", "sdv_trial_number", "sdv_form", "sdv_record")


def worklist_page(rows: Iterable[tuple]) -> list[SdvInstance]:
    return _load(list(rows))


def progress_by_site(user) -> list[dict]:
    """Per site: form instances verified and required, and the share verified; one query per
    form of the setting, whatever the number of participants."""
    participants = access.participants_for(user)
    totals: dict[str, dict[str, Any]] = {}
    for form in sdv_forms():
        standing = SourceVerification.objects.filter(
            participant_id=OuterRef("participant_id"),
            form=form.code,
            visit_code=form.visit(),
            target_id=Cast(OuterRef("pk"), output_field=CharField(max_length=40)),
            cleared_at__isnull=True,
        )
        rows = (
            form.rows()
            .filter(participant__in=participants)
            .annotate(sdv_standing=Exists(standing))
            .values("participant__site__code", "participant__site__name")
            .annotate(required=Count("pk"), verified=Count("pk", filter=Q(sdv_standing=True)))
            .order_by()
        )
        for row in rows:
            code = row["participant__site__code"]
            site = totals.setdefault(
                code,
                {
                    "site_code": code,
                    "site_name": row["participant__site__name"],
                    "required": 0,
                    "verified": 0,
                },
            )
            site["required"] += row["required"]
            site["verified"] += row["verified"]
    result = []
    for code in sorted(totals):
        site = totals[code]
        required = site["required"]
        site["percent"] = round(100 * site["verified"] / required) if required else 0
        result.append(site)
    return result


_EXPORT_COLUMNS = (
    "participant__trial_number",
    "sdv_record",
    "sdv_recorded",
    "sdv_verified_at",
    "sdv_verified_by__role",
    "sdv_cleared_at",
    "sdv_cleared_by__role",
    "sdv_cleared_model",
)


def _export_querysets(participant_ids: Collection[int] | None):
    """Per form of the setting: the form, its visit, and its instances annotated with their
    newest verification (``_EXPORT_COLUMNS`` and a state), in the exports' order."""
    from trial.exports.registry import by_trial_number

    for form in sdv_forms():
        visit = form.visit()
        newest = _verifications(form, visit).order_by("-verified_at", "-id")
        instances = form.rows()
        if participant_ids is not None:
            instances = instances.filter(participant_id__in=participant_ids)
        annotated = instances.annotate(
            sdv_participant=F("participant_id"),
            sdv_record=Cast("pk", output_field=CharField(max_length=40)),
            sdv_recorded=form.recorded_at(),
            **{
                f"sdv_{name}": Subquery(newest.values(name)[:1])
                for name in (
                    "verified_at",
                    "verified_by__role",
                    "cleared_at",
                    "cleared_by__role",
                    "cleared_model",
                )
            },
        ).order_by(by_trial_number(), "sdv_recorded", "pk")
        yield form, visit, annotated


def export_rows(participant_ids: Collection[int] | None = None) -> Iterator[tuple]:
    """Every form instance of every participant with the state of its newest verification:
    ``(trial_number, visit, form, record, recorded_at, state, verified_at, verified_by_role,
    cleared_at, cleared_by_role, cleared_by_model)``, one query per form, merged in the
    exports' order of trial numbers (their bytes, as Python sorts them). ``participant_ids``
    limits it to those participants (a page of the web API)."""
    from trial.exports.registry import CHUNK_SIZE

    streams = [
        _export_stream(form, visit, qs.values_list(*_EXPORT_COLUMNS).iterator(CHUNK_SIZE))
        for form, visit, qs in _export_querysets(participant_ids)
    ]
    yield from heapq.merge(*streams, key=lambda row: row[0])


def export_sql() -> tuple[str, tuple]:
    """The same rows as ``export_rows()`` as one SELECT for PostgreSQL's COPY: the forms'
    queries joined by UNION ALL, ordered as the Python merge orders them (trial number by its
    bytes, then the forms in the setting's order, then each form's own order)."""
    parts, params = [], []
    for index, (form, visit, qs) in enumerate(_export_querysets(None)):
        qs = qs.annotate(
            sdv_visit=Value(visit, output_field=CharField()),
            sdv_form=Value(form.code, output_field=CharField()),
            sdv_state=Case(
                When(sdv_verified_at__isnull=True, then=Value(TO_VERIFY)),
                When(sdv_cleared_at__isnull=True, then=Value(VERIFIED)),
                default=Value(CLEARED),
                output_field=CharField(),
            ),
            sdv_index=Value(index, output_field=models.IntegerField()),
        ).order_by()
        tn, record, recorded, *verification = _EXPORT_COLUMNS
        sql, part_params = qs.values_list(
            tn,
            "sdv_visit",
            "sdv_form",
            record,
            recorded,
            "sdv_state",
            *verification,
            "sdv_index",
            "pk",
        ).query.sql_with_params()
        parts.append(f"({sql})")
        params.extend(part_params)
    columns = "tn, visit, form, record, recorded, state, v_at, v_role, c_at, c_role, c_model"
    sql = (
        f"SELECT {columns} FROM ({' UNION ALL '.join(parts)}) "  # noqa: S608 - the ORM's SQL
        f"AS u({columns}, idx, pk) "
        'ORDER BY tn COLLATE "C", idx, recorded, pk'
    )
    return sql, tuple(params)


def _export_stream(form: SdvForm, visit: str, rows: Iterator[tuple]) -> Iterator[tuple]:
    for tn, record, recorded, verified_at, verified_role, cleared_at, cleared_role, model in rows:
        if verified_at is None:
            state = TO_VERIFY
        elif cleared_at is None:
            state = VERIFIED
        else:
            state = CLEARED
        yield (
            tn,
            visit,
            form.code,
            record,
            recorded,
            state,
            verified_at,
            verified_role,
            cleared_at,
            cleared_role,
            model,
        )
