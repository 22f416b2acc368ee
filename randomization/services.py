"""Writes of the randomisation app. ``participant_randomize`` is the only way to allocate.

Locking, in one paragraph: a randomisation locks the participant row (so one participant is
never randomised twice, even by two requests at once), then the site-and-stratum's
StratumStock row, and only then looks for the lowest sealed envelope. Every randomisation in
that site and stratum queues on the same stock row, so they run one after another and each
sees the envelopes its predecessors took: distinct envelopes, in serial order. Locking the
envelope row itself would not do: under READ COMMITTED a waiting ``SELECT ... FOR UPDATE``
re-checks the row it waited for, finds it used, and returns nothing, although later envelopes
exist. Batch generation, confirming an envelope and reporting one spoiled or missing take the
same stock lock (after the allocation's, never before), so whatever changes which envelopes
are sealed happens one at a time per site and stratum.

Envelope states change in one place, ``envelope_transition``, along ENVELOPE_TRANSITIONS.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from randomization import blocks, selectors
from randomization.deviation_text import deviation_stored_text
from randomization.models import (
    HELD_STATES,
    Allocation,
    AllocationListView,
    Arm,
    DeviationKind,
    Envelope,
    EnvelopeBatch,
    EnvelopeState,
    ProtocolDeviation,
    StratumStock,
    envelope_serial,
)
from randomization.strata import (
    STRATA,
    Stratum,
    StratumIncomplete,
    StratumInputs,
    stratum_for,
)
from trial.audit import ReasonRequired, audited_save, require_reason
from trial.errors import ServiceError
from trial.models import (
    Participant,
    ParticipantStatus,
    ScreeningForm,
    Site,
    SiteKind,
    SurgicalAssessment,
    User,
)
from trial.registry import schedule_anchor_recorded

logger = logging.getLogger(__name__)

MAX_BATCH_SIZE = 500

# The Celery names of tasks in randomization.tasks. The services enqueue by name, so that
# they need not import the task module (which imports them); queued messages and outbox rows
# refer to these names, so they never change.
ENVELOPE_STOCK_CHECK_TASK = "randomization.envelope_stock_check"
DEVIATION_NOTIFY_TASK = "randomization.deviation_notify"


class RandomisationRefused(ServiceError):
    """Randomisation is not possible now; ``messages`` says every reason, in words."""

    def __init__(self, messages: Sequence[str], *, code: str = "not_ready") -> None:
        self.messages = [str(m) for m in messages]
        # For the web API's JSON error: not_ready, no_stock or already_randomised.
        self.code = code
        super().__init__(" ".join(self.messages))


def default_block_sizes() -> tuple[int, ...]:
    return tuple(settings.RANDOMISATION_BLOCK_SIZES)


# --- strata --------------------------------------------------------------------------------


def participant_stratum_inputs(participant: Participant) -> StratumInputs:
    form = ScreeningForm.objects.filter(participant=participant).only("myeloma_status").first()
    surgical = (
        SurgicalAssessment.objects.filter(participant=participant)
        .only("planned_levels", "earlier_fractures")
        .first()
    )
    planned = len(surgical.planned_levels) if surgical and surgical.planned_levels else None
    return StratumInputs(
        myeloma_status=(form.myeloma_status or None) if form else None,
        planned_level_count=planned,
        earlier_untreated_fractures=surgical.earlier_fractures if surgical else None,
    )


def participant_stratum(participant: Participant) -> Stratum:
    """The participant's stratum from recorded data; raises StratumIncomplete naming what is
    missing, or ValueError for impossible values (e.g. more than four planned levels)."""
    return stratum_for(participant_stratum_inputs(participant))


def participant_stratum_check(participant: Participant) -> tuple[Stratum | None, list[str]]:
    try:
        return participant_stratum(participant), []
    except StratumIncomplete as exc:
        missing = "; ".join(str(item) for item in exc.missing)
        return None, [
            _("The stratum cannot be computed; missing: %(missing)s.") % {"missing": missing}
        ]
    except ValueError as exc:
        return None, [_("The stratum cannot be computed: %(error)s") % {"error": exc}]


# --- batches -------------------------------------------------------------------------------


@transaction.atomic
def envelope_batch_generate(
    *,
    site: Site,
    stratum: str,
    count: int,
    user: User | None,
    block_sizes: Sequence[int] | None = None,
    note: str = "",
    rng: random.Random | None = None,
) -> EnvelopeBatch:
    """Generate ``count`` envelopes for a site and stratum, continuing its serial numbers.

    The allocations come from ``blocks.generate_allocation_sequence`` (1:1, permuted blocks of
    randomly chosen sizes, ``secrets.SystemRandom``); ``rng`` exists for tests only.
    """
    if site.kind != SiteKind.HEMATOLOGY:
        raise ServiceError(_("Envelopes are issued to hematology departments."))
    if stratum not in STRATA:
        raise ServiceError(_("Unknown stratum %(code)s.") % {"code": stratum})
    if not isinstance(count, int) or not 1 <= count <= MAX_BATCH_SIZE:
        raise ServiceError(_("A batch holds 1 to %(max)d envelopes.") % {"max": MAX_BATCH_SIZE})
    sizes = tuple(block_sizes) if block_sizes else default_block_sizes()
    try:
        sizes = blocks.validate_block_sizes(sizes)
    except ValueError:
        raise ServiceError(
            _("Block sizes must be distinct even numbers, for example 2 and 4.")
        ) from None

    StratumStock.objects.get_or_create(site=site, stratum=stratum)
    stock = StratumStock.objects.select_for_update().get(site=site, stratum=stratum)
    first = stock.last_sequence + 1
    batch = EnvelopeBatch(
        site=site,
        stratum=stratum,
        size=count,
        block_sizes=list(sizes),
        first_sequence=first,
        note=note.strip(),
        created_by=user,
    )
    audited_save(batch, user=user)
    sequence = blocks.generate_allocation_sequence(count, sizes, rng=rng)
    Envelope.objects.bulk_create(
        [
            Envelope(
                batch=batch,
                site=site,
                stratum=stratum,
                sequence=first + a.sequence - 1,
                serial=envelope_serial(site.code, stratum, first + a.sequence - 1),
                arm=a.arm,
                block_number=a.block_number,
                block_size=a.block_size,
                position_in_block=a.position_in_block,
            )
            for a in sequence
        ]
    )
    stock.last_sequence = first + count - 1
    # A new batch ends a low-stock episode: the next fall below the threshold is a new crossing.
    if selectors.sealed_envelopes_left(site, stratum) >= settings.RANDOMISATION_STOCK_THRESHOLD:
        stock.low_stock_alerted_at = None
    stock.save(update_fields=["last_sequence", "low_stock_alerted_at"])
    logger.info("Envelope batch %s generated: %s envelopes", batch.pk, count)
    return batch


# --- envelope states -------------------------------------------------------------------------

S = EnvelopeState
# Where each state may go. Opened is final; spoiled is final; a missing envelope that turns up
# is not trusted again (spoiled). Sealed -> opened is the envelope a clinician opened although
# the system had named another one.
ENVELOPE_TRANSITIONS: dict[str, frozenset[str]] = {
    S.SEALED: frozenset({S.ISSUED, S.OPENED, S.SPOILED, S.MISSING}),
    S.ISSUED: frozenset({S.OPENED, S.SEALED, S.SPOILED}),
    S.OPENED: frozenset(),
    S.SPOILED: frozenset(),
    S.MISSING: frozenset({S.SPOILED}),
}


class EnvelopeTransitionRefused(ServiceError):
    """The envelope is not in a state from which it may go where it was asked to."""

    def __init__(self, envelope: Envelope, to: str) -> None:
        self.envelope = envelope
        self.to = to
        super().__init__(
            _("Envelope %(serial)s is %(state)s and cannot become %(to)s.")
            % {
                "serial": envelope.serial,
                "state": envelope.get_state_display(),
                "to": EnvelopeState(to).label,
            }
        )


@transaction.atomic
def envelope_transition(
    *,
    envelope: Envelope,
    to: str,
    user: User | None,
    reason: str,
    participant: Participant | None = None,
    card_arm: str = "",
) -> Envelope:
    """Move one envelope to state ``to``: the only writer of Envelope.state.

    The row is locked and re-read first, so the check of the current state and the write see
    the same row. Issued and opened envelopes belong to ``participant``; every other state
    releases the envelope (the database refuses anything else). Each move is a history row
    with the user and ``reason``. Callers that change which envelopes are sealed hold the
    site-and-stratum stock lock (module docstring).
    """
    envelope = Envelope.objects.select_for_update().get(pk=envelope.pk)
    if to not in ENVELOPE_TRANSITIONS[envelope.state]:
        raise EnvelopeTransitionRefused(envelope, to)
    now = timezone.now()
    if to in HELD_STATES:
        if participant is None:
            raise ValueError(f"An envelope becoming {to} needs its participant")
        if envelope.participant_id != participant.pk:
            envelope.used_at = now
        envelope.participant = participant
    else:
        envelope.participant = None
        envelope.used_at = None
    if to == S.OPENED:
        if card_arm not in Arm.values:
            raise ValueError("An opened envelope needs the arm read on its card")
        envelope.card_arm = card_arm
    envelope.state = to
    envelope.state_changed_at = now
    envelope.state_changed_by = user
    envelope.state_reason = reason
    audited_save(envelope, user=user, reason=reason, validate=False)
    return envelope


def _lock_stocks(site: Site, *strata: str) -> None:
    """Take the stock locks of ``site`` for ``strata``, in one order (no deadlock)."""
    list(
        StratumStock.objects.select_for_update()
        .filter(site=site, stratum__in=set(strata))
        .order_by("pk")
    )


REPORTABLE_STATES = (S.SPOILED, S.MISSING)


@transaction.atomic
def envelope_report(*, user: User, serial: str, state: str, reason: str) -> Envelope:
    """Site staff report an envelope spoiled (opened or damaged by mistake) or missing.

    Only envelopes of the user's own sites, and only sealed ones (or a missing one that turned
    up, which becomes spoiled): an envelope issued to a participant is settled by confirming
    it. The reason is required in words; the coordinator sees the report on the deviations
    page, and the stock is checked again (one envelope fewer).
    """
    from trial.staff.selectors import sites_for

    if state not in REPORTABLE_STATES:
        raise ServiceError(_("Report an envelope as spoiled or missing."))
    try:
        reason = require_reason(reason)
    except ReasonRequired as exc:
        raise ServiceError(exc.messages[0]) from None
    serial = serial.strip().upper()
    envelope = (
        Envelope.objects.filter(serial=serial, site__in=sites_for(user))
        .select_related("site")
        .first()
    )
    if envelope is None:
        raise ServiceError(
            _("No envelope %(serial)s exists at your sites. Check the serial on the envelope.")
            % {"serial": serial or "-"}
        )
    _lock_stocks(envelope.site, envelope.stratum)
    envelope.refresh_from_db()
    if envelope.state == EnvelopeState.ISSUED:
        raise ServiceError(
            _(
                "Envelope %(serial)s is named for a participant. Record the envelope opened on "
                "that participant's confirmation page instead."
            )
            % {"serial": envelope.serial}
        )
    envelope = envelope_transition(envelope=envelope, to=state, user=user, reason=reason)
    stock = StratumStock.objects.filter(site=envelope.site, stratum=envelope.stratum).first()
    if stock is not None:
        _enqueue_stock_check(stock.pk, f"envelope:{envelope.pk}:{state}")
    logger.info("Envelope %s reported %s", envelope.serial, state)
    return envelope


def allocation_list_view_record(*, user: User, what: str) -> AllocationListView:
    return AllocationListView.objects.create(user=user, what=what[:200])


# --- randomising ---------------------------------------------------------------------------


def no_stock_message(site: Site, stratum: Stratum) -> str:
    """Said by the randomise page before the click and by the refusal after it."""
    return _(
        "No envelopes are left for site %(site)s in stratum %(stratum)s (%(label)s). "
        "Ask the coordinator to issue a new batch."
    ) % {"site": site.code, "stratum": stratum.code, "label": stratum.label}


@transaction.atomic
def participant_randomize(*, participant: Participant, user: User) -> Allocation:
    """Allocate the participant the lowest unused envelope of their site and stratum.

    Refuses (RandomisationRefused, with every reason in words) a participant already
    randomised, one with readiness blockers or an incomplete stratum, and a stratum out of
    stock. See the module docstring for why the locks are taken in this order.
    """
    from trial.participants.selectors import randomisation_blockers

    participant = (
        Participant.objects.select_for_update().select_related("site").get(pk=participant.pk)
    )
    existing = Allocation.objects.filter(participant=participant).select_related("envelope")
    if existing.exists():
        raise RandomisationRefused(
            [
                _("%(number)s is already randomised (envelope %(serial)s).")
                % {"number": participant.trial_number, "serial": existing[0].envelope.serial}
            ],
            code="already_randomised",
        )
    reasons = list(randomisation_blockers(participant))
    stratum, stratum_reasons = participant_stratum_check(participant)
    reasons += stratum_reasons
    if reasons:
        raise RandomisationRefused(reasons)
    assert stratum is not None

    no_stock = RandomisationRefused([no_stock_message(participant.site, stratum)], code="no_stock")
    stock = (
        StratumStock.objects.select_for_update()
        .filter(site=participant.site, stratum=stratum.code)
        .first()
    )
    if stock is None:
        raise no_stock
    envelope = (
        selectors.sealed_envelopes(participant.site, stratum.code).order_by("sequence").first()
    )
    if envelope is None:
        raise no_stock

    now = timezone.now()
    envelope = envelope_transition(
        envelope=envelope,
        to=EnvelopeState.ISSUED,
        user=user,
        reason=f"named for {participant.trial_number}",
        participant=participant,
    )
    allocation = Allocation(
        participant=participant,
        envelope=envelope,
        named_envelope=envelope,
        arm=envelope.arm,
        stratum=stratum.code,
        randomised_at=now,
        randomised_by=user,
    )
    audited_save(allocation, user=user)
    participant.status = ParticipantStatus.RANDOMISED
    audited_save(
        participant,
        user=user,
        reason=f"randomised: envelope {envelope.serial}",
    )
    logger.info("%s randomised with envelope %s", participant.trial_number, envelope.serial)
    _enqueue_stock_check(stock.pk, f"allocation:{allocation.pk}")
    return allocation


def _enqueue_stock_check(stock_id: int, event: str) -> None:
    from trial.outbox.services import task_enqueue

    # One check per event that takes an envelope out of the stock (randomisation, report).
    task_enqueue(
        name=ENVELOPE_STOCK_CHECK_TASK,
        args=[stock_id],
        dedup_key=f"{ENVELOPE_STOCK_CHECK_TASK}:{event}",
    )


@transaction.atomic
def allocation_confirm(
    *,
    allocation: Allocation,
    user: User,
    serial: str,
    arm: str,
    named_still_sealed: bool = False,
) -> Allocation:
    """Record the envelope the clinician opened and the arm read on its card.

    The envelope opened is the one consumed: opened, held by the participant, with the arm
    read on its card, never issued again. When it is not the envelope the system named, the
    named one goes back to sealed if the clinician confirms it is still sealed, and is spoiled
    otherwise (someone must look at it); a deviation links both envelopes. The allocation
    that stands is the arm read on the card (what the participant was told) until the
    coordinator decides otherwise (``deviation_decide_arm``); a card arm that differs from
    the arm of the envelope opened is a second deviation.

    A deviation's description never names the arm of the named envelope: it may be sealed
    again, and its arm is still concealed.
    """
    allocation = (
        Allocation.objects.select_for_update()
        .select_related("envelope", "participant", "participant__site")
        .get(pk=allocation.pk)
    )
    if allocation.is_confirmed:
        raise ServiceError(_("This envelope has already been confirmed."))
    if arm not in Arm.values:
        raise ServiceError(_("Choose the arm printed on the card."))
    serial = serial.strip().upper()
    participant = allocation.participant
    named = allocation.envelope
    number = participant.trial_number
    if serial == named.serial:
        opened = envelope_transition(
            envelope=named,
            to=EnvelopeState.OPENED,
            user=user,
            reason=f"opened for {number}",
            participant=participant,
            card_arm=arm,
        )
    else:
        candidate = Envelope.objects.filter(serial=serial, site=participant.site).first()
        if candidate is None:
            raise ServiceError(
                _(
                    "No envelope %(serial)s exists at this site. Check the serial printed on "
                    "the envelope you opened."
                )
                % {"serial": serial or "-"}
            )
        _lock_stocks(participant.site, named.stratum, candidate.stratum)
        candidate.refresh_from_db()
        if EnvelopeState.OPENED not in ENVELOPE_TRANSITIONS[candidate.state]:
            raise ServiceError(
                _(
                    "Envelope %(serial)s is recorded as %(state)s, so it cannot be recorded as "
                    "opened for this participant. Call the coordinator."
                )
                % {"serial": candidate.serial, "state": candidate.get_state_display()}
            )
        if named_still_sealed:
            envelope_transition(
                envelope=named,
                to=EnvelopeState.SEALED,
                user=user,
                reason=f"named for {number}; {serial} was opened instead; confirmed still sealed",
            )
        else:
            envelope_transition(
                envelope=named,
                to=EnvelopeState.SPOILED,
                user=user,
                reason=(
                    f"named for {number}; {serial} was opened instead; not confirmed still "
                    "sealed, to be checked"
                ),
            )
        opened = envelope_transition(
            envelope=candidate,
            to=EnvelopeState.OPENED,
            user=user,
            reason=f"opened for {number} instead of {named.serial}",
            participant=participant,
            card_arm=arm,
        )
        allocation.envelope = opened
    wrong_envelope = opened.pk != named.pk
    card_differs = opened.card_arm_differs
    allocation.arm = arm
    allocation.confirmed_serial = serial
    allocation.confirmed_arm = arm
    allocation.confirmed_at = timezone.now()
    allocation.confirmed_by = user
    allocation.mismatch = wrong_envelope or card_differs
    audited_save(
        allocation,
        user=user,
        reason="envelope confirmed"
        + (f"; {serial} opened instead of {named.serial}" if wrong_envelope else ""),
        validate=False,
    )
    deviations = []
    if wrong_envelope:
        deviations.append(
            deviation_build(
                participant=participant,
                kind=DeviationKind.WRONG_ENVELOPE,
                key="wrong_envelope_returned" if named_still_sealed else "wrong_envelope_spoiled",
                params={"named": named.serial, "opened": opened.serial},
                user=user,
                named=named,
                opened=opened,
            )
        )
    if card_differs:
        deviations.append(
            deviation_build(
                participant=participant,
                kind=DeviationKind.CARD_ARM_MISMATCH,
                key="card_arm_mismatch",
                params={"opened": opened.serial, "card_arm": arm, "envelope_arm": opened.arm},
                user=user,
                named=named,
                opened=opened,
            )
        )
    for deviation in deviations:
        audited_save(deviation, user=user)
        _enqueue_deviation_notice(deviation.pk)
    schedule_anchor_recorded(participant=allocation.participant, anchor="randomisation", user=user)
    return allocation


def deviation_build(
    *,
    participant: Participant,
    kind: str,
    key: str,
    params: dict,
    user: User,
    named: Envelope | None = None,
    opened: Envelope | None = None,
) -> ProtocolDeviation:
    """A deviation stored as facts (a message key and its parameters), so every reader gets
    its sentence in their own language; ``description`` keeps an English copy. Not saved."""
    return ProtocolDeviation(
        participant=participant,
        kind=kind,
        message_key=key,
        message_params=params,
        description=deviation_stored_text(key, params, arms=dict(Arm.choices)),
        reported_by=user,
        named_envelope=named,
        opened_envelope=opened,
    )


def _enqueue_deviation_notice(deviation_id: int) -> None:
    from trial.outbox.services import task_enqueue

    task_enqueue(name=DEVIATION_NOTIFY_TASK, args=[deviation_id])
