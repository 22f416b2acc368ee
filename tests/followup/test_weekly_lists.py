"""Weekly lists: the page, the PDF, and the Monday e-mail sent once per nurse and week."""

from __future__ import annotations

import datetime as dt
import io
import threading

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from followup import services
from followup.models import WeeklyList
from followup.selectors import week_start_of
from tests.conftest import verified_client
from tests.factories import UserFactory
from tests.followup.conftest import open_contact, randomised
from trial.models import Role

MONDAY = dt.date(2026, 3, 30)


@pytest.fixture
def week(world):
    inside = randomised(world.own, 2, start=50)
    open_contact(inside[0], "W1", target=MONDAY + dt.timedelta(days=2))
    open_contact(inside[1], "W2", target=MONDAY - dt.timedelta(days=2))  # closes Tuesday
    open_contact(inside[1], "W3", target=MONDAY + dt.timedelta(days=12))  # next week
    other = randomised(world.other, 1, start=50)[0]
    open_contact(other, "W1", target=MONDAY + dt.timedelta(days=1))
    return inside


def test_the_coming_week_is_this_monday_on_a_monday_else_the_next():
    assert services.coming_week_start(MONDAY) == MONDAY
    assert services.coming_week_start(MONDAY + dt.timedelta(days=3)) == MONDAY + dt.timedelta(7)
    assert week_start_of(MONDAY + dt.timedelta(days=6)) == MONDAY


def test_the_page_lists_the_weeks_contacts_of_the_nurses_sites(world, week):
    client = verified_client(world.users[Role.NURSE])
    response = client.get(reverse("followup:weekly_list"), {"week": "2026-04-01"})
    listed = [
        (r.contact.participant.trial_number, r.contact.visit_code) for r in response.context["rows"]
    ]
    assert listed == [(week[1].trial_number, "W2"), (week[0].trial_number, "W1")]
    assert week[0].identity.full_name in response.content.decode()


def test_the_pdf_is_generated(world, week):
    client = verified_client(world.users[Role.NURSE])
    response = client.get(reverse("followup:weekly_list_pdf"), {"week": MONDAY.isoformat()})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_each_nurse_gets_the_list_once_however_often_it_runs(world, week):
    UserFactory(username="nurse-no-mail", role=Role.NURSE, sites=[world.own], email="")
    assert services.weekly_lists_send(week_start=MONDAY) == {"sent": 1, "skipped": 0}
    assert services.weekly_lists_send(week_start=MONDAY) == {"sent": 0, "skipped": 0}
    out = io.StringIO()
    call_command("followup_weekly_lists", "--week-of", "2026-04-02", stdout=out)
    assert "sent 0 weekly lists" in out.getvalue()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [world.users[Role.NURSE].email]
    _name, content, mimetype = message.attachments[0]
    assert mimetype == "application/pdf" and content.startswith(b"%PDF")
    weekly = WeeklyList.objects.get()
    assert (weekly.week_start, weekly.contact_count) == (MONDAY, 2)
    assert weekly.sent_at is not None


def test_the_emailed_pdf_carries_no_names(world, week, monkeypatch):
    seen = {}
    from followup import pdf

    original = pdf.weekly_list_pdf

    def spy(**kwargs):
        seen.update(kwargs)
        return original(**kwargs)

    monkeypatch.setattr(pdf, "weekly_list_pdf", spy)
    services.weekly_lists_send(week_start=MONDAY)
    assert seen["identified"] is False
    assert week[0].identity.full_name not in mail.outbox[0].body


def test_a_failed_send_releases_the_claim(world, week, monkeypatch):
    from django.core.mail import EmailMessage

    def boom(self, *args, **kwargs):
        raise ConnectionError("smtp down")

    monkeypatch.setattr(EmailMessage, "send", boom)
    with pytest.raises(ConnectionError):
        services.weekly_lists_send(week_start=MONDAY)
    monkeypatch.undo()
    assert WeeklyList.objects.get().claimed_at is None
    assert services.weekly_lists_send(week_start=MONDAY)["sent"] == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_send_once(world, week):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL for real concurrency")
    results = []

    def run():
        try:
            results.append(services.weekly_lists_send(week_start=MONDAY))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r["sent"] for r in results) == 1
    assert len(mail.outbox) == 1
