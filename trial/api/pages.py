"""The API's pages for people (session login with the second factor, like every page): one's
own tokens, the coordinator's list of every token, and the reference page rendered from the
OpenAPI schema on the server (no script, no CDN: it works under the CSP)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe
from drf_spectacular.generators import SchemaGenerator

from trial import access
from trial.api import selectors, services
from trial.api.forms import ApiTokenForm
from trial.api.models import ApiToken
from trial.http import AuthedHttpRequest


def api_tokens(request: AuthedHttpRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST or None)
    secret = ""
    if request.method == "POST" and form.is_valid():
        try:
            _token, secret = services.api_token_create(user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            form = ApiTokenForm()
    return render(
        request,
        "trial/api/tokens.html",
        {"form": form, "secret": secret, "tokens": selectors.tokens_of(request.user)},
    )


@require_POST
def api_token_revoke(request: AuthedHttpRequest, token_id: int) -> HttpResponse:
    # Another user's token is "not found" unless one manages every token: ids are not probed.
    tokens = ApiToken.objects.all()
    if not access.can(request.user, "api_token_manage_all"):
        tokens = tokens.filter(user=request.user)
    token = get_object_or_404(tokens, pk=token_id)
    services.api_token_revoke(token=token, user=request.user)
    messages.success(request, _("The token %(name)s is revoked.") % {"name": token.name})
    if token.user_id != request.user.pk:
        return redirect("trial:api_token_list")
    return redirect("account:api_tokens")


@require_safe
def api_token_list(request: AuthedHttpRequest) -> HttpResponse:
    return render(request, "trial/api/token_list.html", {"tokens": selectors.all_tokens()})


def _schema(request) -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


@require_safe
def api_docs(request: AuthedHttpRequest) -> HttpResponse:
    schema = _schema(request)
    operations = []
    for path, methods in schema.get("paths", {}).items():
        for method, op in methods.items():
            operations.append(
                {
                    "path": path,
                    "method": method.upper(),
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "parameters": op.get("parameters", []),
                }
            )
    return render(request, "trial/api/docs.html", {"operations": operations, "schema": schema})


@require_safe
def api_docs_schema(request: AuthedHttpRequest) -> HttpResponse:
    body = json.dumps(_schema(request), indent=2, default=str)
    response = HttpResponse(body, content_type="application/json")
    response["Content-Disposition"] = 'attachment; filename="vertebra-openapi.json"'
    return response
