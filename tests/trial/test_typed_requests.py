"""A view that takes ``AuthedHttpRequest`` relies on the access matrix for its logged-in user.

The type is only a promise to the checker (trial/http.py): nothing at run time makes
``request.user`` a ``User``. The promise holds because the middleware turns anonymous requests
away from every page that is not public, so a public page must never take the typed request.
"""

from __future__ import annotations

import inspect

from django.urls import URLPattern, URLResolver, get_resolver

from trial.access import rule_for


def _views(resolver: URLResolver, namespaces: tuple[str, ...] = ()):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = (*namespaces, entry.namespace) if entry.namespace else namespaces
            yield from _views(entry, ns)
        elif isinstance(entry, URLPattern) and entry.name:
            yield ":".join((*namespaces, entry.name)), entry.callback


def _takes_authed_request(view) -> bool:
    # inspect.signature follows the decorators' __wrapped__ to the view function itself.
    params = list(inspect.signature(view).parameters.values())
    return bool(params) and "AuthedHttpRequest" in str(params[0].annotation)


def test_views_taking_the_typed_request_are_never_public():
    typed = {name: view for name, view in _views(get_resolver()) if _takes_authed_request(view)}
    # The trial's own pages are typed: without them the test would check nothing.
    assert "trial:screening_log" in typed
    assert "trial:sae_list" in typed
    assert "account:otp_setup" in typed
    assert {"home", "trial:audit_log", "trial:participant_list"} <= typed.keys()
    # ... and the other apps' staff pages, while the patient's pages stay untyped.
    apps = {view.__module__.split(".")[0] for view in typed.values()}
    assert {"trial", "randomization", "questionnaires", "followup"} <= apps
    assert "questionnaires:staff_overview" in typed
    assert "questionnaires:patient_home" not in typed
    assert "questionnaires:tablet_exit" not in typed
    public = sorted(name for name in typed if rule_for(name).kind == "public")
    assert public == []


def test_the_public_login_pages_keep_the_plain_request():
    names = dict(_views(get_resolver()))
    assert not _takes_authed_request(names["account:login"])
