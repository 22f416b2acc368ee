"""Queries (discrepancy notes): a question on one recorded item of a participant, and its thread.

A query points at its item by the model's label, the row's primary key and the field (a key
inside a JSON field is written ``field.key``); which items may be queried, and how they are
labelled, is declared once in ``trial.monitoring.items``. Defined here, registered under the
``trial`` app label (re-exported from trial/models.py).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class QueryState(models.TextChoices):
    OPEN = "open", _("Open")
    ANSWERED = "answered", _("Answered")
    CLOSED = "closed", _("Closed")


class QueryMessageKind(models.TextChoices):
    RAISED = "raised", _("Raised")
    ANSWERED = "answered", _("Answered")
    CORRECTED = "corrected", _("Value corrected")
    CLOSED = "closed", _("Closed")
    REOPENED = "reopened", _("Re-opened")


class Query(models.Model):
    participant = models.ForeignKey(
        "trial.Participant",
        on_delete=models.PROTECT,
        related_name="queries",
        verbose_name=_("participant"),
    )
    # The item: "trial.ScreeningForm", the row's pk as text, and "pain_onset_date" (or
    # "answers.odi_3" for one answer inside a JSON field).
    target_model = models.CharField(_("form"), max_length=100)
    target_id = models.CharField(_("record"), max_length=40)
    field_name = models.CharField(_("item"), max_length=100)
    visit_code = models.CharField(_("visit"), max_length=16, blank=True)
    # The edit check that opened the query; empty for a query raised by hand.
    rule_code = models.CharField(_("edit check"), max_length=64, blank=True)
    state = models.CharField(
        _("state"), max_length=10, choices=QueryState.choices, default=QueryState.OPEN
    )
    # What the item held when the query was raised, as it was shown then, and when a
    # correction was last noted on the thread (a save that leaves the item alone adds nothing).
    value_when_raised = models.TextField(_("value when raised"), blank=True)
    value_seen = models.TextField(_("value last seen"), blank=True)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("raised by"),
    )
    raised_at = models.DateTimeField(_("raised at"))
    state_changed_at = models.DateTimeField(_("state changed at"))
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("closed by"),
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("query")
        verbose_name_plural = _("queries")
        ordering = ["raised_at", "id"]
        indexes = [
            models.Index(fields=["state", "raised_at"], name="query_state_age"),
            models.Index(fields=["target_model", "target_id"], name="query_target"),
        ]
        constraints = [
            # An edit check never opens a second query on an item while one is not closed.
            models.UniqueConstraint(
                fields=["rule_code", "target_model", "target_id", "field_name"],
                condition=~Q(rule_code="") & ~Q(state="closed"),
                name="query_one_open_per_rule_and_item",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["open", "answered", "closed"]),
                name="query_state_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant_id} {self.target_model}:{self.target_id}:{self.field_name}"

    @property
    def item_key(self) -> str:
        return f"{self.target_model}:{self.target_id}:{self.field_name}"


class QueryMessage(models.Model):
    """One entry of a query's thread. Written once, never changed (the thread is the record)."""

    query = models.ForeignKey(
        Query, on_delete=models.CASCADE, related_name="messages", verbose_name=_("query")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=QueryMessageKind.choices)
    text = models.TextField(_("text"), blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("author"),
    )
    written_at = models.DateTimeField(_("written at"))

    class Meta:
        verbose_name = _("query message")
        verbose_name_plural = _("query messages")
        ordering = ["written_at", "id"]

    def __str__(self) -> str:
        return f"{self.query_id} {self.kind}"


class QueryDigest(models.Model):
    """One site's weekly e-mail of its queries not closed, sent once.

    The unique site and week is the claim's first half (the weekly run creates the row once,
    with its outbox job); the conditional update of ``claimed_at`` the second (of two workers
    given the same job, only one sends).
    """

    site = models.ForeignKey(
        "trial.Site", on_delete=models.PROTECT, related_name="+", verbose_name=_("site")
    )
    week_start = models.DateField(_("week starting"))
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    query_count = models.PositiveIntegerField(_("queries"), default=0)
    recipient_count = models.PositiveIntegerField(_("recipients"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("query digest")
        verbose_name_plural = _("query digests")
        ordering = ["-week_start", "site_id"]
        constraints = [
            models.UniqueConstraint(fields=["site", "week_start"], name="query_digest_once"),
        ]

    def __str__(self) -> str:
        return f"{self.site_id} {self.week_start.isoformat()}"


class SourceVerification(models.Model):
    """The monitor's mark that one form instance of a participant agrees with the source
    (the hospital record, the signed consent, the opened envelope).

    One instance is a form of ``trial.monitoring.sdv.SDV_FORMS`` (``form``), at a visit where
    the form is per visit, and the row it was verified on (``target_model``, ``target_id``).
    A later change to that row clears the mark (``cleared_*`` say when, by whom, and which row
    changed); the row stays, so the verification and its clearing are both on the record, and
    a new verification is a new row. Never deleted.
    """

    participant = models.ForeignKey(
        "trial.Participant",
        on_delete=models.PROTECT,
        related_name="source_verifications",
        verbose_name=_("participant"),
    )
    form = models.CharField(_("form"), max_length=24)
    visit_code = models.CharField(_("visit"), max_length=16, blank=True)
    target_model = models.CharField(_("record type"), max_length=100)
    target_id = models.CharField(_("record"), max_length=40)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("verified by"),
    )
    verified_at = models.DateTimeField(_("verified at"))
    cleared_at = models.DateTimeField(_("cleared at"), null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("cleared by the change of"),
    )
    # The row whose change cleared the mark ("trial.Consent", its pk) and the reason given.
    cleared_model = models.CharField(_("changed record type"), max_length=100, blank=True)
    cleared_object_id = models.CharField(_("changed record"), max_length=40, blank=True)
    cleared_reason = models.TextField(_("reason for the change"), blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("source-data verification")
        verbose_name_plural = _("source-data verifications")
        ordering = ["verified_at", "id"]
        indexes = [
            models.Index(fields=["target_model", "target_id"], name="sdv_target"),
        ]
        constraints = [
            # At most one standing verification of a form instance; cleared ones are kept.
            models.UniqueConstraint(
                fields=["participant", "form", "visit_code", "target_id"],
                condition=Q(cleared_at__isnull=True),
                name="sdv_one_standing_per_instance",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant_id} {self.form} {self.visit_code} {self.target_id}"

    @property
    def is_standing(self) -> bool:
        return self.cleared_at is None


class LockScope(models.TextChoices):
    PARTICIPANT = "participant", _("Participant")
    TRIAL = "trial", _("Whole trial (database lock)")


class DataLock(models.Model):
    """A lock on one participant's data, or (``participant`` empty) on the whole trial's: the
    database lock before analysis. One row per participant and one for the trial, kept when
    unlocked (who, when, why) and locked again in place; its history holds every turn.

    Nothing of a locked participant may change through any writer of trial.audit (the write
    guard in trial.monitoring.locks); the lock's own row is the only exception.
    """

    # The guard lets the lock's own row be written: it is what unlocks.
    LOCK_RECORD = True

    scope = models.CharField(_("scope"), max_length=12, choices=LockScope.choices)
    participant = models.OneToOneField(
        "trial.Participant",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="data_lock",
        verbose_name=_("participant"),
    )
    locked_at = models.DateTimeField(_("locked at"))
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("locked by"),
    )
    # Why it was locked though a condition was not met (empty when all were).
    reason = models.TextField(_("reason for locking"), blank=True)
    unmet_conditions = models.TextField(_("conditions not met when locked"), blank=True)
    unlocked_at = models.DateTimeField(_("unlocked at"), null=True, blank=True)
    unlocked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("unlocked by"),
    )
    unlock_reason = models.TextField(_("reason for unlocking"), blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("data lock")
        verbose_name_plural = _("data locks")
        constraints = [
            models.CheckConstraint(
                condition=(Q(scope="participant") & Q(participant__isnull=False))
                | (Q(scope="trial") & Q(participant__isnull=True)),
                name="data_lock_scope_matches_participant",
            ),
            # One row for the trial's lock (each participant has one through the one-to-one).
            models.UniqueConstraint(
                fields=["scope"], condition=Q(scope="trial"), name="data_lock_one_trial_row"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.participant_id or ''}".strip()

    @property
    def active(self) -> bool:
        return self.unlocked_at is None
