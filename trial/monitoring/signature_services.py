"""Writes of the investigator's signatures: signing a casebook (or one visit of it), marking a
signature as needing renewal when signed data changes, and telling the signer.

The signer's identity is proved by the page (password again, and the second factor's code
when the account has one: ``trial.monitoring.signature_views``); here the signature is
recorded with what it covers, and a new signature of the same scope supersedes the old one.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from trial import access
from trial.audit import audited_save, audited_update
from trial.models import Participant
from trial.monitoring import items as catalogue
from trial.monitoring.checks import participant_id_of
from trial.monitoring.signature_models import Signature, SignatureMeaning, SignatureState
from trial.monitoring.signatures import form_label, manifest_build, manifest_hash, values_hash
from trial.protocol.visits import visit_codes

logger = logging.getLogger(__name__)

SIGNATURE_RENEWAL_NOTIFY_TASK = "trial.signature_renewal_notify"


def signature_meaning(visit_code: str = "") -> tuple[str, str]:
    """The meaning of the signature (its code, and the sentence in the active language)."""
    if visit_code:
        return SignatureMeaning.VISIT_REVIEWED, _(
            "I confirm that I have reviewed the data of visit %(visit)s of this casebook and "
            "that it is accurate and complete to the best of my knowledge."
        ) % {"visit": visit_code}
    return SignatureMeaning.CASEBOOK_REVIEWED, _(
        "I confirm that I have reviewed the data of this casebook and that it is accurate and "
        "complete to the best of my knowledge."
    )


def signature_scope_check(visit_code: str) -> None:
    if visit_code and visit_code not in visit_codes():
        raise ValidationError(
            _("%(visit)s is not a visit of the schedule.") % {"visit": visit_code},
            code="unknown_visit",
        )


@transaction.atomic
def signature_sign(*, participant: Participant, user, visit_code: str = "") -> Signature:
    """Sign ``participant``'s casebook (or visit ``visit_code`` of it) as ``user``, with the
    meaning shown in the active language; the signature that stood for the scope before is
    superseded. Call it only after the signer has proved who they are."""
    if not access.can(user, "trial:signature_sign", participant):
        raise ValidationError(
            _("Only a hematologist of the participant's site signs the casebook."),
            code="not_signer",
        )
    signature_scope_check(visit_code)
    # One signing of a participant at a time: the manifest and the signature agree.
    Participant.objects.select_for_update().filter(pk=participant.pk).first()
    manifest = manifest_build(participant, visit_code)
    if not manifest:
        raise ValidationError(
            _("Nothing is recorded in this scope yet, so there is nothing to sign."),
            code="nothing_to_sign",
        )
    for old in (
        Signature.objects.select_for_update()
        .filter(participant=participant, visit_code=visit_code)
        .exclude(state=SignatureState.SUPERSEDED)
    ):
        old.state = SignatureState.SUPERSEDED
        audited_save(old, user=user, reason="signed again", update_fields=["state"])
    code, text = signature_meaning(visit_code)
    return audited_save(
        Signature(
            participant=participant,
            visit_code=visit_code,
            signer=user,
            signer_name=user.get_full_name() or user.username,
            signed_at=timezone.now(),
            meaning_code=code,
            meaning_text=text,
            meaning_language=translation.get_language() or settings.LANGUAGE_CODE,
            manifest=manifest,
            manifest_hash=manifest_hash(manifest),
        ),
        user=user,
    )


def signatures_after_save(instance) -> None:
    """A data-saved hook (``trial.registry``): a record of a valid signature's scope saved with
    other values than were signed (or a record added to the scope) marks the signature as
    needing renewal, with which change it was, in the save's transaction, and queues the
    e-mail to the signer. A save that leaves the recorded values alone changes nothing."""
    source = catalogue.source_for(instance._meta.label)
    if source is None:
        return
    participant_id = participant_id_of(instance, source.participant_path)
    if participant_id is None:
        return
    signatures = list(
        Signature.objects.select_for_update().filter(
            participant_id=participant_id, state=SignatureState.VALID
        )
    )
    if not signatures:
        return
    # The values as stored: what the instance holds may not be converted yet.
    row = source.model._default_manager.filter(pk=instance.pk).first()
    if row is None:
        return
    visit_code = catalogue.row_visit_code(source, row)
    digest = values_hash(row)
    for signature in signatures:
        if signature.visit_code and signature.visit_code != visit_code:
            continue  # another visit's signature
        signed = next(
            (
                entry["hash"]
                for entry in signature.manifest
                if entry["model"] == source.model_label and entry["id"] == row.pk
            ),
            None,
        )
        if signed == digest:
            continue
        signature_needs_renewal(
            signature=signature,
            model_label=source.model_label,
            record_id=row.pk,
            changed_by=getattr(instance, "_history_user", None),
            reason=(getattr(instance, "_change_reason", "") or "").strip(),
        )


def signatures_before_delete(instance) -> None:
    """A data-deleted hook: deleting a record that a valid signature covers (it is in the
    signed manifest) marks the signature as needing renewal, as a change would."""
    source = catalogue.source_for(instance._meta.label)
    if source is None or instance.pk is None:
        return
    participant_id = participant_id_of(instance, source.participant_path)
    if participant_id is None:
        return
    signed = [
        signature
        for signature in Signature.objects.select_for_update().filter(
            participant_id=participant_id, state=SignatureState.VALID
        )
        if any(
            entry["model"] == source.model_label and entry["id"] == instance.pk
            for entry in signature.manifest
        )
    ]
    reason = (getattr(instance, "_change_reason", "") or "").strip()
    for signature in signed:
        signature_needs_renewal(
            signature=signature,
            model_label=source.model_label,
            record_id=instance.pk,
            changed_by=getattr(instance, "_history_user", None),
            reason=_("deleted: %(reason)s") % {"reason": reason} if reason else _("deleted"),
        )


def signature_needs_renewal(
    *, signature: Signature, model_label: str, record_id, changed_by, reason: str = ""
) -> Signature:
    """Mark ``signature`` as needing renewal because of a change to that record; the signer is
    e-mailed through the outbox (the job is written with the change, so it is never lost)."""
    from trial.outbox.services import task_enqueue

    signature.state = SignatureState.NEEDS_RENEWAL
    signature.renewal_model = model_label
    signature.renewal_record_id = str(record_id)
    signature.renewal_by = changed_by if getattr(changed_by, "pk", None) else None
    signature.renewal_at = timezone.now()
    signature.renewal_reason = reason
    audited_save(
        signature,
        user=None,
        reason=f"signed data changed after signing: {model_label} #{record_id}",
        update_fields=[
            "state",
            "renewal_model",
            "renewal_record_id",
            "renewal_by",
            "renewal_at",
            "renewal_reason",
        ],
        validate=False,
    )
    task_enqueue(name=SIGNATURE_RENEWAL_NOTIFY_TASK, args=[signature.pk])
    return signature


def _renewal_message(signature: Signature) -> tuple[str, str]:
    """Subject and body: trial number, site code and form only, never a name or CPR."""
    number = signature.participant.trial_number
    scope = (
        _("visit %(visit)s of the casebook") % {"visit": signature.visit_code}
        if signature.visit_code
        else _("the casebook")
    )
    subject = _("VERTEBRA: sign %(scope)s of %(number)s again") % {
        "scope": scope,
        "number": number,
    }
    url = reverse("trial:signature_sign", kwargs={"trial_number": number})
    if signature.visit_code:
        url += f"?visit={signature.visit_code}"
    body = _(
        "Data you signed has changed since you signed it, so your signature needs renewal.\n\n"
        "Participant: %(number)s (site %(site)s)\n"
        "Signed: %(scope)s, %(signed)s UTC\n"
        "Changed: %(form)s, record %(record)s, %(changed)s UTC\n\n"
        "Review the change and sign again: %(url)s"
    ) % {
        "number": number,
        "site": signature.participant.site.code,
        "scope": scope,
        "signed": signature.signed_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M"),
        "form": form_label(signature.renewal_model),
        "record": signature.renewal_record_id,
        "changed": signature.renewal_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")
        if signature.renewal_at
        else "-",
        "url": settings.SITE_URL.rstrip("/") + url,
    }
    return subject, body


def signature_renewal_notify(*, signature_id: int) -> bool:
    """E-mail the signer that their signature needs renewal, exactly once: claimed by a
    conditional update of ``renewal_notified_at`` (audited), undone with the transaction when
    sending fails, so the task's retry sends it."""
    with transaction.atomic():
        claimed = audited_update(
            Signature.objects.filter(
                pk=signature_id,
                state=SignatureState.NEEDS_RENEWAL,
                renewal_notified_at__isnull=True,
            ),
            user=None,
            reason="signer e-mailed that the signature needs renewal",
            renewal_notified_at=timezone.now(),
        )
        if claimed != 1:
            return False
        signature = Signature.objects.select_related("participant__site", "signer").get(
            pk=signature_id
        )
        if not signature.signer.email:
            logger.warning("Signature %s needs renewal but its signer has no e-mail", signature_id)
            return False
        with translation.override(settings.LANGUAGE_CODE):
            subject, body = _renewal_message(signature)
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [signature.signer.email])
        return True
