"""seed_demo's refusals, on an empty database."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from trial.models import Site
from trial.participants.demo import add_participants

pytestmark = pytest.mark.django_db


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_it_refuses_a_negative_count():
    with pytest.raises(CommandError):
        seed("--participants", "-1")
    assert not Site.objects.exists()


def test_adding_participants_needs_hematology_sites():
    from trial.errors import ServiceError

    with pytest.raises(ServiceError):
        add_participants(5)
