"""The follow-up panels of the coordinator's dashboard: the overdue contacts say how late each
one is and whether its window has closed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from followup.dashboard import overdue_context
from tests.conftest import verified_client
from tests.followup.conftest import allocate, open_contact
from trial.models import Role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fixed_day")]


def test_overdue_contacts_say_how_late_they_are_and_whether_the_window_closed(world, fixed_day):
    p = world.own_participant
    allocate(p, timezone.now())
    open_contact(p, "W1", target=fixed_day - dt.timedelta(days=2))  # window closes tomorrow
    open_contact(p, "W2", target=fixed_day - dt.timedelta(days=5))  # window closed 2 days ago
    open_contact(p, "W3", target=fixed_day)  # due today, not overdue

    ctx = overdue_context(None)
    assert ctx["count"] == 2
    assert [
        (c.participant.trial_number, c.visit_code, c.days_overdue, c.window_closed)
        for c in ctx["contacts"]
    ] == [(p.trial_number, "W2", 5, True), (p.trial_number, "W1", 2, False)]

    html = verified_client(world.users[Role.COORDINATOR]).get(reverse("trial:dashboard"))
    table = html.content.decode().split('data-testid="overdue"')[1].split("</table>")[0]
    rows = table.split("<tr>")[2:]  # past the header row
    assert [("text-bg-danger" in row, row.rsplit('"text-end">', 1)[1][:2]) for row in rows] == [
        (True, "5<"),
        (False, "2<"),
    ]
    assert p.get_absolute_url() in rows[0]
