"""The cross-site "screened before?" look-up of a CPR number is recorded (who, when, found or
not, never the number) and throttled per user."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.utils import translation

from tests.conftest import verified_client
from tests.trial.screening.conftest import CPR, screen
from trial.models import CprLookup, Role, ScreeningLogEntry


@pytest.fixture(autouse=True)
def _in_english(settings):
    # The messages are asserted in English; the interface's default language is Danish.
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


OTHER_CPR = "170550-1236"  # another woman born the same day


@pytest.fixture(autouse=True)
def _fresh_cache(db):
    cache.clear()
    yield
    cache.clear()


def test_each_lookup_is_recorded_without_the_cpr_number(world):
    hema = world.users[Role.HEMATOLOGIST]
    client = verified_client(hema)
    screen(client, world.own, decision="declined", reason="No", full_name="")
    screen(client, world.own, decision="declined", reason="No", full_name="")  # a repeat
    rows = list(CprLookup.objects.order_by("id").values_list("user", "found"))
    assert rows == [(hema.pk, False), (hema.pk, True)]
    assert all(r.looked_up_at is not None for r in CprLookup.objects.all())
    # Nothing of the number is kept: neither as typed, nor without its dash.
    stored = " ".join(str(v) for r in CprLookup.objects.values() for v in r.values())
    assert CPR not in stored and CPR.replace("-", "") not in stored


def test_a_confirmed_repeat_is_no_new_lookup(world):
    client = verified_client(world.users[Role.HEMATOLOGIST])
    screen(client, world.own, decision="declined", reason="No", full_name="")
    screen(
        client, world.own, decision="declined", reason="No", full_name="", confirm_duplicate="on"
    )
    assert CprLookup.objects.count() == 1
    assert ScreeningLogEntry.objects.count() == 2


def test_lookups_beyond_the_limit_get_429_with_a_message(world, settings):
    settings.SCREENING_CPR_LOOKUP_LIMIT = 2
    hema = verified_client(world.users[Role.HEMATOLOGIST])
    for _n in range(2):
        assert screen(
            hema, world.own, decision="declined", reason="No", full_name=""
        ).status_code in (200, 302)
    refused = screen(hema, world.own, cpr=OTHER_CPR, decision="declined", reason="No", full_name="")
    assert refused.status_code == 429
    assert "try again later" in refused.content.decode()
    assert CprLookup.objects.count() == 2  # the refused one searched nothing
    assert ScreeningLogEntry.objects.count() == 1  # the first; the repeat was only warned
    # The limit is per user: a colleague still looks up.
    other = verified_client(world.outsider)
    ok = screen(other, world.other, cpr=OTHER_CPR, decision="declined", reason="No", full_name="")
    assert ok.status_code == 302
