"""Staff accounts managed by the coordinator: invite, change role and sites, deactivate, reset
a second factor.

Every change is saved through ``trial.audit.audited_save``, so the staff history (simple-history
on User and SiteMembership) records who did it, when, the old and new values, and why. Roles are
limited to ``trial.access.STAFF_ASSIGNABLE_ROLES`` and targets to what ``staff_may_manage``
allows; data managers and superusers are made by a superuser only. The staff flag (entry to the
admin) follows the role, from the matrix; it is never a choice on a form.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import get_random_string
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django_otp import devices_for_user

from trial.access import role_assignable_on_staff_pages, role_enters_admin, staff_may_manage
from trial.audit import (
    ReasonRequired,
    audited_delete,
    audited_save,
    audited_update,
    require_reason,
)
from trial.errors import ServiceError
from trial.models import Site, SiteMembership, User

# A deactivated account's password: unusable (Django's "!" prefix) and, unlike an invited
# account's, marked, so that the two inactive states are told apart.
DEACTIVATED_PASSWORD_PREFIX = "!deactivated:"  # noqa: S105 - a marker, not a password

# The task that e-mails an invitation (trial.staff.tasks), named here so that the service
# enqueues it without importing the tasks module, which imports this one.
INVITATION_SEND_TASK = "trial.staff_invitation_send"


def _check_reason(reason: str) -> str:
    try:
        return require_reason(reason)
    except ReasonRequired as exc:
        raise ServiceError(exc.messages[0]) from None


def _check_role(role: str) -> None:
    if not role_assignable_on_staff_pages(role):
        raise ServiceError(_("This role cannot be given here."))


def _check_may_manage(actor: User, target: User) -> None:
    if not staff_may_manage(actor, target):
        raise ServiceError(_("You cannot change this account."))


def _set_sites(user: User, sites, *, actor: User, reason: str = "") -> None:
    wanted = {site.pk for site in sites}
    for membership in user.memberships.exclude(site_id__in=wanted):
        audited_delete(membership, user=actor, reason=reason or _("Site removed"))
    have = set(user.memberships.values_list("site_id", flat=True))
    for site_id in sorted(wanted - have):
        audited_save(SiteMembership(user=user, site_id=site_id), user=actor)


def invitation_url(user: User) -> str:
    """The one-time link to set a password: Django's password-reset token, which stops working
    once the password is set (the token covers the password hash) or after
    PASSWORD_RESET_TIMEOUT."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return settings.SITE_URL.rstrip("/") + reverse("account:welcome", args=[uid, token])


def staff_invite(
    *, actor: User, first_name: str, last_name: str, email: str, role: str, sites: list[Site]
) -> User:
    """Create an inactive account without a password and queue the e-mail with its link.

    The e-mail goes through the outbox in the same transaction: a mail server (or broker) that
    is down delays the invitation instead of failing the request or losing the message, and
    the task retries until the server takes it (``staff_invitation_send``).
    """
    from trial.outbox.services import task_enqueue

    _check_role(role)
    email = email.strip().lower()
    if User.objects.filter(username__iexact=email).exists() or (
        User.objects.filter(email__iexact=email).exists()
    ):
        raise ServiceError(_("A staff member with this e-mail address already exists."))
    with transaction.atomic():
        user = User(
            username=email,
            email=email,
            first_name=first_name.strip(),
            last_name=last_name.strip(),
            role=role,
            is_active=False,
            is_staff=role_enters_admin(role),
        )
        user.set_unusable_password()
        audited_save(user, user=actor, reason=_("Invited"))
        _set_sites(user, sites, actor=actor)
        task_enqueue(name=INVITATION_SEND_TASK, args=[user.pk, actor.pk])
    return user


def staff_invitation_send(*, user_id: int, inviter_id: int) -> bool:
    """E-mail an invited staff member the link to choose a password, exactly once.

    The account is claimed by a conditional update of ``invitation_sent_at`` (with a row in
    the staff history); a second run (a retry after success, a duplicate delivery) finds it
    claimed and sends nothing. Claim and send share a transaction: when the mail server
    refuses, the claim is undone and the exception reaches the task, whose retry sends again.
    An invitation withdrawn before the e-mail went out is not sent.
    """
    user = User.objects.filter(pk=user_id).first()
    if user is None or not invitation_pending(user):
        return False
    with transaction.atomic():
        claimed = audited_update(
            User.objects.filter(pk=user_id, invitation_sent_at__isnull=True),
            user=None,
            reason="invitation e-mailed",
            invitation_sent_at=timezone.now(),
        )
        if claimed != 1:
            return False
        inviter = User.objects.filter(pk=inviter_id).first()
        inviter_name = (inviter.get_full_name() or inviter.username) if inviter else ""
        with translation.override(settings.LANGUAGE_CODE):
            subject = _("Your VERTEBRA account")
            body = _(
                "%(inviter)s has created a VERTEBRA account for you (role: %(role)s).\n\n"
                "Choose your password here; the link works once and for %(days)d days:\n"
                "%(url)s\n\n"
                "Your user name is %(username)s. At your first login you set up an "
                "authenticator app as second factor."
            ) % {
                "inviter": inviter_name,
                "role": user.get_role_display(),
                "days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
                "url": invitation_url(user),
                "username": user.username,
            }
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
        return True


def invitation_pending(user: User) -> bool:
    """An invited account that has not chosen its password yet. Deactivation ends this: it
    replaces the password with a marked one, so an old link no longer matches either."""
    return (
        not user.is_active
        and not user.has_usable_password()
        and not user.password.startswith(DEACTIVATED_PASSWORD_PREFIX)
    )


@transaction.atomic
def staff_invitation_accept(*, user: User, password: str) -> User:
    if not invitation_pending(user):
        raise ServiceError(_("This invitation has already been used."))
    user.set_password(password)
    user.is_active = True
    return audited_save(user, user=user, reason=_("Invitation accepted, password chosen"))


@transaction.atomic
def staff_update(*, actor: User, user: User, role: str, sites: list[Site], reason: str) -> User:
    """Change a staff member's role and sites, with a reason."""
    _check_may_manage(actor, user)
    _check_role(role)
    reason = _check_reason(reason)
    previous_role = user.role
    user.role = role
    changed = previous_role != role
    if changed:
        user.is_staff = role_enters_admin(role)
        audited_save(user, user=actor, reason=reason)
    before = set(user.memberships.values_list("site_id", flat=True))
    if before != {site.pk for site in sites}:
        _set_sites(user, sites, actor=actor, reason=reason)
        if not changed:
            # The membership rows carry no reason; one history row of the account does.
            audited_save(user, user=actor, reason=_("Sites changed: %(r)s") % {"r": reason})
    return user


@transaction.atomic
def staff_deactivate(*, actor: User, user: User, reason: str) -> User:
    """End a staff member's access; the account stays, since the audit trail refers to it."""
    _check_may_manage(actor, user)
    reason = _check_reason(reason)
    if not user.is_active and not invitation_pending(user):
        raise ServiceError(_("This account is already deactivated."))
    user.is_active = False
    # A new unusable password ends open sessions and makes any invitation link stale.
    user.password = DEACTIVATED_PASSWORD_PREFIX + get_random_string(32)
    return audited_save(user, user=actor, reason=reason)


@transaction.atomic
def staff_second_factor_reset(*, actor: User, user: User, reason: str) -> int:
    """Remove a staff member's second-factor devices (a lost phone); they enrol again at their
    next login. Returns how many devices were removed."""
    _check_may_manage(actor, user)
    reason = _check_reason(reason)
    devices = list(devices_for_user(user, confirmed=None))
    for device in devices:
        device.delete()
    audited_save(user, user=actor, reason=_("Second factor reset: %(reason)s") % {"reason": reason})
    return len(devices)
