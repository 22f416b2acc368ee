"""The investigator's electronic signature of a participant's casebook, or of one visit of it
(21 CFR 11.50, 11.200).

A signature keeps what the signer saw and what it covered: the printed name, the UTC time, the
meaning as the exact sentence shown (and its language), and a manifest of the records signed
(model, id, latest history row, a hash of the recorded values), so that a later change to one
of them is detected and the signature marked as needing renewal, with which change it was.
Defined here, registered under the ``trial`` app label (re-exported from trial/models.py).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class SignatureState(models.TextChoices):
    VALID = "valid", _("Valid")
    NEEDS_RENEWAL = "needs_renewal", _("Needs renewal")
    # Signed again since: the newer signature of the same scope stands.
    SUPERSEDED = "superseded", _("Superseded")


class SignatureMeaning(models.TextChoices):
    CASEBOOK_REVIEWED = "casebook_reviewed", _("Casebook reviewed, accurate and complete")
    VISIT_REVIEWED = "visit_reviewed", _("Visit reviewed, accurate and complete")


class Signature(models.Model):
    participant = models.ForeignKey(
        "trial.Participant",
        on_delete=models.PROTECT,
        related_name="signatures",
        verbose_name=_("participant"),
    )
    # Empty: the whole casebook; else the code of the one visit signed.
    visit_code = models.CharField(_("visit"), max_length=16, blank=True)
    signer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("signed by"),
    )
    # The printed name as it was when signing (11.50(a)(1)), whatever the account is called later.
    signer_name = models.CharField(_("name of the signer"), max_length=300)
    signed_at = models.DateTimeField(_("signed at (UTC)"))
    meaning_code = models.CharField(_("meaning"), max_length=32, choices=SignatureMeaning.choices)
    meaning_text = models.TextField(_("meaning as shown"))
    meaning_language = models.CharField(_("language shown"), max_length=8)
    # [{"model": "trial.Consent", "id": 3, "history_id": 17, "hash": "<sha256>"}, ...]
    manifest = models.JSONField(_("records signed"), default=list)
    manifest_hash = models.CharField(_("hash of the records signed"), max_length=64)
    state = models.CharField(
        _("state"), max_length=16, choices=SignatureState.choices, default=SignatureState.VALID
    )
    # The change that made a renewal necessary: which record, who, when, why.
    renewal_model = models.CharField(_("changed form"), max_length=100, blank=True)
    renewal_record_id = models.CharField(_("changed record"), max_length=40, blank=True)
    renewal_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )
    renewal_at = models.DateTimeField(_("changed at"), null=True, blank=True)
    renewal_reason = models.TextField(_("reason for the change"), blank=True)
    # When the signer was e-mailed about it; set once, by the task that sends it.
    renewal_notified_at = models.DateTimeField(_("signer told"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        app_label = "trial"
        verbose_name = _("signature")
        verbose_name_plural = _("signatures")
        ordering = ["-signed_at", "-id"]
        indexes = [models.Index(fields=["participant", "state"], name="signature_participant")]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["valid", "needs_renewal", "superseded"]),
                name="signature_state_known",
            ),
            # One standing (not superseded) signature per participant and scope.
            models.UniqueConstraint(
                fields=["participant", "visit_code"],
                condition=~Q(state="superseded"),
                name="signature_one_standing_per_scope",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant_id} {self.visit_code or 'casebook'} {self.signed_at:%Y-%m-%d}"

    @property
    def is_casebook(self) -> bool:
        return not self.visit_code
