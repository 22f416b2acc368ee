"""Writes for treatment and clinical events: PVP procedure per vertebra, usual care,
crossover and the radiographic controls (adverse events: ``trial.treatment.adverse_events``).

Each service locks the participant, decides, validates (``full_clean``) and saves through
``trial.audit.audited_save``, so every change leaves a history row with the user and, after
the first save, the reason. Death and withdrawal live in ``trial.participants.services``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Field
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from trial import access
from trial.audit import audited_delete, audited_save
from trial.concurrency import values_of, version_check
from trial.models import (
    Crossover,
    LeakageSite,
    Participant,
    ParticipantStatus,
    Procedure,
    ProcedureLevel,
    RadiographicControl,
    RadiographKind,
    User,
    UsualCare,
)
from trial.protocol.vertebrae import LEVEL_INDEX
from trial.registry import allocation_revealed, schedule_anchor_recorded

PVP = "pvp"
CONSERVATIVE = "conservative"


class TreatmentError(ValidationError):
    """A refusal the user should read as a message (wrong arm, too early, not randomised)."""


def crossover_earliest_day() -> int:
    """Day after randomisation from which a conservative-arm patient may cross over (protocol:
    after 4 weeks). A trial setting so that the coordinator can change it."""
    return int(getattr(settings, "TRIAL_CROSSOVER_EARLIEST_DAY", 28))


# --- helpers ------------------------------------------------------------------------------


def allocated_arm(participant: Participant) -> str | None:
    """The allocated arm once it is revealed (the opened envelope confirmed), else None: until
    then the participant is treated as not randomised here, so no refusal names an arm."""
    allocation = getattr(participant, "allocation", None)  # randomization.Allocation, if any
    return allocation.arm if allocation is not None and allocation_revealed(allocation) else None


def _not_allocated(participant: Participant, message: str) -> str:
    """The refusal for a participant without a revealed allocation: either not randomised, or
    randomised with the envelope's confirmation still to come."""
    if getattr(participant, "allocation", None) is not None:
        return _(
            "%(number)s is randomised, but the opened envelope is not confirmed yet; confirm "
            "it on the participant's page first."
        ) % {"number": participant.trial_number}
    return message % {"number": participant.trial_number}


def randomised_on(participant: Participant) -> dt.date | None:
    allocation = getattr(participant, "allocation", None)
    randomised_at = getattr(allocation, "randomised_at", None)
    return timezone.localdate(randomised_at) if randomised_at else None


def _locked(participant: Participant) -> Participant:
    return Participant.objects.select_for_update().get(pk=participant.pk)


def _require_randomised(participant: Participant) -> dt.date:
    day0 = randomised_on(participant)
    if day0 is None:
        raise TreatmentError(
            _("%(number)s is not randomised; treatment is recorded after randomisation.")
            % {"number": participant.trial_number}
        )
    return day0


def _full_clean_into(instance, errors: dict[str, list[str]]) -> None:
    """Add the model's own validation errors to ``errors``, so one refusal names them all."""
    try:
        instance.full_clean()
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)


def _not_before(errors: dict, field: str, value, earliest: dt.date | None, message: str) -> None:
    if value and earliest and value < earliest:
        errors.setdefault(field, []).append(message % {"date": earliest.isoformat()})


def procedure_refusal(participant: Participant) -> str | None:
    """Why a PVP procedure cannot be recorded for the participant, or None if it can.

    Allowed for the PVP arm, and for the conservative arm once a crossover is recorded.
    """
    arm = allocated_arm(participant)
    if arm is None:
        return _not_allocated(
            participant,
            _("%(number)s is not randomised; a procedure is recorded after randomisation."),
        )
    if arm == PVP:
        return None
    if Crossover.objects.filter(participant=participant).exists():
        return None
    return _(
        "%(number)s is allocated to conservative care. A procedure can be recorded only after "
        "a crossover to PVP is recorded."
    ) % {"number": participant.trial_number}


# --- PVP procedure -----------------------------------------------------------------------


def _level_rows(levels: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Check the treated levels: known, each once; returns rows in anatomical order."""
    errors: list[str] = []
    seen: set[str] = set()
    rows = []
    for row in levels:
        code = str(row.get("level", "")).upper()
        if code not in LEVEL_INDEX:
            errors.append(_("Unknown vertebral level: %(level)s.") % {"level": code or "—"})
            continue
        if code in seen:
            errors.append(_("%(level)s is given twice.") % {"level": code})
            continue
        seen.add(code)
        sites = list(row.get("leakage_sites") or [])
        unknown = [s for s in sites if s not in LeakageSite.values]
        if unknown:
            errors.append(
                _("%(level)s: unknown leakage site %(site)s.") % {"level": code, "site": unknown[0]}
            )
            continue
        rows.append({**row, "level": code, "leakage_sites": sites})
    if not rows and not errors:
        errors.append(_("Pick at least one treated vertebra."))
    rows.sort(key=lambda r: LEVEL_INDEX[r["level"]])
    return rows, errors


def _level_values(row: dict[str, Any]) -> dict[str, Any]:
    values = {
        "cement_volume_ml": Decimal(str(row["cement_volume_ml"]))
        if row.get("cement_volume_ml") is not None
        else None,
        "leakage": bool(row.get("leakage")),
        "posterior_wall_defect": row.get("posterior_wall_defect"),
    }
    for site in LeakageSite.values:
        values[f"leak_{site}"] = site in row["leakage_sites"]
    return values


@transaction.atomic
def procedure_record(
    *,
    participant: Participant,
    user: User,
    procedure_date: dt.date,
    facility: str,
    anaesthesia: str,
    biopsy_taken: bool,
    biopsy_result: str = "",
    complications: bool,
    complications_details: str = "",
    discharge_date: dt.date | None = None,
    levels: list[dict[str, Any]],
    reason: str = "",
    loaded_version: str | None = None,
) -> Procedure:
    """Record (or correct, with a reason) the participant's PVP and its treated vertebrae.

    ``levels``: one dict per vertebra with ``level``, ``cement_volume_ml``, ``leakage``,
    ``leakage_sites`` (values of LeakageSite) and ``posterior_wall_defect`` (True/False/None).
    A correction replaces the set of levels: rows no longer given are deleted (with history).
    ``loaded_version`` here and in the other record services is the version of the record the page
    was loaded with (trial.concurrency): a save based on an older one is refused.
    """
    participant = _locked(participant)
    procedure = Procedure.objects.filter(participant=participant).first()
    # Under the participant's lock: the procedure cannot change between this check and the save.
    version_check(
        procedure, loaded_version, values=_procedure_values(procedure) if procedure else None
    )
    refusal = procedure_refusal(participant)
    if refusal:
        raise TreatmentError(refusal)
    editing = procedure is not None
    if editing and not reason.strip():
        raise ValidationError({"reason": _("Give a reason for the change.")})
    rows, level_errors = _level_rows(levels)
    errors: dict[str, list[str]] = {}
    if level_errors:
        errors["levels"] = level_errors
    _not_before(
        errors,
        "procedure_date",
        procedure_date,
        randomised_on(participant),
        _("The procedure cannot be before randomisation (%(date)s)."),
    )
    crossover = Crossover.objects.filter(participant=participant).first()
    if crossover is not None and allocated_arm(participant) == CONSERVATIVE:
        _not_before(
            errors,
            "procedure_date",
            procedure_date,
            crossover.crossover_date,
            _("The procedure cannot be before the crossover (%(date)s)."),
        )
    procedure = procedure or Procedure(participant=participant, recorded_by=user)
    procedure.procedure_date = procedure_date
    procedure.facility = facility.strip()
    procedure.anaesthesia = anaesthesia
    procedure.biopsy_taken = biopsy_taken
    procedure.biopsy_result = biopsy_result.strip()
    procedure.complications = complications
    procedure.complications_details = complications_details.strip()
    procedure.discharge_date = discharge_date
    _full_clean_into(procedure, errors)
    # Validate every level before anything is written, so a refusal names all problems.
    existing = {lv.level: lv for lv in procedure.levels.all()} if editing else {}
    planned_rows = []
    for row in rows:
        level = existing.get(row["level"]) or ProcedureLevel(level=row["level"])
        for name, value in _level_values(row).items():
            setattr(level, name, value)
        try:
            level.full_clean(exclude=["procedure"])
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                label = ""
                if field != "__all__":
                    # full_clean reports the row's own columns, never a reverse relation.
                    model_field = ProcedureLevel._meta.get_field(field)
                    label = str(
                        model_field.verbose_name if isinstance(model_field, Field) else field
                    )
                for message in messages:
                    errors.setdefault("levels", []).append(
                        f"{row['level']}: {label + ': ' if label else ''}{message}"
                    )
        planned_rows.append(level)
    if errors:
        raise ValidationError(errors)
    audited_save(procedure, user=user, reason=reason if editing else "")
    wanted = {lv.level for lv in planned_rows}
    for code, level in existing.items():
        if code not in wanted:
            audited_delete(level, user=user, reason=reason)
    for level in planned_rows:
        if level.pk is None:
            level.procedure = procedure
            audited_save(level, user=user)
        elif _level_changed(level):
            audited_save(level, user=user, reason=reason)
    schedule_anchor_recorded(participant=participant, anchor="procedure", user=user)
    return procedure


def _procedure_values(procedure: Procedure) -> list[tuple[str, str]]:
    """The procedure as shown next to a form whose save it refused: its own fields and the
    treated vertebrae, which live in rows of their own."""
    levels = sorted(procedure.levels.all(), key=lambda lv: LEVEL_INDEX[lv.level])
    treated = ", ".join(
        _("%(level)s: %(volume)s ml")
        % {"level": lv.level, "volume": formats.localize(lv.cement_volume_ml)}
        for lv in levels
    )
    return [*values_of(procedure), (str(_("Treated vertebrae")), treated)]


def _level_changed(level: ProcedureLevel) -> bool:
    stored: Mapping[str, Any] = ProcedureLevel.objects.filter(pk=level.pk).values().first() or {}
    return any(stored.get(f.attname) != getattr(level, f.attname) for f in level._meta.fields)


# --- usual care ---------------------------------------------------------------------------


USUAL_CARE_FIELDS = (
    "assessed_on",
    "paracetamol",
    "nsaid",
    "opioid",
    "opioid_ome_mg_per_day",
    "other_analgesics",
    "brace",
    "spinal_radiotherapy",
    "radiotherapy_details",
    "bone_therapy",
    "note",
)


def usual_care_refusal(participant: Participant) -> str | None:
    arm = allocated_arm(participant)
    if arm is None:
        return _not_allocated(
            participant,
            _("%(number)s is not randomised; usual care is recorded after randomisation."),
        )
    if arm != CONSERVATIVE:
        return _("Usual care is recorded for participants allocated to conservative care.")
    return None


@transaction.atomic
def usual_care_record(
    *,
    participant: Participant,
    user: User,
    reason: str = "",
    loaded_version: str | None = None,
    **values: Any,
) -> UsualCare:
    """Record the usual care of a conservative-arm participant, or update it with a reason;
    the history keeps every earlier version."""
    participant = _locked(participant)
    version_check(UsualCare.objects.filter(participant=participant).first(), loaded_version)
    refusal = usual_care_refusal(participant)
    if refusal:
        raise TreatmentError(refusal)
    unknown = set(values) - set(USUAL_CARE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown usual-care fields: {sorted(unknown)}")
    care = UsualCare.objects.filter(participant=participant).first()
    editing = care is not None
    care = care or UsualCare(participant=participant)
    for name, value in values.items():
        setattr(care, name, value.strip() if isinstance(value, str) else value)
    care.recorded_by = user
    errors: dict[str, list[str]] = {}
    _not_before(
        errors,
        "assessed_on",
        care.assessed_on,
        randomised_on(participant),
        _("Usual care is recorded from randomisation (%(date)s) on."),
    )
    _full_clean_into(care, errors)
    if errors:
        raise ValidationError(errors)
    return audited_save(care, user=user, reason=reason if editing else "")


# --- crossover ----------------------------------------------------------------------------


def crossover_day(participant: Participant, on: dt.date) -> int | None:
    """Days from randomisation (day 0) to ``on``."""
    day0 = randomised_on(participant)
    return None if day0 is None else (on - day0).days


def crossover_refusal(participant: Participant) -> str | None:
    """Why no crossover can be recorded at all (whatever the date), or None."""
    arm = allocated_arm(participant)
    if arm is None:
        return _not_allocated(participant, _("%(number)s is not randomised."))
    if arm != CONSERVATIVE:
        return _("Only participants allocated to conservative care can cross over to PVP.")
    if Crossover.objects.filter(participant=participant).exists():
        return _("The crossover of %(number)s is already recorded.") % {
            "number": participant.trial_number
        }
    if participant.status != ParticipantStatus.RANDOMISED:
        return _("%(number)s is no longer in follow-up (%(status)s).") % {
            "number": participant.trial_number,
            "status": participant.get_status_display().lower(),
        }
    return None


@transaction.atomic
def crossover_record(
    *,
    participant: Participant,
    user: User,
    crossover_date: dt.date,
    reason: str,
    override_reason: str = "",
    loaded_version: str | None = None,
) -> Crossover:
    """Record a conservative-arm participant's change to PVP.

    From day 28 after randomisation (the setting TRIAL_CROSSOVER_EARLIEST_DAY) anyone allowed
    to record it may; before that only a coordinator, who must give a reason for the early
    crossover. The allocation is never changed: the as-treated arm is derived from the
    procedure that follows (trial.treatment.selectors).
    """
    participant = _locked(participant)
    # Recorded once: a crossover saved by someone else meanwhile is shown, not refused blankly.
    version_check(
        Crossover.objects.filter(participant=participant).first(), loaded_version, final=True
    )
    refusal = crossover_refusal(participant)
    if refusal:
        raise TreatmentError(refusal)
    errors: dict[str, list[str]] = {}
    if not reason.strip():
        errors.setdefault("reason", []).append(_("Give the reason for the crossover."))
    if crossover_date > timezone.localdate():
        errors.setdefault("crossover_date", []).append(_("The date cannot be in the future."))
    # Not None: crossover_refusal above turned away anyone not randomised.
    day0 = _require_randomised(participant)
    _not_before(
        errors,
        "crossover_date",
        crossover_date,
        day0,
        _("The crossover cannot be before randomisation (%(date)s)."),
    )
    day = crossover_day(participant, crossover_date)
    earliest = crossover_earliest_day()
    early = day is not None and 0 <= day < earliest
    override_reason = override_reason.strip()
    if early and not errors:
        if not access.can(user, "crossover_allow_early"):
            errors.setdefault("crossover_date", []).append(
                _(
                    "A crossover is possible from day %(earliest)d after randomisation "
                    "(%(date)s); this is day %(day)d. Only the coordinator can allow an "
                    "earlier crossover, with a reason."
                )
                % {
                    "earliest": earliest,
                    "day": day,
                    "date": (day0 + dt.timedelta(days=earliest)).isoformat(),
                }
            )
        elif not override_reason:
            errors.setdefault("override_reason", []).append(
                _(
                    "This is day %(day)d after randomisation, before day %(earliest)d: give "
                    "the reason for allowing the early crossover."
                )
                % {"day": day, "earliest": earliest}
            )
    if errors:
        raise ValidationError(errors)
    crossover = Crossover(
        participant=participant,
        crossover_date=crossover_date,
        reason=reason.strip(),
        early_override_reason=override_reason if early else "",
        early_override_by=user if early else None,
        recorded_by=user,
    )
    # The override is part of the audit trail: its history row says who allowed it and why.
    audited_save(
        crossover,
        user=user,
        reason=(
            _("Early crossover on day %(day)d allowed by the coordinator: %(reason)s")
            % {"day": day, "reason": override_reason}
            if early
            else ""
        ),
    )
    return crossover


# --- radiographic controls ----------------------------------------------------------------


RADIOGRAPH_FIELDS = (
    "examined_on",
    "standing",
    "treated_stability",
    "new_fracture",
    "new_fracture_levels",
    "new_fracture_adjacent",
    "height_loss",
    "height_loss_levels",
    "note",
)


def radiograph_refusal(participant: Participant, kind: str) -> str | None:
    if kind not in RadiographKind.values:
        return _("Unknown kind of radiographic control.")
    if randomised_on(participant) is None:
        return _("%(number)s is not randomised.") % {"number": participant.trial_number}
    if (
        kind == RadiographKind.SURGICAL_CONTROL
        and not Procedure.objects.filter(participant=participant).exists()
    ):
        return _("The surgical control follows a PVP procedure; none is recorded.")
    return None


@transaction.atomic
def radiograph_record(
    *,
    participant: Participant,
    user: User,
    kind: str,
    reason: str = "",
    loaded_version: str | None = None,
    **values: Any,
) -> RadiographicControl:
    """Record (or correct, with a reason) the surgical control or the 12-month X-ray."""
    participant = _locked(participant)
    version_check(
        RadiographicControl.objects.filter(participant=participant, kind=kind).first(),
        loaded_version,
    )
    refusal = radiograph_refusal(participant, kind)
    if refusal:
        raise TreatmentError(refusal)
    unknown = set(values) - set(RADIOGRAPH_FIELDS)
    if unknown:
        raise TypeError(f"Unknown radiograph fields: {sorted(unknown)}")
    control = RadiographicControl.objects.filter(participant=participant, kind=kind).first()
    editing = control is not None
    control = control or RadiographicControl(participant=participant, kind=kind, recorded_by=user)
    for name, value in values.items():
        setattr(control, name, value.strip() if isinstance(value, str) else value)
    errors: dict[str, list[str]] = {}
    procedure = Procedure.objects.filter(participant=participant).first()
    if kind == RadiographKind.SURGICAL_CONTROL and procedure is not None:
        _not_before(
            errors,
            "examined_on",
            control.examined_on,
            procedure.procedure_date,
            _("The surgical control cannot be before the procedure (%(date)s)."),
        )
    else:
        _not_before(
            errors,
            "examined_on",
            control.examined_on,
            randomised_on(participant),
            _("The X-ray cannot be before randomisation (%(date)s)."),
        )
    if control.new_fracture and procedure is not None and control.new_fracture_adjacent is None:
        errors.setdefault("new_fracture_adjacent", []).append(
            _("Say whether a new fracture is adjacent to a treated level.")
        )
    _full_clean_into(control, errors)
    if errors:
        raise ValidationError(errors)
    return audited_save(control, user=user, reason=reason if editing else "")
