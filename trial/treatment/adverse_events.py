"""Writes for adverse events: record and follow up, the coordinators' e-mail about a serious
one (sent once, after commit) and its acknowledgement.

Like the other treatment services (``trial.treatment.services``, whose helpers they share) they
lock the participant or the event, validate and save through ``trial.audit``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from trial import access
from trial.audit import audited_save, audited_update
from trial.concurrency import version_check
from trial.models import AdverseEvent, Participant, User
from trial.treatment.services import (
    TreatmentError,
    _full_clean_into,
    _locked,
    _not_before,
    randomised_on,
)

logger = logging.getLogger(__name__)


AE_FIELDS = (
    "description",
    "onset_date",
    "grade",
    "serious",
    "relation",
    "outcome",
    "resolved_on",
    # The serious event's report (ICH E2A); trial/treatment/sae_report.py has its rules.
    "seriousness_criteria",
    "hospital_admitted_on",
    "hospital_discharged_on",
    "expectedness",
    "relation_disease",
    "site_aware_at",
)


def adverse_event_refusal(participant: Participant) -> str | None:
    if randomised_on(participant) is None:
        return _(
            "%(number)s is not randomised; adverse events are recorded from randomisation on."
        ) % {"number": participant.trial_number}
    return None


# The Celery name of trial.treatment.tasks.sae_notify. The services enqueue by name, so that
# they need not import the task module (which imports them).
SAE_NOTIFY_TASK = "trial.sae_notify"


def _enqueue_sae_notice(event: AdverseEvent) -> None:
    from trial.outbox.services import task_enqueue

    task_enqueue(name=SAE_NOTIFY_TASK, args=[event.pk])


def _ae_errors(participant: Participant, event: AdverseEvent) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    _not_before(
        errors,
        "onset_date",
        event.onset_date,
        randomised_on(participant),
        _("Adverse events are recorded from randomisation (%(date)s) on."),
    )
    return errors


@transaction.atomic
def adverse_event_record(*, participant: Participant, user: User, **values: Any) -> AdverseEvent:
    """Record an adverse event; a serious one e-mails the coordinators once it is committed."""
    participant = _locked(participant)
    refusal = adverse_event_refusal(participant)
    if refusal:
        raise TreatmentError(refusal)
    unknown = set(values) - set(AE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown adverse-event fields: {sorted(unknown)}")
    event = AdverseEvent(participant=participant, recorded_by=user, **values)
    event.description = event.description.strip()
    errors = _ae_errors(participant, event)
    _full_clean_into(event, errors)
    if errors:
        raise ValidationError(errors)
    audited_save(event, user=user)
    if event.serious:
        _enqueue_sae_notice(event)
    return event


@transaction.atomic
def adverse_event_update(
    *,
    event: AdverseEvent,
    user: User,
    reason: str,
    loaded_version: str | None = None,
    **values: Any,
) -> AdverseEvent:
    """Correct or follow up an adverse event (outcome, resolved date), with a reason. An event
    that becomes serious is notified like a new one."""
    unknown = set(values) - set(AE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown adverse-event fields: {sorted(unknown)}")
    event = AdverseEvent.objects.select_for_update().get(pk=event.pk)
    version_check(event, loaded_version)
    was_serious = event.serious
    for name, value in values.items():
        setattr(event, name, value.strip() if isinstance(value, str) else value)
    errors = _ae_errors(event.participant, event)
    _full_clean_into(event, errors)
    if errors:
        raise ValidationError(errors)
    audited_save(event, user=user, reason=reason)
    if event.serious and not was_serious:
        _enqueue_sae_notice(event)
    return event


def coordinator_emails() -> list[str]:
    addresses = list(
        access.staff_for("notify_sae")
        .exclude(email="")
        .order_by("id")
        .values_list("email", flat=True)
    )
    for extra in getattr(settings, "TRIAL_COORDINATOR_EMAILS", []):
        if extra not in addresses:
            addresses.append(extra)
    return addresses


def _hospital_text(event: AdverseEvent) -> str:
    if event.hospital_admitted_on is None:
        return _("no")
    if event.hospital_discharged_on is None:
        return _("admitted %(admitted)s, not yet discharged") % {
            "admitted": event.hospital_admitted_on.isoformat()
        }
    return _("admitted %(admitted)s, discharged %(discharged)s") % {
        "admitted": event.hospital_admitted_on.isoformat(),
        "discharged": event.hospital_discharged_on.isoformat(),
    }


def _sae_message(event: AdverseEvent) -> tuple[str, str]:
    """The notice's subject and body: trial number and site code, never identifying data."""
    number = event.participant.trial_number
    if event.is_susar:
        subject = _(
            "VERTEBRA: SUSAR (suspected unexpected serious adverse reaction) for %(number)s"
        ) % {"number": number}
        susar = _("SUSAR: the event is serious, related to the procedure and unexpected.\n\n")
    else:
        subject = _("VERTEBRA: serious adverse event for %(number)s") % {"number": number}
        susar = ""
    aware = event.site_aware_at
    body = _(
        "A serious adverse event was recorded.\n\n"
        "%(susar)s"
        "Participant: %(number)s (site %(site)s)\n"
        "Onset: %(onset)s\n"
        "Site aware: %(aware)s\n"
        "CTCAE grade: %(grade)s\n"
        "Seriousness criteria (ICH E2A): %(criteria)s\n"
        "Hospitalisation: %(hospital)s\n"
        "Relation to the procedure: %(relation)s\n"
        "Expectedness: %(expectedness)s\n"
        "Relation to multiple myeloma: %(relation_disease)s\n"
        "Outcome: %(outcome)s\n\n"
        "%(description)s\n\n"
        "Acknowledge it on the SAE list: %(url)s"
    ) % {
        "susar": susar,
        "number": number,
        "site": event.participant.site.code,
        "onset": event.onset_date.isoformat(),
        "aware": timezone.localtime(aware).strftime("%Y-%m-%d %H:%M") if aware else "-",
        "grade": event.get_grade_display(),
        "criteria": "; ".join(event.criteria_labels) or "-",
        "hospital": _hospital_text(event),
        "relation": event.get_relation_display(),
        "expectedness": event.get_expectedness_display() or "-",
        "relation_disease": event.get_relation_disease_display() or "-",
        "outcome": event.get_outcome_display(),
        "description": event.description,
        "url": settings.SITE_URL.rstrip("/") + reverse("trial:sae_list"),
    }
    return subject, body


def sae_notify(*, event_id: int) -> bool:
    """E-mail the coordinators about a serious adverse event, exactly once.

    The event is claimed by a conditional update of ``sae_notified_at``; a second run (a retry,
    a duplicate delivery) finds it claimed and sends nothing. Claim and send share a
    transaction: if sending fails the claim is undone and the task's retry sends it.
    """
    with transaction.atomic():
        # The notice is part of the event's trail: its history row says when it went out.
        claimed = audited_update(
            AdverseEvent.objects.filter(pk=event_id, serious=True, sae_notified_at__isnull=True),
            user=None,
            reason="serious adverse event notice e-mailed to the coordinator",
            sae_notified_at=timezone.now(),
        )
        if claimed != 1:
            return False
        event = AdverseEvent.objects.select_related("participant__site").get(pk=event_id)
        recipients = coordinator_emails()
        if not recipients:
            logger.warning("Serious adverse event %s but no coordinator address", event_id)
            return False
        with translation.override(settings.LANGUAGE_CODE):
            subject, body = _sae_message(event)
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
        return True


@transaction.atomic
def sae_acknowledge(*, event: AdverseEvent, user: User) -> AdverseEvent:
    """The coordinator has read the serious adverse event; recorded with who and when."""
    if not access.can(user, "sae_acknowledge"):
        raise TreatmentError(_("Only the coordinator acknowledges serious adverse events."))
    event = AdverseEvent.objects.select_for_update().get(pk=event.pk)
    if not event.serious:
        raise TreatmentError(_("Only serious adverse events are acknowledged."))
    if event.acknowledged_at is not None:
        raise TreatmentError(_("This serious adverse event is already acknowledged."))
    event.acknowledged_at = timezone.now()
    event.acknowledged_by = user
    # Stamps only, not re-checked: an SAE recorded before its E2A fields existed is still read.
    return audited_save(
        event,
        user=user,
        reason=_("Serious adverse event acknowledged."),
        update_fields=["acknowledged_at", "acknowledged_by"],
        validate=False,
    )
