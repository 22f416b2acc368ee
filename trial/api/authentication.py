"""The API's one way in: a personal token in ``Authorization: Bearer <token>``.

No session authentication: a browser's cookie never writes through the API (no CSRF question
to answer), and a patient's link or a tablet session, which are not staff accounts, never
reach it. A token works only while it is neither revoked nor expired and its user is active
staff (a role); the second factor was passed when the token was made on the account page.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from trial.api.models import ApiToken
from trial.api.services import TOKEN_PREFIX, api_token_touch, token_hash


class TokenAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Send one token after the word Bearer."))
        try:
            secret = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("The token is not valid.")) from None
        if not secret.startswith(TOKEN_PREFIX):
            raise exceptions.AuthenticationFailed(_("The token is not valid."))
        token = ApiToken.objects.select_related("user").filter(key_hash=token_hash(secret)).first()
        if token is None:
            raise exceptions.AuthenticationFailed(_("The token is not valid."))
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("The token has been revoked."))
        if token.expires_at <= timezone.now():
            raise exceptions.AuthenticationFailed(_("The token has expired."))
        user = token.user
        if not user.is_active or not user.role:
            raise exceptions.AuthenticationFailed(_("The token's account is not active."))
        api_token_touch(token=token)
        return user, token

    def authenticate_header(self, request) -> str:
        return self.keyword


class TokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema describes the token: HTTP bearer."""

    target_class = "trial.api.authentication.TokenAuthentication"
    name = "token"

    def get_security_definition(self, auto_schema) -> dict:
        return {"type": "http", "scheme": "bearer"}
