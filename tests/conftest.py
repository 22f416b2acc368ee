"""Personas and helpers shared by every test.

Two hematology sites, ``own`` and ``other``, each with its surgical partner; one user per role
at ``own`` (site roles) or central; and a hematologist of ``other`` (the outsider).
"""

from __future__ import annotations

import json
import os
import secrets
import string
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import time_machine
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from hypothesis import settings as hypothesis_settings

from tests import clock
from tests.factories import (
    ParticipantFactory,
    SiteFactory,
    UserFactory,
    ensure_default_criteria,
)
from tests.settings_source import READ_BY_SETTINGS
from trial.models import Role

# Property-based tests check properties, not speed: hypothesis's default 200 ms deadline per
# example fails them on a loaded CI machine. Speed is measured by the benchmark commands.
hypothesis_settings.register_profile("vertebra", deadline=None)
hypothesis_settings.load_profile("vertebra")

# Playwright's sync API runs an event loop in the test thread; Django's ORM must be allowed
# to run there too.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


_midnight_travel: list = []


def pytest_configure(config):
    """With VERTEBRA_TEST_MIDNIGHT=<seconds>, the clock stands that many seconds before
    midnight in Copenhagen while the test modules are imported, and runs on from there once
    the tests start: the day changes during the run, as on a CI run started late at night."""
    seconds = clock.seconds_before_midnight()
    if seconds is not None:
        start = clock.before_midnight(seconds)
        _midnight_travel.append(time_machine.travel(start, tick=False))
        _midnight_travel[-1].start()
        _midnight_travel.append(start)


def pytest_collection_finish(session):
    if _midnight_travel:
        stopped, start = _midnight_travel
        stopped.stop()
        _midnight_travel[:] = [time_machine.travel(start, tick=True)]
        _midnight_travel[0].start()


def pytest_unconfigure(config):
    if len(_midnight_travel) == 1:
        _midnight_travel.pop().stop()


@pytest.fixture
def fixed_day():
    """The clock at noon of tests/clock.py's FIXED_DAY, running on: for tests that compare
    dates they computed with dates the code computes (see tests/clock.py)."""
    with time_machine.travel(clock.noon(clock.FIXED_DAY), tick=True):
        yield clock.FIXED_DAY


@pytest.fixture
def mail_server(settings):
    """The mail server is down (every message refused with an SMTP error) until the test sets
    ``mail_server.refusals = 0``; ``mail_server.attempts`` counts the tries."""
    from tests.mail_server import MailServer

    settings.EMAIL_BACKEND = "tests.mail_server.MailServer"
    MailServer.refusals, MailServer.attempts = MailServer.DOWN, 0
    yield MailServer
    MailServer.refusals, MailServer.attempts = 0, 0


@dataclass
class World:
    own: object
    other: object
    users: dict
    outsider: object
    own_participant: object
    other_participant: object


def private_files(root):
    """Settings that send exports and envelope PDFs to ``root``: for module-scoped fixtures,
    which the function-scoped one below does not cover."""
    from django.test import override_settings

    return override_settings(
        EXPORT_ROOT=root / "exports", RANDOMISATION_PDF_ROOT=root / "envelope-batches"
    )


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path_factory):
    """Exports and envelope PDFs written by a test go to a temporary directory, never to the
    checkout's media/ (a test that needs a known place sets its own)."""
    root = tmp_path_factory.mktemp("private")
    settings.EXPORT_ROOT = root / "exports"
    settings.RANDOMISATION_PDF_ROOT = root / "envelope-batches"


@pytest.fixture
def world(db) -> World:
    # Live-server tests flush the database, taking the migration's reference data with it.
    ensure_default_criteria()
    own = SiteFactory(code="AAR")
    other = SiteFactory(code="ODE")
    users = {}
    for role in Role:
        if role in (Role.HEMATOLOGIST, Role.NURSE):
            sites = [own]
        elif role == Role.SURGEON:
            sites = [own.surgical_partner]
        else:
            sites = []
        users[role] = UserFactory(username=f"{role}", role=role, sites=sites)
    outsider = UserFactory(username="outsider", role=Role.HEMATOLOGIST, sites=[other])
    return World(
        own=own,
        other=other,
        users=users,
        outsider=outsider,
        own_participant=ParticipantFactory(site=own, sequence=1),
        other_participant=ParticipantFactory(site=other, sequence=1),
    )


def verified_client(user) -> Client:
    """A client logged in with a confirmed second factor, as after a real login."""
    device, _ = TOTPDevice.objects.get_or_create(user=user, name="test", confirmed=True)
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def login():
    return verified_client


# --- the project run in a subprocess, under production-like settings (settings tests) ---
BASE_DIR = Path(__file__).resolve().parents[1]


def _secret_key() -> str:
    alphabet = string.ascii_letters + string.digits + "!@#%^&*(-_=+)"
    return "".join(secrets.choice(alphabet) for _ in range(60))


def production_env(**overrides: str | None) -> dict[str, str]:
    """The environment of a production process: this one's, without anything the settings
    read, plus a production configuration. ``None`` removes a variable."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in READ_BY_SETTINGS and not k.startswith(("DJANGO_", "CELERY_", "PYTEST_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="trial.settings",
        DEBUG="0",
        SECRET_KEY=_secret_key(),
        ALLOWED_HOSTS="vertebra.example.dk",
        DATABASE_URL="sqlite:////tmp/x.sqlite3",
    )
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def settings_in_process(names: list[str], env: dict[str, str]) -> dict:
    program = (
        "import json, django; django.setup(); from django.conf import settings; "
        "from trial.celery import app; "
        f"values = {{n: getattr(settings, n) for n in {names!r}}}; "
        "values['app.task_always_eager'] = app.conf.task_always_eager; "
        "print(json.dumps(values, default=str))"
    )
    result = run(["-c", program], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])
