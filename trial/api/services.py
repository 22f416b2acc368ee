"""Writes of API tokens: create (the secret is returned once, only its hash is kept), revoke,
and the stamp of last use. Creation and revocation are audited like every other write."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from trial.api.models import ApiScope, ApiToken
from trial.audit import audited_save
from trial.models import User

TOKEN_PREFIX = "vtb_"  # noqa: S105 - a marker of the format, not a secret
# How often the last use is written: one UPDATE per token per minute, not one per request.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_token_create(
    *, user: User, name: str, scopes: list[str], days: int | None = None
) -> tuple[ApiToken, str]:
    """A new token of ``user``; returns the token and its secret (shown once, never stored)."""
    days = settings.API_TOKEN_DEFAULT_DAYS if days is None else days
    if not 1 <= days <= settings.API_TOKEN_MAX_DAYS:
        raise ValidationError(
            {"days": _("Between 1 and %(max)s days.") % {"max": settings.API_TOKEN_MAX_DAYS}}
        )
    unknown = set(scopes) - set(ApiScope.values)
    if not scopes or unknown:
        raise ValidationError({"scopes": _("Pick at least one of the scopes listed.")})
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = timezone.now()
    token = ApiToken(
        user=user,
        name=name.strip(),
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        key_hash=token_hash(secret),
        scopes=sorted(set(scopes)),
        created_at=now,
        expires_at=now + dt.timedelta(days=days),
    )
    with transaction.atomic():
        audited_save(token, user=user)
    return token, secret


def api_token_revoke(*, token: ApiToken, user: User, reason: str = "") -> ApiToken:
    """Revoke ``token``: its owner may, and whoever manages every token (the coordinator)."""
    from trial import access

    if token.user_id != user.pk and not access.can(user, "api_token_manage_all"):
        raise PermissionDenied
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.revoked_by = user
    with transaction.atomic():
        audited_save(
            token,
            user=user,
            reason=reason or _("API token revoked"),
            update_fields=["revoked_at", "revoked_by"],
            validate=False,
        )
    return token


def api_token_touch(*, token: ApiToken) -> None:
    """Record the token's last use; a conditional update, so concurrent requests write once."""
    now = timezone.now()
    if token.last_used_at and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiToken.objects.filter(pk=token.pk, last_used_at=token.last_used_at).update(last_used_at=now)
    token.last_used_at = now
