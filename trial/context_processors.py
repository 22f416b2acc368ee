"""Navigation entries per role, computed once per request from the permission matrix."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from trial.access import rule_for

# (url name, label). Shown to a user only if the matrix lets their role open it.
# Later capabilities add their entry points here.
NAV_ITEMS = [
    ("trial:participant_list", _("Participants")),
    ("trial:site_list", _("Sites")),
    ("trial:audit_log", _("Audit trail")),
    ("admin:index", _("Administration")),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    if settings.TRIAL_REQUIRE_2FA and not user.is_verified():
        return {"nav_items": []}  # nothing to navigate to before the second factor
    items = []
    for name, label in NAV_ITEMS:
        rule = rule_for(name)
        if rule and (rule.allows(user.role, "GET") or (user.is_superuser and rule.kind == "admin")):
            items.append({"url": reverse(name), "label": label, "name": name})
    return {"nav_items": items}
