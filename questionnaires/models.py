"""What the questionnaires app stores: responses, personal links and clinic-tablet sessions.

Tokens of links and tablet sessions are stored only as SHA-256 hashes (questionnaires/tokens.py);
whoever holds the database cannot open a patient's questionnaire. Business rules live in
services.py; the models say what is stored and which invariants the database enforces.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from trial.models import Participant


class Mode(models.TextChoices):
    LINK = "link", _("Personal link")
    TABLET = "tablet", _("Clinic tablet")
    PHONE = "phone", _("By phone with the nurse")
    PAPER = "paper", _("Paper form")


class ResponseStatus(models.TextChoices):
    DRAFT = "draft", _("In progress")
    SUBMITTED = "submitted", _("Submitted")


class SentVia(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("Text message")
    LETTER = "letter", _("Printed letter")


class QuestionnaireResponse(models.Model):
    """One participant's answers to one instrument at one visit (draft until submitted)."""

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="questionnaire_responses"
    )
    visit_code = models.CharField(_("visit"), max_length=10)
    instrument_code = models.CharField(_("instrument"), max_length=20)
    instrument_version = models.CharField(_("instrument version"), max_length=20)
    mode = models.CharField(_("mode"), max_length=10, choices=Mode.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=ResponseStatus.choices, default=ResponseStatus.DRAFT
    )
    # Item code -> integer; an item the patient did not answer is absent or null, never guessed.
    answers = models.JSONField(_("answers"), default=dict, blank=True)
    # Computed by questionnaires.scoring at submission and at each correction; decimals as text.
    scores = models.JSONField(_("scores"), default=dict, blank=True)
    language = models.CharField(_("language"), max_length=8, default="da")
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("entered by"),
        help_text=_(
            "The member of staff who entered the answers (phone, paper); empty when the "
            "patient filled the form."
        ),
    )

    # Submitted outside the visit's window (trial.protocol.windows): confirmed by the member of
    # staff who entered it, or noted by itself when the patient answered late.
    out_of_window = models.BooleanField(_("out of window"), default=False)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("questionnaire response")
        verbose_name_plural = _("questionnaire responses")
        ordering = ["participant", "visit_code", "instrument_code"]
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "visit_code", "instrument_code"],
                name="questionnaire_response_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(status="draft") | models.Q(submitted_at__isnull=False),
                name="questionnaire_response_submitted_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant_id} {self.visit_code} {self.instrument_code} ({self.status})"

    @property
    def is_submitted(self) -> bool:
        return self.status == ResponseStatus.SUBMITTED


class QuestionnaireLink(models.Model):
    """A personal link for one participant and one visit; the token itself is never stored.

    A link sent by e-mail or text message gets its token when it is created, in the request's
    transaction; until the delivery task has sent it, only a seed is kept from which the task
    re-derives the token (tokens.token_from_seed), and the seed is erased once sent, so the
    token then exists nowhere but in the message. A reminder is a new link (``reminder_of``)
    to the same visit, because the first token cannot be recovered.
    """

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="questionnaire_links"
    )
    visit_code = models.CharField(_("visit"), max_length=10)
    # Unique so that a token opens one link. Null only on links made before tokens were
    # minted in the request (their delivery mints one).
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    # The seed of the token of a link awaiting delivery; empty once sent (see the docstring).
    delivery_seed = models.CharField(max_length=64, blank=True, default="", editable=False)
    sent_via = models.CharField(_("sent by"), max_length=10, choices=SentVia.choices)
    language = models.CharField(_("language"), max_length=8, default="da")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    expires_at = models.DateTimeField(_("expires"))
    # The last day of the visit's window (empty for baseline): the reminder goes before it.
    window_closes = models.DateField(_("window closes"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    first_opened_at = models.DateTimeField(_("first opened"), null=True, blank=True)
    reminder_sent_at = models.DateTimeField(_("reminder sent"), null=True, blank=True)
    reminder_of = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reminders"
    )

    history = HistoricalRecords(excluded_fields=["token_hash", "delivery_seed"])

    class Meta:
        verbose_name = _("questionnaire link")
        verbose_name_plural = _("questionnaire links")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["participant", "visit_code"])]

    def __str__(self) -> str:
        return f"{self.participant_id} {self.visit_code} ({self.sent_via})"


class TabletSession(models.Model):
    """A clinic-tablet session a member of staff started for one participant and visit.

    The browser holds the token in its session; leaving needs a member of staff's password.
    """

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="tablet_sessions"
    )
    visit_code = models.CharField(_("visit"), max_length=10)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("started by"),
    )
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("ended by"),
    )
    # Touched by every request of the tablet (not audited: it is not clinical data); a session
    # idle for QUESTIONNAIRE_TABLET_IDLE_MINUTES ends by itself.
    last_activity_at = models.DateTimeField(_("last activity"), null=True, blank=True)
    ended_idle = models.BooleanField(_("ended after being left idle"), default=False)

    history = HistoricalRecords(excluded_fields=["token_hash", "last_activity_at"])

    class Meta:
        verbose_name = _("tablet session")
        verbose_name_plural = _("tablet sessions")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.participant_id} {self.visit_code} tablet"
