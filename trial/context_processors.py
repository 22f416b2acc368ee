"""Navigation entries per role, computed once per request from the permission matrix."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from trial.access import rule_for
from trial.registry import registry

# Entries come from trial.registry (each app adds its own in AppConfig.ready); an entry is
# shown to a user only if the permission matrix lets their role open it.


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    if settings.TRIAL_REQUIRE_2FA and not user.is_verified():
        return {"nav_items": []}  # nothing to navigate to before the second factor
    items = []
    for entry in registry.nav_items:
        name, label = entry.url_name, entry.label
        rule = rule_for(name)
        if rule and (rule.allows(user.role, "GET") or (user.is_superuser and rule.kind == "admin")):
            items.append({"url": reverse(name), "label": label, "name": name})
    return {"nav_items": items}
