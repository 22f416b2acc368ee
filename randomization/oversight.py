"""What the coordinator is told and decides: low envelope stock and protocol deviations by
e-mail, a deviation's acknowledgement, and the arm that stands after an envelope deviation.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from randomization import selectors
from randomization.models import (
    Allocation,
    Arm,
    DeviationKind,
    ProtocolDeviation,
    StratumStock,
)
from randomization.strata import (
    STRATA,
)
from trial import access
from trial.audit import ReasonRequired, audited_save, require_reason
from trial.errors import ServiceError
from trial.models import (
    User,
)

logger = logging.getLogger(__name__)


def coordinator_emails() -> list[str]:
    addresses = list(
        access.staff_for("notify_deviation").exclude(email="").values_list("email", flat=True)
    )
    for extra in settings.TRIAL_COORDINATOR_EMAILS:
        if extra not in addresses:
            addresses.append(extra)
    return addresses


def coordinator_recipients_by_language() -> dict[str, list[str]]:
    """The addresses of ``coordinator_emails``, grouped by the language each reads in: a
    user's own language where the account holds one, else the trial's default (also for the
    extra addresses of ``TRIAL_COORDINATOR_EMAILS``)."""
    default = settings.LANGUAGE_CODE
    by_address = {
        user.email: getattr(user, "language", "") or default
        for user in access.staff_for("notify_deviation").exclude(email="")
    }
    groups: dict[str, list[str]] = {}
    for address in coordinator_emails():
        groups.setdefault(by_address.get(address, default), []).append(address)
    return groups


def envelope_stock_alerts_send(*, stock_id: int | None = None) -> int:
    """E-mail the coordinator about each site and stratum whose stock fell below the threshold.

    Once per crossing: the alert is claimed with a conditional update on
    ``low_stock_alerted_at``, so running this twice (or in two workers) sends one e-mail; the
    mark is cleared when the stock is back at or above the threshold (a new batch). Claim and
    send share a transaction: when the mail server refuses, the claim is undone and the error
    reaches the caller (the task retries, the command fails), so the alert stays pending for
    the next run instead of being marked sent and lost. Returns the number of alerts sent.
    """
    threshold = settings.RANDOMISATION_STOCK_THRESHOLD
    stocks = StratumStock.objects.select_related("site")
    if stock_id is not None:
        stocks = stocks.filter(pk=stock_id)
    sent = 0
    for stock in stocks:
        remaining = selectors.sealed_envelopes_left(stock.site_id, stock.stratum)
        if remaining >= threshold:
            if stock.low_stock_alerted_at is not None:
                StratumStock.objects.filter(pk=stock.pk).update(low_stock_alerted_at=None)
            continue
        if _stock_alert_send(stock, remaining=remaining, threshold=threshold):
            sent += 1
    return sent


def _stock_alert_send(stock: StratumStock, *, remaining: int, threshold: int) -> bool:
    """Claim and send one stock alert in one transaction; False when already claimed. The
    claim's row lock is held until the mail is handed over, so a concurrent run waits and
    then finds it claimed."""
    with transaction.atomic():
        claimed = StratumStock.objects.filter(pk=stock.pk, low_stock_alerted_at=None).update(
            low_stock_alerted_at=timezone.now()
        )
        if claimed != 1:
            return False
        recipients = coordinator_emails()
        if not recipients:
            logger.warning("Low envelope stock %s but no coordinator address", stock)
            return False
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
    return True


def deviation_notice_send(*, deviation_id: int) -> bool:
    """E-mail the deviation to everyone told of deviations, each in their own language: the
    sentence is rendered from the deviation's facts, not copied from the recorder's words."""
    deviation = (
        ProtocolDeviation.objects.select_related("participant").filter(pk=deviation_id).first()
    )
    groups = coordinator_recipients_by_language()
    if deviation is None or not groups:
        return False
    for language, recipients in groups.items():
        with translation.override(language):
            subject = _("VERTEBRA: protocol deviation for %(number)s") % {
                "number": deviation.participant.trial_number
            }
            body = _("%(kind)s\n\n%(description)s\n\n%(url)s") % {
                "kind": deviation.get_kind_display(),
                "description": deviation.sentence,
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


DECIDABLE_KINDS = (
    DeviationKind.ENVELOPE_MISMATCH,
    DeviationKind.WRONG_ENVELOPE,
    DeviationKind.CARD_ARM_MISMATCH,
)


@transaction.atomic
def deviation_decide_arm(
    *, deviation: ProtocolDeviation, user: User, arm: str, reason: str
) -> Allocation:
    """The coordinator decides the arm that stands for the participant of an envelope
    deviation, when it is not the arm read on the card; audited with the reason on both the
    allocation and the deviation."""
    try:
        reason = require_reason(reason)
    except ReasonRequired as exc:
        raise ServiceError(exc.messages[0]) from None
    if arm not in Arm.values:
        raise ServiceError(_("Choose the arm that stands."))
    deviation = ProtocolDeviation.objects.select_for_update().get(pk=deviation.pk)
    if deviation.kind not in DECIDABLE_KINDS:
        raise ServiceError(_("This deviation is not about an envelope's arm."))
    if deviation.decided_at is not None:
        raise ServiceError(_("The arm for this deviation has already been decided."))
    allocation = (
        Allocation.objects.select_for_update().filter(participant=deviation.participant).first()
    )
    if allocation is None:
        raise ServiceError(_("The participant has no allocation."))
    previous = allocation.arm
    allocation.arm = arm
    audited_save(
        allocation,
        user=user,
        reason=f"arm decided by the coordinator ({previous} -> {arm}): {reason}",
        validate=False,
    )
    deviation.decided_arm = arm
    deviation.decision_reason = reason
    deviation.decided_at = timezone.now()
    deviation.decided_by = user
    audited_save(deviation, user=user, reason=f"arm decided by the coordinator: {reason}")
    return allocation
