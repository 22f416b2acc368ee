"""Errors of the API as JSON: ``{"error": {"code": ..., "message": ..., "fields": {...}}}``,
the message in the user's language (Accept-Language, as the pages read it)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from trial.errors import ServiceError


class ApiError(exceptions.APIException):
    """An expected refusal with its own code, e.g. ``not_ready`` when randomising."""

    status_code: int = status.HTTP_400_BAD_REQUEST

    def __init__(self, message: str, *, code: str = "invalid", status_code: int = 400) -> None:
        super().__init__(detail=message, code=code)
        self.status_code = status_code


def _message(detail: Any) -> str:
    if isinstance(detail, list):
        return " ".join(_message(d) for d in detail)
    if isinstance(detail, dict):
        return " ".join(_message(d) for d in detail.values())
    return str(detail)


def exception_handler(exc, context):
    fields: dict[str, list[str]] = {}
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            fields = {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
        exc = exceptions.ValidationError(detail=" ".join(exc.messages), code="invalid")
    elif isinstance(exc, ServiceError):
        exc = ApiError(str(exc), code=getattr(exc, "code", "") or "refused", status_code=409)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(_("Not found."))
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # an unexpected error: the 500 handler logs it
    detail = exc.detail if isinstance(exc, exceptions.APIException) else ""
    if isinstance(detail, dict) and not fields:
        fields = {k: [_message(v)] for k, v in detail.items()}
    codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
    code = codes if isinstance(codes, str) else getattr(exc, "default_code", "invalid")
    body = {"error": {"code": code, "message": _message(detail)}}
    if fields:
        body["error"]["fields"] = fields
    response.data = body
    return response


def error_response(message: str, *, code: str, status_code: int) -> Response:
    return Response({"error": {"code": code, "message": message}}, status=status_code)
