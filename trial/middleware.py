"""Enforces the permission matrix (trial/access.py) on every resolved view."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import BadRequest, PermissionDenied
from django.shortcuts import redirect
from django.utils.cache import add_never_cache_headers

from trial.access import LOCKED_DATA_VIEWS, participants_for, rule_for
from trial.errors import DataLocked, locked
from trial.registry import lock_message

logger = logging.getLogger(__name__)


class RejectNulMiddleware:
    """400 for a request with a NUL character in its path, query string, form data or cookies.

    No input of this application has a use for NUL, and PostgreSQL refuses it in text: left to
    the views, a NUL reaches a query (a trial number in the URL, a filter read from the query
    string, a session cookie) and answers 500. Django's form CharFields refuse it too, but many
    values are read outside forms; this one check, before the session is looked up, covers
    them all, and a browser never sends NUL, so nobody loses a typed form to it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _has_nul(request):
            raise BadRequest("NUL character in the request")
        return self.get_response(request)


def _has_nul(request) -> bool:
    if "\x00" in request.path_info:
        return True
    for data in (request.GET, request.POST):
        for key, values in data.lists():
            if "\x00" in key or any("\x00" in value for value in values):
                return True
    return any("\x00" in key or "\x00" in value for key, value in request.COOKIES.items())


class AccessMatrixMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        view_name = match.view_name if match else None
        rule = rule_for(view_name)
        if rule is None:
            # Fail closed: a view nobody put in the matrix is refused to everyone.
            logger.error("View %r is missing from the permission matrix", view_name)
            raise PermissionDenied("This page is not in the permission matrix.")
        if rule.kind in ("public", "api"):
            # The API authenticates by token and asks the matrix itself
            # (trial.api.permissions.MatrixPermission); a session cookie does not open it.
            return None

        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not user.is_active:
            raise PermissionDenied

        needs_second_factor = settings.TRIAL_REQUIRE_2FA and not rule.before_second_factor
        if needs_second_factor and not user.is_verified():
            return redirect("account:otp_setup")

        if user.is_superuser and rule.kind == "admin":
            return None
        if not rule.allows(user.role, request.method):
            raise PermissionDenied
        if view_name in LOCKED_DATA_VIEWS:
            return self._refuse_locked(request, view_kwargs)
        return None

    @staticmethod
    def _refuse_locked(request, view_kwargs):
        """403 naming the lock, for a page that would change locked data: before the form is
        filled in, not after. Another site's participant is left to the view (its 404)."""
        participant = None
        number = view_kwargs.get("trial_number")
        if number is not None:
            participant = participants_for(request.user).filter(trial_number=number).first()
            if participant is None:
                return None
        message = lock_message(participant)
        return locked(request, message) if message else None

    def process_exception(self, request, exception):
        # A write the lock refused where no page checked first (a task run from a page, a
        # form posted to a page the lock closed meanwhile): the message, never a 500.
        if isinstance(exception, DataLocked):
            return locked(request, exception.message)
        return None


# The patient's pages (personal link and clinic tablet) show a patient's answers.
_PATIENT_VIEW_PREFIXES = ("questionnaires:patient_", "questionnaires:tablet_")


class NoStoreMiddleware:
    """``Cache-Control: no-store`` on every page that may show identifying data.

    The simplest rule that is safe: every response to a logged-in member of staff and every
    patient questionnaire page. No browser cache, shared computer or proxy keeps a copy of a
    participant's page after logout. Static files are served before this (WhiteNoise).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # A view that already said no-store (a download) keeps its own header.
        if self._private(request) and "no-store" not in response.get("Cache-Control", ""):
            add_never_cache_headers(response)
        return response

    @staticmethod
    def _private(request) -> bool:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return True
        match = getattr(request, "resolver_match", None)
        return bool(match and match.view_name.startswith(_PATIENT_VIEW_PREFIXES))
