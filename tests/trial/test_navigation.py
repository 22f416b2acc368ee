"""The navigation bar: a role sees only the pages it may open; when there are many, the
entries of one area fold into a drop-down so the bar stays on one line."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import verified_client
from trial.access import rule_for
from trial.context_processors import FLAT_NAV_MAX
from trial.models import Role

pytestmark = pytest.mark.django_db


def _context(user) -> dict:
    response = verified_client(user).get("/")
    assert response.status_code == 200
    return {"items": response.context["nav_items"], "menu": response.context["nav_menu"]}


@pytest.mark.parametrize("role", list(Role))
def test_every_entry_is_a_page_the_role_may_open_and_none_is_lost_in_the_menu(world, role):
    nav = _context(world.users[role])
    for item in nav["items"]:
        assert rule_for(item["name"]).allows(role, "GET"), item["name"]
    shown = []
    for entry in nav["menu"]:
        shown += [e["name"] for e in entry["entries"]] if entry.get("entries") else [entry["name"]]
    names = [i["name"] for i in nav["items"]]
    assert sorted(shown) == sorted(names) and len(shown) == len(set(shown))  # none lost


def test_the_coordinator_gets_menus_and_the_nurse_a_flat_bar(world):
    coordinator = _context(world.users[Role.COORDINATOR])
    assert len(coordinator["items"]) > FLAT_NAV_MAX
    groups = {e["group"]: e for e in coordinator["menu"] if e.get("entries")}
    assert {"randomisation", "admin"} <= set(groups)
    assert len(coordinator["menu"]) <= FLAT_NAV_MAX + 1
    nurse = _context(world.users[Role.NURSE])
    assert len(nurse["items"]) <= FLAT_NAV_MAX
    assert not any(e.get("entries") for e in nurse["menu"])


def test_the_menu_holding_the_current_page_is_marked_active(world):
    client = verified_client(world.users[Role.COORDINATOR])
    response = client.get("/randomisation/deviations/")
    assert response.status_code == 200
    group = next(e for e in response.context["nav_menu"] if e.get("group") == "randomisation")
    assert group["active"] and [e["name"] for e in group["entries"] if e["active"]] == [
        "randomization:deviations"
    ]
    html = response.content.decode()
    assert html.count('class="nav-item dropdown"') == sum(
        1 for e in response.context["nav_menu"] if e.get("entries")
    )
    assert 'data-testid="nav-group-randomisation"' in html
    assert (
        'class="dropdown-item active" href="/randomisation/deviations/" aria-current="page"' in html
    )
    assert '<a class="nav-link" href="/dashboard/">' in html  # a plain entry stays a link


def test_anonymous_pages_have_no_navigation():
    response = Client().get("/accounts/login/")
    assert response.context["nav_menu"] == []
