"""Staff: sites, users and their memberships; roles decide what each user may see and do.

Defined here, registered under the ``trial`` app label (re-exported from trial/models.py).
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class Role(models.TextChoices):
    HEMATOLOGIST = "hematologist", _("Hematologist")
    SURGEON = "surgeon", _("Surgeon")
    NURSE = "nurse", _("Research nurse")
    COORDINATOR = "coordinator", _("Coordinator")
    DATA_MANAGER = "data_manager", _("Data manager")
    MONITOR = "monitor", _("Monitor")


# Roles whose members work at sites and see only those sites' participants.
SITE_ROLES = frozenset({Role.HEMATOLOGIST, Role.SURGEON, Role.NURSE})
# Central roles see every site.
CENTRAL_ROLES = frozenset({Role.COORDINATOR, Role.DATA_MANAGER, Role.MONITOR})


class SiteKind(models.TextChoices):
    HEMATOLOGY = "hematology", _("Hematology department")
    SURGERY = "surgery", _("Surgical department")


site_code_validator = RegexValidator(
    r"^[A-Z]{2,6}$", _("A site code is 2 to 6 capital letters, for example AAR.")
)


class Site(models.Model):
    code = models.CharField(
        _("code"),
        max_length=6,
        unique=True,
        validators=[site_code_validator],
        help_text=_("Used in trial numbers, e.g. AAR-001."),
    )
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=SiteKind.choices)
    surgical_partner = models.ForeignKey(
        "self",
        verbose_name=_("collaborating surgical department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="hematology_partners",
        limit_choices_to={"kind": SiteKind.SURGERY},
    )
    active = models.BooleanField(_("active"), default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        verbose_name = _("site")
        verbose_name_plural = _("sites")
        constraints = [
            # Only hematology departments refer to a surgical partner.
            models.CheckConstraint(
                condition=models.Q(kind="hematology") | models.Q(surgical_partner__isnull=True),
                name="site_partner_only_for_hematology",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.kind == SiteKind.SURGERY and self.surgical_partner_id:
            raise ValidationError(
                {"surgical_partner": _("A surgical department has no surgical partner.")}
            )
        partner = self.surgical_partner
        if partner is not None and partner.kind != SiteKind.SURGERY:
            raise ValidationError(
                {"surgical_partner": _("The partner must be a surgical department.")}
            )


class _UserHistoricalRecords(HistoricalRecords):
    """User history that skips saves touching only excluded fields.

    Every login saves ``last_login`` (``update_fields=["last_login"]``); a history row for it
    would copy the whole account at each login and say nothing about who changed what.
    """

    def post_save(self, instance, created, using=None, **kwargs):
        update_fields = kwargs.get("update_fields")
        if not created and update_fields and set(update_fields) <= set(self.excluded_fields):
            return
        super().post_save(instance, created, using=using, **kwargs)


class User(AbstractUser):
    """A member of staff. Patients never have accounts."""

    role = models.CharField(_("role"), max_length=20, choices=Role.choices, blank=True)
    sites = models.ManyToManyField(
        Site,
        through="SiteMembership",
        related_name="staff",
        blank=True,
        verbose_name=_("sites"),
    )
    # When the invitation e-mail was handed to the mail server; set once, by the task that
    # sends it (trial.staff.services.staff_invitation_send), so a retry never sends it twice.
    invitation_sent_at = models.DateTimeField(
        _("invitation e-mailed"), null=True, blank=True, editable=False
    )

    # Password hashes and login times are not clinical history and would only add noise.
    # Password hashes must never be copied into the trail, and login times are not history.
    history = _UserHistoricalRecords(excluded_fields=["password", "last_login"])

    # Only an annotation, no attribute: django_otp's OTPMiddleware sets it on request.user for
    # each request (whether this session passed the second factor); declared for the checker.
    is_verified: Callable[[], bool]

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")
        ordering = ["username"]

    def __str__(self) -> str:
        full = self.get_full_name()
        return f"{full} ({self.username})" if full else self.username


class SiteMembership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("site membership")
        verbose_name_plural = _("site memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "site"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.site.code}"
