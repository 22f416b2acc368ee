"""Contacts: one per participant and visit (a database constraint), status updates that are
safe to run twice, and cancellation of everything open when follow-up must stop."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from followup import services
from followup.models import Contact, ContactStatus
from trial.registry import registry

TODAY = dt.date(2026, 3, 30)


def make_contact(participant, code="W1", *, target=TODAY, before=3, after=3, status="planned"):
    return Contact.objects.create(
        participant=participant,
        visit_code=code,
        anchor="randomisation",
        anchor_date=target - dt.timedelta(days=7),
        target_date=target,
        window_opens=target - dt.timedelta(days=before),
        window_closes=target + dt.timedelta(days=after),
        status=status,
    )


def test_the_database_refuses_a_second_contact_for_the_same_visit(world):
    make_contact(world.own_participant)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_contact(world.own_participant)


def test_the_database_refuses_a_window_that_does_not_contain_its_target(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        make_contact(world.own_participant, before=-1)


def test_planned_becomes_due_when_the_window_opens_and_missed_when_it_closes(world):
    p = world.own_participant
    opening = make_contact(p, "W1", target=TODAY + dt.timedelta(days=3))  # opens today
    later = make_contact(p, "W2", target=TODAY + dt.timedelta(days=10))
    closed = make_contact(p, "W3", target=TODAY - dt.timedelta(days=4), status="due")  # closed
    edge = make_contact(p, "W4", target=TODAY - dt.timedelta(days=3), status="due")  # closes today

    assert services.contacts_update_status(today=TODAY) == {"due": 1, "missed": 1}
    statuses = {c.visit_code: c.status for c in Contact.objects.all()}
    assert statuses == {"W1": "due", "W2": "planned", "W3": "missed", "W4": "due"}
    # The rows were updated in place, not replaced.
    assert set(Contact.objects.values_list("pk", flat=True)) == {
        opening.pk,
        later.pk,
        closed.pk,
        edge.pk,
    }
    # Running it again changes nothing.
    assert services.contacts_update_status(today=TODAY) == {"due": 0, "missed": 0}


def test_status_changes_by_the_nightly_job_are_audited_with_a_reason(world):
    contact = make_contact(world.own_participant, target=TODAY - dt.timedelta(days=10))
    services.contacts_update_status(today=TODAY)
    latest = contact.history.order_by("-history_date").first()
    assert latest.status == ContactStatus.MISSED
    assert "closed" in latest.history_change_reason


def test_done_contacts_are_never_marked_missed(world):
    make_contact(world.own_participant, target=TODAY - dt.timedelta(days=10), status="done")
    assert services.contacts_update_status(today=TODAY)["missed"] == 0


def test_ending_follow_up_cancels_every_open_contact_in_the_same_transaction(world):
    p = world.own_participant
    make_contact(p, "W1", status="due")
    make_contact(p, "W2", status="planned")
    make_contact(p, "W3", status="done")
    with transaction.atomic():
        for hook in registry.participant_ended_hooks:
            hook(participant=p, reason="Death recorded", user=None)
        assert set(Contact.objects.values_list("visit_code", "status")) == {
            ("W1", "cancelled"),
            ("W2", "cancelled"),
            ("W3", "done"),
        }
    cancelled = Contact.objects.get(visit_code="W1")
    assert cancelled.cancelled_reason == "Death recorded"
    assert cancelled.history.first().history_change_reason == "Death recorded"
