"""The audit trail: reasons for changes, reading the trail, the audit log page, and the
history of accounts, roles and site memberships."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from tests.conftest import verified_client
from tests.factories import SiteFactory, UserFactory
from trial.audit import ReasonRequired, audit_entries, audited_save
from trial.models import Identity, Role, SiteMembership, User
from trial.participants.demo import add_participants
from trial.participants.services import identity_set


def _identity(participant, user, **kwargs):
    values = {"full_name": "Inger Første", "cpr": "150550-1234", "reason": ""}
    values.update(kwargs)
    return identity_set(participant=participant, user=user, **values)


def _entries(**filters):
    # Field and model labels are translated when the trail is read; read it in English.
    with translation.override("en"):
        return audit_entries(**filters)


def _identity_entries(**filters):
    return [e for e in _entries(**filters) if e.model_label == "identifying data"]


def _change(entry, field_label):
    return next((old, new) for name, old, new in entry.changes if name == field_label)


# --- reasons ------------------------------------------------------------------------------


def test_a_first_save_needs_no_reason(world):
    user = world.users[Role.HEMATOLOGIST]
    identity = _identity(world.own_participant, user)
    row = identity.history.get()
    assert row.history_type == "+"
    assert row.history_change_reason is None
    assert row.history_user == user


def test_it_refuses_a_correction_without_a_reason(world):
    user = world.users[Role.HEMATOLOGIST]
    _identity(world.own_participant, user)
    with pytest.raises(ReasonRequired):
        _identity(world.own_participant, user, full_name="Inger Anden")
    with pytest.raises(ReasonRequired):
        _identity(world.own_participant, user, full_name="Inger Anden", reason="   ")
    stored = Identity.objects.get(participant=world.own_participant)
    assert stored.full_name == "Inger Første"
    assert stored.history.count() == 1


def test_a_correction_records_the_reason_and_the_user(world):
    author, corrector = world.users[Role.HEMATOLOGIST], world.users[Role.DATA_MANAGER]
    _identity(world.own_participant, author)
    _identity(
        world.own_participant, corrector, full_name="Inger Anden", reason="  Typo in the name "
    )
    latest = Identity.objects.get(participant=world.own_participant).history.first()
    assert latest.history_type == "~"
    assert latest.history_change_reason == "Typo in the name"
    assert latest.history_user == corrector
    assert latest.full_name == "Inger Anden"


def test_it_normalises_the_cpr_number_before_saving(world):
    identity = _identity(world.own_participant, None, cpr="1505501234")
    assert identity.cpr == "150550-1234"


def test_it_refuses_an_invalid_cpr_number(world):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        _identity(world.own_participant, None, cpr="310250-1234")
    assert not Identity.objects.exists()


# --- reading the trail --------------------------------------------------------------------


def test_entries_show_old_and_new_values_and_the_reason(world):
    user = world.users[Role.HEMATOLOGIST]
    _identity(world.own_participant, user)
    _identity(world.own_participant, user, full_name="Inger Anden", reason="Married")
    changed, created = _identity_entries(participant_id=world.own_participant.id)
    assert changed.action == "changed"
    assert changed.reason == "Married"
    assert changed.user == user
    assert changed.trial_number == world.own_participant.trial_number
    assert _change(changed, "full name") == ("Inger Første", "Inger Anden")
    # Unchanged fields are not listed.
    assert [name for name, _old, _new in changed.changes] == ["full name"]
    assert created.action == "created"
    assert _change(created, "CPR number") == ("—", "150550-1234")


def test_entries_show_choice_labels(world):
    from trial.participants.services import participant_status_set

    participant_status_set(
        participant=world.own_participant, status="withdrawn", user=None, reason="Patient asked"
    )
    entry = _entries(participant_id=world.own_participant.id)[0]
    assert entry.changes == [("status", "In screening", "Withdrawn")]


def test_entries_filter_by_participant(world):
    _identity(world.own_participant, None)
    _identity(world.other_participant, None, cpr="150550-1236")
    entries = _entries(participant_id=world.own_participant.id)
    assert entries
    assert {e.participant_id for e in entries} == {world.own_participant.id}
    assert {e.trial_number for e in entries} == {world.own_participant.trial_number}


def test_entries_filter_by_user(world):
    hematologist, nurse = world.users[Role.HEMATOLOGIST], world.users[Role.NURSE]
    _identity(world.own_participant, hematologist)
    _identity(world.other_participant, nurse, cpr="150550-1236")
    entries = _entries(user_id=nurse.id)
    assert [(e.model_label, e.participant_id) for e in entries] == [
        ("identifying data", world.other_participant.id)
    ]


def test_a_user_filtered_entry_shows_the_value_it_actually_replaced(world):
    # A and B take turns correcting the name; B's latest change replaced A's value, and the
    # trail must say so even when only B's entries are listed.
    a, b = world.users[Role.HEMATOLOGIST], world.users[Role.NURSE]
    _identity(world.own_participant, a, full_name="Name 0")
    _identity(world.own_participant, b, full_name="Name 1", reason="1")
    _identity(world.own_participant, a, full_name="Name 2", reason="2")
    _identity(world.own_participant, b, full_name="Name 3", reason="3")
    latest, earlier = _identity_entries(user_id=b.id)
    assert _change(latest, "full name") == ("Name 2", "Name 3")
    assert _change(earlier, "full name") == ("Name 0", "Name 1")


def _move_history(identity, when: dt.datetime):
    identity.history.update(history_date=when)


def test_entries_filter_by_date_range(world):
    tz = timezone.get_current_timezone()
    old = _identity(world.own_participant, None)
    new = _identity(world.other_participant, None, cpr="150550-1236")
    # Late evening Copenhagen time: already the next day in UTC... or not. Both must count
    # as the local day.
    _move_history(old, dt.datetime(2026, 3, 10, 23, 30, tzinfo=tz))
    _move_history(new, dt.datetime(2026, 3, 12, 0, 30, tzinfo=tz))

    def ids(**filters):
        return {e.participant_id for e in _identity_entries(**filters)}

    assert ids(date_from=dt.date(2026, 3, 10), date_to=dt.date(2026, 3, 10)) == {
        world.own_participant.id
    }
    assert ids(date_from=dt.date(2026, 3, 11), date_to=dt.date(2026, 3, 11)) == set()
    assert ids(date_from=dt.date(2026, 3, 12)) == {world.other_participant.id}
    assert ids(date_to=dt.date(2026, 3, 11)) == {world.own_participant.id}
    assert ids(date_from=dt.date(2026, 3, 10), date_to=dt.date(2026, 3, 12)) == {
        world.own_participant.id,
        world.other_participant.id,
    }


def test_entries_are_newest_first_and_paginate(world):
    user = world.users[Role.HEMATOLOGIST]
    _identity(world.own_participant, user, full_name="Name 0")
    for n in range(1, 6):
        _identity(world.own_participant, user, full_name=f"Name {n}", reason=str(n))
    first = _identity_entries(participant_id=world.own_participant.id)
    assert [e.reason for e in first] == ["5", "4", "3", "2", "1", ""]
    page = _entries(participant_id=world.own_participant.id, limit=2, offset=1)
    assert [e.reason for e in page] == ["4", "3"]


# --- the audit log page -------------------------------------------------------------------


def _audit_url(**params) -> str:
    from urllib.parse import urlencode

    url = reverse("trial:audit_log")
    return f"{url}?{urlencode(params)}" if params else url


def test_the_audit_log_lists_entries(world):
    _identity(world.own_participant, world.users[Role.HEMATOLOGIST])
    _identity(
        world.own_participant,
        world.users[Role.HEMATOLOGIST],
        full_name="Inger Anden",
        reason="Wrong name entered",
    )
    response = verified_client(world.users[Role.COORDINATOR]).get(_audit_url())
    assert response.status_code == 200
    content = response.content.decode()
    assert "Wrong name entered" in content
    assert world.own_participant.trial_number in content
    assert response.context["entries"]


def test_the_audit_log_filters_by_trial_number(world):
    _identity(world.own_participant, None, reason="")
    response = verified_client(world.users[Role.COORDINATOR]).get(
        _audit_url(participant=world.other_participant.trial_number.lower())
    )
    assert response.status_code == 200
    assert response.context["entries"]
    assert {e.participant_id for e in response.context["entries"]} == {world.other_participant.id}


def test_the_audit_log_explains_a_reversed_date_range(world):
    response = verified_client(world.users[Role.COORDINATOR]).get(
        _audit_url(date_from="2026-03-12", date_to="2026-03-10")
    )
    assert response.status_code == 200
    with translation.override("da"):
        message = gettext("The start date is after the end date.")
    assert message in response.content.decode()
    assert response.context["entries"] == []


def test_the_audit_log_survives_a_malformed_date(world):
    response = verified_client(world.users[Role.COORDINATOR]).get(
        _audit_url(date_from="not-a-date", page="x")
    )
    assert response.status_code == 200
    assert response.context["form"].errors


def test_the_audit_log_warns_about_an_unknown_trial_number(world):
    response = verified_client(world.users[Role.COORDINATOR]).get(_audit_url(participant="ZZZ-999"))
    assert response.status_code == 200
    assert response.context["participant_missing"] is True
    with translation.override("da"):
        message = gettext("No participant with that trial number.")
    assert message in response.content.decode()
    assert response.context["entries"] == []


@pytest.mark.parametrize(
    ("role", "allowed"),
    [(Role.COORDINATOR, False), (Role.MONITOR, False), (Role.DATA_MANAGER, True)],
)
def test_the_audit_log_shows_identifying_data_only_to_roles_allowed_to_see_it(world, role, allowed):
    # README: names and CPR numbers are for the participant's own hematologists and nurses
    # and for data managers; the audit trail must not be a way round that.
    _identity(world.own_participant, None, full_name="Bodil Hemmelig", cpr="150550-1234")
    response = verified_client(world.users[role]).get(_audit_url())
    assert response.status_code == 200
    content = response.content.decode()
    assert ("Bodil Hemmelig" in content) is allowed
    assert ("150550-1234" in content) is allowed


def _queries_for(client, url) -> int:
    client.get(url)  # warm up: session, content types, translations
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("name", ["trial:audit_log", "trial:participant_list"])
def test_busy_pages_cost_the_same_queries_for_10_and_200_participants(world, name):
    client = verified_client(world.users[Role.COORDINATOR])
    author = world.users[Role.HEMATOLOGIST]
    url = reverse(name)
    add_participants(8, author=author, seed=1)  # 10 with the two of the world
    small = _queries_for(client, url)
    add_participants(190, author=author, seed=2)
    large = _queries_for(client, url)
    assert small == large


# --- accounts, roles and site memberships -------------------------------------------------


@pytest.mark.django_db
def test_site_memberships_are_audited():
    site = SiteFactory(code="AAR")
    user = UserFactory(role=Role.NURSE)
    membership = SiteMembership.objects.create(user=user, site=site)
    membership_id = membership.id
    membership.delete()
    rows = SiteMembership.history.filter(id=membership_id).order_by("history_date")
    assert [r.history_type for r in rows] == ["+", "-"]
    assert {(r.user_id, r.site_id) for r in rows} == {(user.id, site.id)}


@pytest.mark.django_db
def test_a_role_change_is_audited():
    user = UserFactory(role=Role.NURSE)
    before = user.history.count()
    user.role = Role.HEMATOLOGIST
    user._change_reason = "Promoted"
    user.save()
    assert user.history.count() == before + 1
    latest = user.history.first()
    assert latest.role == Role.HEMATOLOGIST
    assert latest.history_change_reason == "Promoted"
    assert latest.prev_record.role == Role.NURSE


@pytest.mark.django_db
def test_password_hashes_stay_out_of_the_user_history():
    history_fields = {f.name for f in User.history.model._meta.fields}
    assert "password" not in history_fields
    assert "last_login" not in history_fields


def test_membership_changes_show_in_the_audit_log(world):
    nurse = UserFactory(username="newnurse", role=Role.NURSE)
    SiteMembership.objects.create(user=nurse, site=world.other)
    SiteMembership.objects.filter(user=nurse).delete()
    actions = [e.action for e in _entries() if e.model_label == "site membership"][:2]
    assert actions == ["deleted", "created"]


def test_a_long_reason_for_a_change_is_kept_in_full(world):
    # The reason is free text; PostgreSQL refused anything over simple-history's default
    # 100 characters, which lost the change with a 500.
    participant = world.own_participant
    participant.initials = "ZZ"
    reason = "Corrected after source-data verification against the hospital record; " * 5
    audited_save(participant, user=world.users["data_manager"], reason=reason)
    assert participant.history.first().history_change_reason == reason.strip()
