"""Writes of the randomisation app. ``participant_randomize`` is the only way to allocate.

Locking, in one paragraph: a randomisation locks the participant row (so one participant is
never randomised twice, even by two requests at once), then the site-and-stratum's
StratumStock row, and only then looks for the lowest unused envelope. Every randomisation in
that site and stratum queues on the same stock row, so they run one after another and each
sees the envelopes its predecessors took: distinct envelopes, in serial order. Locking the
envelope row itself would not do: under READ COMMITTED a waiting ``SELECT ... FOR UPDATE``
re-checks the row it waited for, finds it used, and returns nothing, although later envelopes
exist. Batch generation takes the same stock lock, so sequence numbers never collide.
"""

from __future__ import annotations

import logging
import random
import secrets
from collections.abc import Sequence
from pathlib import Path

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from randomization import blocks
from randomization.models import (
    Allocation,
    AllocationListView,
    Arm,
    BatchPrint,
    DeviationKind,
    Envelope,
    EnvelopeBatch,
    PrintStatus,
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
from trial import access
from trial.audit import audited_save
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


class RandomisationRefused(ServiceError):
    """Randomisation is not possible now; ``messages`` says every reason, in words."""

    def __init__(self, messages: Sequence[str]) -> None:
        self.messages = [str(m) for m in messages]
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
    if _remaining(site.pk, stratum) >= settings.RANDOMISATION_STOCK_THRESHOLD:
        stock.low_stock_alerted_at = None
    stock.save(update_fields=["last_sequence", "low_stock_alerted_at"])
    logger.info("Envelope batch %s generated: %s envelopes", batch.pk, count)
    return batch


def _remaining(site_id: int, stratum: str) -> int:
    return Envelope.objects.filter(
        site_id=site_id, stratum=stratum, participant__isnull=True
    ).count()


@transaction.atomic
def batch_print_request(*, batch: EnvelopeBatch, user: User, language: str = "") -> BatchPrint:
    """Ask for a batch's PDF: logged at once (it is the one document showing unused arms) and
    rendered by a task after the commit; the batch page offers it when it is ready."""
    record = BatchPrint.objects.create(
        batch=batch, user=user, language=language or settings.LANGUAGE_CODE
    )
    _enqueue_batch_pdf(record.pk)
    return record


def _enqueue_batch_pdf(print_id: int) -> None:
    from randomization.tasks import batch_pdf_render
    from trial.outbox.services import task_enqueue

    task_enqueue(name=batch_pdf_render.name, args=[print_id])


def batch_pdf_path(record: BatchPrint) -> Path:
    return Path(str(settings.RANDOMISATION_PDF_ROOT)) / record.file_name


def batch_print_render(*, print_id: int) -> bool:
    """Render a requested batch PDF into a private file. Claimed by a conditional update, so
    a second run (a retried task) does nothing; a failure is recorded, not raised."""
    from randomization import pdf

    claimed = BatchPrint.objects.filter(
        pk=print_id, status=PrintStatus.PENDING, file_name=""
    ).update(file_name=f"batch-{print_id}-{secrets.token_hex(12)}.pdf")
    if claimed != 1:
        return False
    record = BatchPrint.objects.select_related("batch", "batch__site").get(pk=print_id)
    try:
        with translation.override(record.language or settings.LANGUAGE_CODE):
            data = pdf.batch_pdf(record.batch)
        path = batch_pdf_path(record)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(0o600)
    except Exception as exc:  # any failure becomes a visible status, not a lost task
        logger.exception("Batch PDF %s failed", print_id)
        BatchPrint.objects.filter(pk=print_id).update(
            status=PrintStatus.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        return False
    BatchPrint.objects.filter(pk=print_id).update(
        status=PrintStatus.READY, finished_at=timezone.now()
    )
    return True


def batch_print_downloaded(*, record: BatchPrint) -> None:
    BatchPrint.objects.filter(pk=record.pk).update(
        download_count=F("download_count") + 1, last_downloaded_at=timezone.now()
    )


def allocation_list_view_record(*, user: User, what: str) -> AllocationListView:
    return AllocationListView.objects.create(user=user, what=what[:200])


# --- randomising ---------------------------------------------------------------------------


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
            ]
        )
    reasons = list(randomisation_blockers(participant))
    stratum, stratum_reasons = participant_stratum_check(participant)
    reasons += stratum_reasons
    if reasons:
        raise RandomisationRefused(reasons)
    assert stratum is not None

    no_stock = RandomisationRefused(
        [
            _(
                "No envelopes are left for site %(site)s in stratum %(stratum)s (%(label)s). "
                "Ask the coordinator to issue a new batch."
            )
            % {"site": participant.site.code, "stratum": stratum.code, "label": stratum.label}
        ]
    )
    stock = (
        StratumStock.objects.select_for_update()
        .filter(site=participant.site, stratum=stratum.code)
        .first()
    )
    if stock is None:
        raise no_stock
    envelope = (
        Envelope.objects.filter(site=participant.site, stratum=stratum.code, participant=None)
        .order_by("sequence")
        .first()
    )
    if envelope is None:
        raise no_stock

    now = timezone.now()
    envelope.participant = participant
    envelope.used_at = now
    envelope.save(update_fields=["participant", "used_at"])
    allocation = Allocation(
        participant=participant,
        envelope=envelope,
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
    _enqueue_stock_check(stock.pk, allocation.pk)
    return allocation


def _enqueue_stock_check(stock_id: int, allocation_id: int) -> None:
    from randomization.tasks import envelope_stock_check
    from trial.outbox.services import task_enqueue

    # One check per randomisation (the stratum's stock is checked again after each one).
    task_enqueue(
        name=envelope_stock_check.name,
        args=[stock_id],
        dedup_key=f"{envelope_stock_check.name}:allocation:{allocation_id}",
    )


@transaction.atomic
def allocation_confirm(*, allocation: Allocation, user: User, serial: str, arm: str) -> Allocation:
    """Record the envelope the clinician opened and the arm on its card.

    A serial or arm that differs from the allocation is a protocol deviation: it is recorded
    and the coordinator is told. The allocation itself never changes (intention to treat).
    """
    allocation = (
        Allocation.objects.select_for_update()
        .select_related("envelope", "participant")
        .get(pk=allocation.pk)
    )
    if allocation.is_confirmed:
        raise ServiceError(_("This envelope has already been confirmed."))
    if arm not in Arm.values:
        raise ServiceError(_("Choose the arm printed on the card."))
    serial = serial.strip().upper()
    mismatch = serial != allocation.envelope.serial or arm != allocation.arm
    allocation.confirmed_serial = serial
    allocation.confirmed_arm = arm
    allocation.confirmed_at = timezone.now()
    allocation.confirmed_by = user
    allocation.mismatch = mismatch
    audited_save(allocation, user=user, reason="envelope confirmed")
    if mismatch:
        deviation = audited_save(
            ProtocolDeviation(
                participant=allocation.participant,
                kind=DeviationKind.ENVELOPE_MISMATCH,
                description=(
                    f"Expected envelope {allocation.envelope.serial} "
                    f"({allocation.get_arm_display()}); "
                    f"opened {serial or '-'} with a card showing {Arm(arm).label}."
                ),
                reported_by=user,
            ),
            user=user,
        )
        _enqueue_deviation_notice(deviation.pk)
    schedule_anchor_recorded(participant=allocation.participant, anchor="randomisation", user=user)
    return allocation


def _enqueue_deviation_notice(deviation_id: int) -> None:
    from randomization.tasks import deviation_notify
    from trial.outbox.services import task_enqueue

    task_enqueue(name=deviation_notify.name, args=[deviation_id])


# --- telling the coordinator ---------------------------------------------------------------


def coordinator_emails() -> list[str]:
    addresses = list(
        access.staff_for("notify_deviation").exclude(email="").values_list("email", flat=True)
    )
    for extra in settings.TRIAL_COORDINATOR_EMAILS:
        if extra not in addresses:
            addresses.append(extra)
    return addresses


def envelope_stock_alerts_send(*, stock_id: int | None = None) -> int:
    """E-mail the coordinator about each site and stratum whose stock fell below the threshold.

    Once per crossing: the alert is claimed with a conditional update on
    ``low_stock_alerted_at``, so running this twice (or in two workers) sends one e-mail; the
    mark is cleared when the stock is back at or above the threshold (a new batch).
    Returns the number of alerts sent.
    """
    threshold = settings.RANDOMISATION_STOCK_THRESHOLD
    stocks = StratumStock.objects.select_related("site")
    if stock_id is not None:
        stocks = stocks.filter(pk=stock_id)
    sent = 0
    for stock in stocks:
        remaining = _remaining(stock.site_id, stock.stratum)
        if remaining >= threshold:
            if stock.low_stock_alerted_at is not None:
                StratumStock.objects.filter(pk=stock.pk).update(low_stock_alerted_at=None)
            continue
        claimed = StratumStock.objects.filter(pk=stock.pk, low_stock_alerted_at=None).update(
            low_stock_alerted_at=timezone.now()
        )
        if claimed != 1:
            continue
        recipients = coordinator_emails()
        if not recipients:
            logger.warning("Low envelope stock %s but no coordinator address", stock)
            continue
        with translation.override(settings.LANGUAGE_CODE):
            subject = _("VERTEBRA: %(remaining)d envelopes left for %(site)s %(stratum)s") % {
                "remaining": remaining,
                "site": stock.site.code,
                "stratum": stock.stratum,
            }
            body = _(
                "Site %(site)s, stratum %(stratum)s (%(label)s) has %(remaining)d unused "
                "envelopes, fewer than %(threshold)d. Generate and send a new batch: "
                "%(url)s"
            ) % {
                "site": stock.site.code,
                "stratum": stock.stratum,
                "label": STRATA[stock.stratum].label,
                "remaining": remaining,
                "threshold": threshold,
                "url": settings.SITE_URL.rstrip("/") + "/randomisation/envelopes/",
            }
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
        sent += 1
    return sent


def deviation_notice_send(*, deviation_id: int) -> bool:
    deviation = (
        ProtocolDeviation.objects.select_related("participant").filter(pk=deviation_id).first()
    )
    recipients = coordinator_emails()
    if deviation is None or not recipients:
        return False
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("VERTEBRA: protocol deviation for %(number)s") % {
            "number": deviation.participant.trial_number
        }
        body = _("%(kind)s\n\n%(description)s\n\n%(url)s") % {
            "kind": deviation.get_kind_display(),
            "description": deviation.description,
            "url": settings.SITE_URL.rstrip("/") + deviation.participant.get_absolute_url(),
        }
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
    return True


@transaction.atomic
def deviation_acknowledge(
    *, deviation: ProtocolDeviation, user: User, note: str = ""
) -> ProtocolDeviation:
    """The coordinator has seen the deviation and says what was done about it (audited)."""
    deviation = ProtocolDeviation.objects.select_for_update().get(pk=deviation.pk)
    if deviation.acknowledged_at is not None:
        raise ServiceError(_("This deviation has already been acknowledged."))
    note = note.strip()
    if not note:
        raise ServiceError(_("Write a note saying what was done about the deviation."))
    deviation.acknowledged_at = timezone.now()
    deviation.acknowledged_by = user
    deviation.acknowledgement_note = note
    # The note itself is on the history row (a field of the deviation).
    audited_save(deviation, user=user, reason="acknowledged by the coordinator")
    return deviation
