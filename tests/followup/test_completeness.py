"""Completeness per visit and site, and the patients behind each number."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from tests.conftest import verified_client
from tests.followup.conftest import open_contact, randomised
from trial.models import Role

URL = reverse("followup:completeness")
DAY = dt.date(2026, 3, 30)


@pytest.fixture
def contacts(world):
    a, b, c = randomised(world.own, 3, start=60)
    d = randomised(world.other, 1, start=60)[0]
    open_contact(a, "W1", target=DAY, status="done")
    open_contact(b, "W1", target=DAY, status="missed")
    open_contact(c, "W1", target=DAY, status="due")
    open_contact(c, "W2", target=DAY, status="planned")
    open_contact(d, "W1", target=DAY, status="cancelled")
    return a, b, c, d


def cell(response, visit, site):
    row = next(r for r in response.context["rows"] if r.visit_code == visit)
    return next(c for c in row.cells if c.site.code == site).counts


def test_it_counts_done_missed_pending_and_cancelled_per_visit_and_site(world, contacts):
    response = verified_client(world.users[Role.COORDINATOR]).get(URL)
    assert cell(response, "W1", "AAR") == {
        "done": 1,
        "incomplete": 0,
        "missed": 1,
        "pending": 1,
        "cancelled": 0,
        "out_of_window": 0,
    }
    assert cell(response, "W2", "AAR")["pending"] == 1
    assert cell(response, "W1", "ODE")["cancelled"] == 1


def test_each_number_opens_the_patients_behind_it(world, contacts):
    client = verified_client(world.users[Role.DATA_MANAGER])
    response = client.get(URL, {"visit": "W1", "site": "AAR", "status": "pending"})
    numbers = [c.participant.trial_number for c in response.context["detail"]["contacts"]]
    assert numbers == [contacts[2].trial_number]
    assert b'href="?visit=W1&amp;site=AAR&amp;status=done"' in client.get(URL).content


def test_the_monitor_reads_it_and_site_staff_do_not(world, contacts):
    assert verified_client(world.users[Role.MONITOR]).get(URL).status_code == 200
    assert verified_client(world.users[Role.NURSE]).get(URL).status_code == 403


def test_an_unknown_column_is_not_found(world, contacts):
    client = verified_client(world.users[Role.COORDINATOR])
    assert client.get(URL, {"visit": "W1", "site": "AAR", "status": "x"}).status_code == 404


def test_it_says_so_when_there_is_nothing_yet(world):
    response = verified_client(world.users[Role.COORDINATOR]).get(URL)
    assert b'data-testid="empty"' in response.content
