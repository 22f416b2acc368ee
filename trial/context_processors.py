"""Navigation entries per role, computed once per request from the permission matrix."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from trial import access
from trial.access import rule_for
from trial.registry import registry

# Up to this many entries the bar shows them all; more, and grouped entries fold into menus.
FLAT_NAV_MAX = 8

# Entries come from trial.registry (each app adds its own in AppConfig.ready); an entry is
# shown to a user only if the permission matrix lets their role open it.


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "nav_menu": []}
    if settings.TRIAL_REQUIRE_2FA and not user.is_verified():
        return {"nav_items": [], "nav_menu": []}  # nothing to navigate to before the 2nd factor
    items = []
    current = getattr(getattr(request, "resolver_match", None), "view_name", None)
    for entry in registry.nav_items:
        name, label = entry.url_name, entry.label
        rule = rule_for(name)
        if rule and (
            access.can(user, name, method="GET") or (user.is_superuser and rule.kind == "admin")
        ):
            items.append(
                {
                    "url": reverse(name),
                    "label": label,
                    "name": name,
                    "group": entry.group,
                    "short_label": entry.short_label or label,
                    "active": name == current,
                }
            )
    return {"nav_items": items, "nav_menu": _menu(items)}


def _menu(items: list[dict]) -> list[dict]:
    """The bar as shown: entries, and a menu per group of two or more visible entries."""
    if len(items) <= FLAT_NAV_MAX:
        return items
    members: dict[str, list[dict]] = {}
    for item in items:
        if item["group"] in registry.nav_groups:
            members.setdefault(item["group"], []).append(item)
    menu, placed = [], set()
    for item in items:
        group = item["group"]
        if len(members.get(group, [])) < 2:
            menu.append(item)
        elif group not in placed:  # the menu sits where its first entry would
            placed.add(group)
            entries = members[group]
            menu.append(
                {
                    "group": group,
                    "label": registry.nav_groups[group].label,
                    "entries": entries,
                    "active": any(e["active"] for e in entries),
                }
            )
    return menu
