"""Follow-up contacts: one row per participant and visit, and the calls made for it."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from trial.models import Participant, User


class ContactStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    DUE = "due", _("Due")
    DONE = "done", _("Done")
    MISSED = "missed", _("Missed")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_STATUSES = (ContactStatus.PLANNED, ContactStatus.DUE)


class Contact(models.Model):
    """A visit of the schedule for one participant, created when it comes due.

    The window is copied from the schedule at creation, so a later change of the schedule
    does not move contacts that nurses have already planned around.
    """

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="contacts")
    visit_code = models.CharField(_("visit"), max_length=20)
    kind = models.CharField(_("kind"), max_length=20, default="phone")
    anchor = models.CharField(_("anchored on"), max_length=20)
    anchor_date = models.DateField(_("anchor date"))
    target_date = models.DateField(_("target date"))
    window_opens = models.DateField(_("window opens"))
    window_closes = models.DateField(_("window closes"), db_index=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ContactStatus.choices, default=ContactStatus.PLANNED
    )
    attempts = models.PositiveSmallIntegerField(_("call attempts"), default=0)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    cancelled_reason = models.CharField(_("why cancelled"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["window_closes", "participant_id"]
        verbose_name = _("follow-up contact")
        verbose_name_plural = _("follow-up contacts")
        constraints = [
            # Never twice: the database, not Python, guarantees one contact per visit.
            models.UniqueConstraint(
                fields=["participant", "visit_code"], name="contact_once_per_visit"
            ),
            models.CheckConstraint(
                condition=models.Q(window_opens__lte=models.F("target_date"))
                & models.Q(target_date__lte=models.F("window_closes")),
                name="contact_window_contains_target",
            ),
        ]
        indexes = [models.Index(fields=["status", "window_opens"], name="contact_status_opens")]

    def __str__(self) -> str:
        return f"{self.participant.trial_number} {self.visit_code} ({self.get_status_display()})"


class CallOutcome(models.TextChoices):
    REACHED = "reached", _("Reached")
    NO_ANSWER = "no_answer", _("No answer")
    WRONG_NUMBER = "wrong_number", _("Wrong number")
    DECLINED = "declined", _("Declined this contact")
    DIED = "died", _("Patient has died")
    WITHDRAWS = "withdraws", _("Patient withdraws")


class CallLog(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="calls")
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="+")
    called_at = models.DateTimeField(_("called at"))
    called_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(_("outcome"), max_length=20, choices=CallOutcome.choices)
    notes = models.TextField(_("notes"), blank=True)
    # Logged outside the contact's window, confirmed by the nurse (trial.protocol.windows).
    out_of_window = models.BooleanField(_("out of window"), default=False)

    history = HistoricalRecords()

    class Meta:
        ordering = ["called_at"]
        verbose_name = _("call")
        verbose_name_plural = _("calls")

    def __str__(self) -> str:
        return f"{self.contact} {self.get_outcome_display()}"


class MissingReason(models.TextChoices):
    """Why an item group the visit collects was not recorded on a reached call."""

    TOO_ILL = "too_ill", _("Patient too ill")
    DECLINED = "declined", _("Declined")
    BY_LINK = "by_link", _("Will send by link")
    OTHER = "other", _("Other (say why in the notes)")


class VisitItems(models.Model):
    """What the nurse recorded for a visit once the patient was reached (one set per contact).

    The questionnaires taken by phone (VAS, health-service use, ODI, EQ-5D) live in the
    questionnaires app as responses in phone mode; these are the visit's other items.
    """

    contact = models.OneToOneField(Contact, on_delete=models.PROTECT, related_name="items")
    call = models.ForeignKey(CallLog, on_delete=models.PROTECT, related_name="+")
    # Pain medication as the screening form records it: the opioid dose as a daily
    # oral-morphine-equivalent, and free text for the rest (paracetamol, NSAID, changes).
    opioid_omeq_mg = models.PositiveIntegerField(
        _("opioids, daily oral-morphine-equivalent dose (mg)"), null=True, blank=True
    )
    pain_medication = models.TextField(_("pain medication"), blank=True)
    new_adverse_events = models.BooleanField(
        _("new adverse events since the last contact"), null=True, blank=True
    )
    adverse_events_description = models.TextField(
        _("adverse events, short description"), blank=True
    )
    crossover_wish = models.BooleanField(_("wishes to cross over to PVP"), null=True, blank=True)
    # Item group (followup.call_items: "vas", "pain_medication", ...) -> MissingReason, for each
    # group the visit collects that the call left empty. A questionnaire group stops being
    # missing once its response is submitted (by link, or entered later by staff).
    missing_reasons = models.JSONField(_("missing items and why"), default=dict, blank=True)
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("visit items")
        verbose_name_plural = _("visit items")

    def __str__(self) -> str:
        return f"{self.contact} items"


class WeeklyList(models.Model):
    """One nurse's contact list for one week, e-mailed once.

    The unique constraint plus a conditional update of ``claimed_at`` is the claim: of two
    workers (or two runs) only one gets to send, healthchecks style.
    """

    nurse = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    week_start = models.DateField(_("week starting"))
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    contact_count = models.PositiveIntegerField(_("contacts"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-week_start", "nurse_id"]
        constraints = [
            models.UniqueConstraint(fields=["nurse", "week_start"], name="weekly_list_once"),
        ]

    def __str__(self) -> str:
        return f"{self.nurse} {self.week_start.isoformat()}"
