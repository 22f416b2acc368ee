"""The central roles' home pages link to the dashboard, the serious adverse events (with how
many wait for acknowledgement) and the exports; site roles see none of these cards."""

from __future__ import annotations

import pytest
from django.utils import timezone, translation

from tests.conftest import verified_client
from tests.factories import AdverseEventFactory
from trial.models import Role

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def _card(html: str, code: str) -> str | None:
    marker = f'data-testid="home-card-{code}"'
    if marker not in html:
        return None
    start = html.index(marker)
    return html[start : html.index("</a>", start)]


def _home(user) -> str:
    response = verified_client(user).get("/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_coordinator_sees_waiting_saes_in_red_until_acknowledged(world):
    event = AdverseEventFactory(participant=world.own_participant, serious=True)
    AdverseEventFactory(participant=world.other_participant, serious=False)
    coordinator = world.users[Role.COORDINATOR]
    card = _card(_home(coordinator), "sae")
    assert "1 serious adverse event not yet acknowledged" in card
    assert "border-danger" in card
    event.acknowledged_at = timezone.now()
    event.acknowledged_by = coordinator
    event.save()
    card = _card(_home(coordinator), "sae")
    assert "Every serious adverse event is acknowledged" in card
    assert "border-danger" not in card


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.DATA_MANAGER, Role.MONITOR])
def test_central_roles_get_dashboard_and_export_cards_that_open(world, role):
    user = world.users[role]
    html = _home(user)
    client = verified_client(user)
    for code in ("dashboard", "exports", "sae"):
        card = _card(html, code)
        assert card is not None, code
        url = card.split('href="', 1)[1].split('"', 1)[0]
        assert client.get(url).status_code == 200, (role, code)
    exports = _card(html, "exports")
    if role == Role.MONITOR:
        assert "The export log" in exports
    else:
        assert "Stata" in exports


@pytest.mark.parametrize("role", [Role.HEMATOLOGIST, Role.SURGEON, Role.NURSE])
def test_site_roles_see_none_of_the_central_cards(world, role):
    html = _home(world.users[role])
    assert all(_card(html, code) is None for code in ("dashboard", "exports", "sae"))
