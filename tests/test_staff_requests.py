"""The views of randomization, questionnaires and followup that declare a ``StaffRequest``
(whose ``user`` is a signed-in ``User``) must be views the access matrix keeps from anonymous
visitors: the type is only true because the middleware redirects them to the login page."""

from __future__ import annotations

import inspect

from django.urls import URLPattern, URLResolver, get_resolver

from trial.access import rule_for


def _views(patterns, namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _views(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            yield f"{namespace}{pattern.name}", inspect.unwrap(pattern.callback)


def _staff_views() -> dict[str, object]:
    return {
        name: view
        for name, view in _views(get_resolver().url_patterns)
        if "StaffRequest" in str(getattr(view, "__annotations__", {}).get("request", ""))
    }


def test_every_view_typed_for_a_signed_in_user_refuses_anonymous_visitors():
    views = _staff_views()
    apps = {view.__module__.split(".")[0] for view in views.values()}
    assert apps == {"randomization", "questionnaires", "followup"}
    public = [name for name in views if (rule := rule_for(name)) is None or rule.kind == "public"]
    assert public == []


def test_the_patients_public_pages_are_not_typed_for_staff():
    views = _staff_views()
    assert "questionnaires:patient_home" not in views
    assert "questionnaires:tablet_exit" not in views
    assert "questionnaires:staff_overview" in views
