"""Pages of the core: health check, friendly errors, home per role, participant list, language."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from tests.conftest import verified_client
from tests.factories import ParticipantFactory
from trial.models import Role
from trial.views import PAGE_SIZE


def _in(language: str, text: str) -> str:
    """``text`` as the page shows it in ``language`` (whether or not catalogues are compiled)."""
    with translation.override(language):
        return gettext(text)


def _html_lang(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.content.decode()).group(1)


# --- health check -------------------------------------------------------------------------


@pytest.mark.django_db
def test_healthz_answers_ok(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    # The embedded default (no REDIS_URL) has no broker to be down; nothing waits.
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "broker": "embedded",
        "tasks_pending": 0,
        "oldest_pending_task_seconds": None,
    }
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_refuses_writes(client):
    assert client.post(reverse("healthz")).status_code == 405


# --- friendly errors ----------------------------------------------------------------------


@pytest.mark.django_db
def test_an_unknown_url_shows_the_friendly_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "errors/404.html" in [t.name for t in response.templates]
    assert _in("da", "Page not found") in response.content.decode()


def test_another_sites_participant_shows_the_friendly_404(world):
    url = reverse("trial:participant_detail", args=[world.own_participant.trial_number])
    response = verified_client(world.outsider).get(url)
    assert response.status_code == 404
    assert _in("da", "Page not found") in response.content.decode()
    main = response.content.decode().split("<main", 1)[1]
    assert world.own_participant.trial_number not in main


def test_a_surgeon_on_the_audit_log_gets_the_friendly_403(world):
    response = verified_client(world.users[Role.SURGEON]).get(reverse("trial:audit_log"))
    assert response.status_code == 403
    assert "errors/403.html" in [t.name for t in response.templates]
    assert _in("da", "You are not allowed to open this page") in response.content.decode()


# --- home page per role -------------------------------------------------------------------

HEADINGS = {
    Role.HEMATOLOGIST: "Hematologist",
    Role.SURGEON: "Surgeon",
    Role.NURSE: "Research nurse",
    Role.COORDINATOR: "Coordinator",
    Role.DATA_MANAGER: "Data manager",
    Role.MONITOR: "Monitor",
}


@pytest.mark.parametrize(("role", "heading"), HEADINGS.items())
def test_the_home_page_shows_the_role_heading(world, role, heading):
    response = verified_client(world.users[role]).get(reverse("home"))
    assert response.status_code == 200
    shown = re.search(r'data-testid="home-heading">([^<]*)<', response.content.decode()).group(1)
    assert shown.strip() == _in("da", heading)


@pytest.mark.parametrize(
    ("role", "count"),
    [(Role.HEMATOLOGIST, 1), (Role.SURGEON, 1), (Role.COORDINATOR, 2), (Role.MONITOR, 2)],
)
def test_the_home_page_counts_the_participants_the_user_may_see(world, role, count):
    response = verified_client(world.users[role]).get(reverse("home"))
    assert response.context["participant_count"] == count


def test_the_home_page_shows_only_the_users_own_participants(world):
    response = verified_client(world.users[Role.HEMATOLOGIST]).get(reverse("home"))
    content = response.content.decode()
    assert world.own_participant.trial_number in content
    assert world.other_participant.trial_number not in content


# --- participant list ---------------------------------------------------------------------


def _list(client, **params):
    response = client.get(reverse("trial:participant_list"), params)
    assert response.status_code == 200
    return response


def _shown(response) -> list[str]:
    return [p.trial_number for p in response.context["page"].object_list]


def test_the_list_searches_by_trial_number(world):
    ParticipantFactory(site=world.own, sequence=2, initials="XY")
    client = verified_client(world.users[Role.COORDINATOR])
    assert _shown(_list(client, q="AAR-002")) == ["AAR-002"]
    assert _shown(_list(client, q=" aar-002 ")) == ["AAR-002"]
    assert _shown(_list(client, q="001")) == ["AAR-001", "ODE-001"]


def test_the_list_searches_by_initials(world):
    ParticipantFactory(site=world.own, sequence=2, initials="XY")
    ParticipantFactory(site=world.other, sequence=2, initials="XYZ")
    client = verified_client(world.users[Role.COORDINATOR])
    assert _shown(_list(client, q="xy")) == ["AAR-002"]
    assert _shown(_list(client, q="XYZ")) == ["ODE-002"]


def test_the_list_search_stays_within_the_users_sites(world):
    client = verified_client(world.users[Role.HEMATOLOGIST])
    assert _shown(_list(client, q=world.other_participant.trial_number)) == []


def test_the_list_filters_by_site(world):
    client = verified_client(world.users[Role.COORDINATOR])
    assert _shown(_list(client, site=world.other.pk)) == ["ODE-001"]


def test_the_list_ignores_a_site_the_user_cannot_see(world):
    client = verified_client(world.users[Role.HEMATOLOGIST])
    response = _list(client, site=world.other.pk)
    assert world.other_participant.trial_number not in _shown(response)


def test_the_list_shows_page_2(world):
    for sequence in range(2, 61):
        ParticipantFactory(site=world.own, sequence=sequence)
    client = verified_client(world.users[Role.HEMATOLOGIST])
    assert PAGE_SIZE == 50
    first = _list(client)
    assert len(_shown(first)) == 50
    assert first.context["page"].paginator.num_pages == 2
    assert "?page=2" in first.content.decode()
    second = _list(client, page=2)
    assert _shown(second) == [f"AAR-{n:03d}" for n in range(51, 61)]
    assert "AAR-060" in second.content.decode()
    assert "AAR-050" not in second.content.decode()


def test_the_list_survives_a_bad_page_number(world):
    client = verified_client(world.users[Role.HEMATOLOGIST])
    assert _shown(_list(client, page="abc")) == ["AAR-001"]
    assert _shown(_list(client, page="999")) == ["AAR-001"]


def test_the_list_never_shows_identifying_data(world):
    from tests.factories import IdentityFactory

    identity = IdentityFactory(participant=world.own_participant, full_name="Kirsten Skjult")
    content = _list(verified_client(world.users[Role.HEMATOLOGIST])).content.decode()
    assert identity.cpr not in content
    assert "Kirsten Skjult" not in content


# --- language -----------------------------------------------------------------------------


def test_pages_are_danish_by_default(world):
    response = verified_client(world.users[Role.HEMATOLOGIST]).get(reverse("home"))
    assert _html_lang(response) == "da"
    assert response["Content-Language"] == "da"


def test_the_language_switch_changes_the_page_to_english(world):
    client = verified_client(world.users[Role.HEMATOLOGIST])
    switched = client.post(reverse("set_language"), {"language": "en", "next": "/participants/"})
    assert switched.status_code == 302
    assert switched["Location"] == "/participants/"
    response = client.get(reverse("trial:participant_list"))
    assert _html_lang(response) == "en"
    assert response["Content-Language"] == "en"
    assert '<h1 class="h3">Participants</h1>' in response.content.decode()


def test_the_language_switch_works_before_login(db, client):
    client.post(reverse("set_language"), {"language": "en", "next": "/account/login/"})
    response = client.get(reverse("account:login"))
    assert _html_lang(response) == "en"
    assert "Log in to VERTEBRA" in response.content.decode()


def test_the_language_switch_refuses_an_external_next(db, client):
    response = client.post(
        reverse("set_language"), {"language": "en", "next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]


def test_the_language_switch_ignores_an_unknown_language(world):
    client = verified_client(world.users[Role.HEMATOLOGIST])
    client.post(reverse("set_language"), {"language": "xx", "next": "/"})
    assert _html_lang(client.get(reverse("home"))) == "da"
