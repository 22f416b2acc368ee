"""Sealed-envelope randomisation: batches of envelopes, allocations, deviations, access logs.

The database itself guarantees what must never happen even through a bug: a serial is unique,
a sequence number is unique within its site and stratum, an envelope goes to at most one
participant and a participant gets at most one envelope and one allocation.

Every physical envelope has a state (EnvelopeState); services.envelope_transition is the one
place that changes it. Envelopes carry django-simple-history without their arm: a history row
with the arm would copy the allocation of every unused envelope into the audit trail, which
central readers browse, while the state, who changed it and why must be on the trail.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from randomization import blocks
from randomization.deviation_text import deviation_sentence
from randomization.strata import stratum_choices
from trial.models import Participant, Site, User


class Arm(models.TextChoices):
    PVP = blocks.PVP, _("PVP (vertebroplasty plus usual care)")
    CONSERVATIVE = blocks.CONSERVATIVE, _("Conservative (usual care)")


class StratumStock(models.Model):
    """One row per site and stratum that has ever had envelopes.

    It is the lock that serialises randomisation within a site and stratum (the protocol:
    "not possible to randomise more than one patient at a time"), the counter that batches
    continue from, and the memory of whether the coordinator was told the stock is low.
    """

    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, related_name="envelope_stocks", verbose_name=_("site")
    )
    stratum = models.CharField(_("stratum"), max_length=8, choices=stratum_choices())
    last_sequence = models.PositiveIntegerField(_("last envelope sequence issued"), default=0)
    low_stock_alerted_at = models.DateTimeField(
        _("coordinator told of low stock"), null=True, blank=True
    )

    class Meta:
        ordering = ["site__code", "stratum"]
        verbose_name = _("envelope stock")
        verbose_name_plural = _("envelope stocks")
        constraints = [
            models.UniqueConstraint(fields=["site", "stratum"], name="stock_site_stratum"),
        ]

    def __str__(self) -> str:
        return f"{self.site.code} {self.stratum}"


# The serial printed on an envelope; the model and the services that create envelopes share it.
def envelope_serial(site_code: str, stratum_code: str, sequence: int) -> str:
    """``AAR-A1N-007``: site, stratum, sequence within site and stratum (zero-padded)."""
    return f"{site_code}-{stratum_code}-{sequence:03d}"


class EnvelopeBatch(models.Model):
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, related_name="envelope_batches", verbose_name=_("site")
    )
    stratum = models.CharField(_("stratum"), max_length=8, choices=stratum_choices())
    size = models.PositiveIntegerField(_("number of envelopes"))
    block_sizes = models.JSONField(_("block sizes"), default=list)
    first_sequence = models.PositiveIntegerField(_("first sequence number"))
    note = models.TextField(_("note"), blank=True)
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["site__code", "stratum", "first_sequence"]
        verbose_name = _("envelope batch")
        verbose_name_plural = _("envelope batches")

    def __str__(self) -> str:
        return f"{self.site.code}-{self.stratum} #{self.pk}"

    @property
    def last_sequence(self) -> int:
        return self.first_sequence + self.size - 1

    def serial_range(self) -> str:
        first = envelope_serial(self.site.code, self.stratum, self.first_sequence)
        last = envelope_serial(self.site.code, self.stratum, self.last_sequence)
        return f"{first} – {last}"


class EnvelopeState(models.TextChoices):
    """The life of a physical envelope. Allowed moves: services.ENVELOPE_TRANSITIONS."""

    SEALED = "sealed", _("sealed")
    # Named by the system to a clinician for a participant, not yet confirmed opened.
    ISSUED = "issued", _("issued")
    OPENED = "opened", _("opened")
    # Opened or damaged by mistake, or not confirmed still sealed: never issued again.
    SPOILED = "spoiled", _("spoiled")
    MISSING = "missing", _("missing")


# States in which an envelope belongs to a participant (the database checks this).
HELD_STATES = (EnvelopeState.ISSUED, EnvelopeState.OPENED)


class Envelope(models.Model):
    batch = models.ForeignKey(EnvelopeBatch, on_delete=models.PROTECT, related_name="envelopes")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="envelopes")
    stratum = models.CharField(_("stratum"), max_length=8, choices=stratum_choices())
    sequence = models.PositiveIntegerField(_("sequence in site and stratum"))
    serial = models.CharField(_("serial"), max_length=24, unique=True)
    arm = models.CharField(_("arm"), max_length=20, choices=Arm.choices)
    block_number = models.PositiveIntegerField(_("block in batch"))
    block_size = models.PositiveSmallIntegerField(_("block size"))
    position_in_block = models.PositiveSmallIntegerField(_("position in block"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    participant = models.OneToOneField(
        Participant,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="envelope",
        verbose_name=_("participant"),
    )
    state = models.CharField(
        _("state"),
        max_length=10,
        choices=EnvelopeState.choices,
        default=EnvelopeState.SEALED,
        db_index=True,
    )
    # The arm the clinician read on the card when the envelope was opened.
    card_arm = models.CharField(
        _("arm read on the card"), max_length=20, choices=Arm.choices, blank=True
    )
    state_changed_at = models.DateTimeField(_("state changed"), null=True, blank=True)
    state_changed_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    state_reason = models.TextField(_("reason"), blank=True)

    history = HistoricalRecords(excluded_fields=["arm"])

    class Meta:
        ordering = ["site__code", "stratum", "sequence"]
        verbose_name = _("envelope")
        verbose_name_plural = _("envelopes")
        constraints = [
            models.UniqueConstraint(
                fields=["site", "stratum", "sequence"], name="envelope_site_stratum_sequence"
            ),
            models.CheckConstraint(
                condition=models.Q(participant__isnull=True, used_at__isnull=True)
                | models.Q(participant__isnull=False, used_at__isnull=False),
                name="envelope_used_with_participant",
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=EnvelopeState.values),
                name="envelope_state_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=HELD_STATES, participant__isnull=False)
                | (~models.Q(state__in=HELD_STATES) & models.Q(participant__isnull=True)),
                name="envelope_held_iff_issued_or_opened",
            ),
            models.CheckConstraint(
                condition=models.Q(card_arm="")
                | models.Q(card_arm__in=[blocks.PVP, blocks.CONSERVATIVE]),
                name="envelope_card_arm_valid",
            ),
        ]
        indexes = [models.Index(fields=["site", "stratum", "participant"])]

    def __str__(self) -> str:
        return self.serial

    @property
    def is_used(self) -> bool:
        """Taken out of the stock: anything but sealed."""
        return self.state != EnvelopeState.SEALED

    @property
    def card_arm_differs(self) -> bool:
        return bool(self.card_arm) and self.card_arm != self.arm


class Allocation(models.Model):
    """The randomisation of one participant: which envelope, which arm, confirmed by whom."""

    participant = models.OneToOneField(
        Participant, on_delete=models.PROTECT, related_name="allocation"
    )
    # The envelope the participant's allocation comes from: the one opened for them.
    envelope = models.OneToOneField(Envelope, on_delete=models.PROTECT, related_name="allocation")
    # The envelope the system named; another one when the clinician opened a different one.
    named_envelope = models.ForeignKey(
        Envelope,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="named_for",
        verbose_name=_("envelope named"),
    )
    arm = models.CharField(_("arm"), max_length=20, choices=Arm.choices)
    stratum = models.CharField(_("stratum"), max_length=8, choices=stratum_choices())
    randomised_at = models.DateTimeField(_("randomised"))
    randomised_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("randomised by")
    )
    confirmed_serial = models.CharField(
        _("serial of the envelope opened"), max_length=24, blank=True
    )
    confirmed_arm = models.CharField(
        _("arm on the card"), max_length=20, choices=Arm.choices, blank=True
    )
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    mismatch = models.BooleanField(_("envelope did not match"), default=False)

    history = HistoricalRecords()

    class Meta:
        ordering = ["randomised_at"]
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")

    def __str__(self) -> str:
        return f"{self.participant.trial_number}: {self.envelope.serial}"

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None


class DeviationKind(models.TextChoices):
    # Recorded before envelopes had states; new deviations use the two kinds below.
    ENVELOPE_MISMATCH = "envelope_mismatch", _("Envelope opened does not match the allocation")
    WRONG_ENVELOPE = "wrong_envelope", _("Another envelope was opened than the one named")
    CARD_ARM_MISMATCH = "card_arm_mismatch", _("The arm read on the card differs from the envelope")
    # A correction after randomisation (trial.screening.corrections); the allocation stands.
    CORRECTION_CHANGES_STRATUM = (
        "correction_changes_stratum",
        _("A correction after randomisation changes the stratum"),
    )
    CORRECTION_MAKES_INELIGIBLE = (
        "correction_makes_ineligible",
        _("A correction after randomisation makes the participant ineligible"),
    )


class ProtocolDeviation(models.Model):
    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="protocol_deviations"
    )
    kind = models.CharField(_("kind"), max_length=30, choices=DeviationKind.choices)
    # A copy in English for readers outside the application; pages and e-mails render the
    # message key in the reader's language (randomization.deviation_text). Rows without a key
    # (older ones, free text) show this text as stored.
    description = models.TextField(_("description"))
    message_key = models.CharField(_("message"), max_length=40, blank=True, default="")
    message_params = models.JSONField(_("message details"), default=dict, blank=True)
    reported_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    reported_at = models.DateTimeField(_("reported"), auto_now_add=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    acknowledgement_note = models.TextField(_("coordinator's note"), blank=True)
    named_envelope = models.ForeignKey(
        Envelope,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("envelope named"),
    )
    opened_envelope = models.ForeignKey(
        Envelope,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("envelope opened"),
    )
    # The coordinator's decision of the arm that stands, when it is not the one on the card.
    decided_arm = models.CharField(
        _("arm decided by the coordinator"), max_length=20, choices=Arm.choices, blank=True
    )
    decision_reason = models.TextField(_("reason for the decision"), blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-reported_at"]
        verbose_name = _("protocol deviation")
        verbose_name_plural = _("protocol deviations")

    def __str__(self) -> str:
        return f"{self.participant.trial_number}: {self.get_kind_display()}"

    @property
    def sentence(self) -> str:
        """The description in the active language (the reader's)."""
        return deviation_sentence(
            self.message_key, self.message_params, arms=dict(Arm.choices), stored=self.description
        )


class AllocationListView(models.Model):
    """Each look at the allocation list (page or download): who, when, what."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    viewed_at = models.DateTimeField(_("viewed"), auto_now_add=True)
    what = models.CharField(_("what"), max_length=200)

    class Meta:
        ordering = ["-viewed_at"]
        verbose_name = _("view of the allocation list")
        verbose_name_plural = _("views of the allocation list")

    def __str__(self) -> str:
        return f"{self.user} {self.viewed_at:%Y-%m-%d %H:%M} {self.what}"


class PrintStatus(models.TextChoices):
    PENDING = "pending", _("Being prepared")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


class BatchPrint(models.Model):
    """Each generation of a batch's PDF (the only document that carries unused arms).

    A 200-envelope batch takes tens of seconds to lay out, so the PDF is rendered by a Celery
    task into a private file (RANDOMISATION_PDF_ROOT) and downloaded from the batch page.
    """

    batch = models.ForeignKey(EnvelopeBatch, on_delete=models.PROTECT, related_name="prints")
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    printed_at = models.DateTimeField(_("printed"), auto_now_add=True)
    language = models.CharField(_("language"), max_length=8, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=PrintStatus.choices, default=PrintStatus.PENDING
    )
    file_name = models.CharField(max_length=200, blank=True, editable=False)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    download_count = models.PositiveIntegerField(_("downloads"), default=0)
    last_downloaded_at = models.DateTimeField(_("last downloaded"), null=True, blank=True)

    class Meta:
        ordering = ["-printed_at"]
        verbose_name = _("batch print")
        verbose_name_plural = _("batch prints")

    def __str__(self) -> str:
        return f"{self.batch} {self.printed_at:%Y-%m-%d %H:%M}"
