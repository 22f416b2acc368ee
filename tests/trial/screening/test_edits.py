"""Corrections of screening-log entries and cancellation of referrals: the site's
hematologist only, always with a reason, always audited."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from tests.conftest import verified_client
from tests.factories import ReferralFactory, ScreeningLogEntryFactory
from trial.errors import ServiceError
from trial.models import ReferralStatus, Role, ScreeningLogEntry
from trial.screening import services as screening_services
from trial.screening.selectors import open_referrals_for


@pytest.fixture(autouse=True)
def in_english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def hema(world):
    return world.users[Role.HEMATOLOGIST]


def _edit_data(entry, **changes):
    data = {
        "screened_on": entry.screened_on.isoformat(),
        "age": entry.age,
        "sex": entry.sex,
        "myeloma_status": entry.myeloma_status,
        "decision": entry.decision,
        "reason": entry.reason,
        "change_reason": "typo in the log",
    }
    data.update(changes)
    return data


def test_the_hematologist_corrects_an_entry_with_a_reason(world, hema):
    entry = ScreeningLogEntryFactory(site=world.own, age=70)
    client = verified_client(hema)
    url = reverse("trial:screening_log_edit", args=[entry.pk])
    page = client.get(url).content.decode()
    assert 'data-testid="entry-history-link"' in page

    response = client.post(url, _edit_data(entry, age=72, decision="declined", reason="No"))
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.age == 72 and entry.decision == "declined"
    latest = entry.history.order_by("-history_date").first()
    assert latest.history_user == hema
    assert latest.history_change_reason == "typo in the log"

    detail = client.get(reverse("trial:screening_log_detail", args=[entry.pk])).content.decode()
    assert 'id="history"' in detail and "typo in the log" in detail
    assert "70 → 72" in detail.replace("\n", "")
    assert 'data-testid="action-edit-entry"' in detail


def test_a_correction_needs_a_reason(world, hema):
    entry = ScreeningLogEntryFactory(site=world.own, age=70)
    client = verified_client(hema)
    url = reverse("trial:screening_log_edit", args=[entry.pk])
    response = client.post(url, _edit_data(entry, age=75, change_reason=""))
    assert response.status_code == 200
    entry.refresh_from_db()
    assert entry.age == 70 and entry.history.count() == 1
    with pytest.raises(ValidationError):
        screening_services.screening_log_entry_update(
            entry=entry, user=hema, data={"age": 75}, reason=" "
        )


def test_a_correction_is_validated_and_never_half_saved(world, hema):
    entry = ScreeningLogEntryFactory(site=world.own, age=70)
    client = verified_client(hema)
    url = reverse("trial:screening_log_edit", args=[entry.pk])
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    for bad in (
        {"screened_on": tomorrow, "age": 71},
        {"age": 17},
        {"decision": "declined", "reason": "", "age": 71},
        {"decision": "included", "age": 71},  # not turned into a participant by an edit
    ):
        response = client.post(url, _edit_data(entry, **bad))
        assert response.status_code == 200, bad
        entry.refresh_from_db()
        assert entry.age == 70 and entry.history.count() == 1, bad


def test_an_included_patients_decision_cannot_be_changed_here(world, hema):
    entry = ScreeningLogEntryFactory(
        site=world.own, decision="included", reason="", participant=world.own_participant
    )
    with pytest.raises(ValidationError):
        screening_services.screening_log_entry_update(
            entry=entry, user=hema, data={"decision": "declined", "reason": "x"}, reason="r"
        )
    entry, changed = screening_services.screening_log_entry_update(
        entry=entry, user=hema, data={"age": 80, "decision": "included"}, reason="age"
    )
    assert changed and ScreeningLogEntry.objects.get(pk=entry.pk).age == 80


def test_only_the_sites_hematologist_may_correct(world):
    entry = ScreeningLogEntryFactory(site=world.own)
    url = reverse("trial:screening_log_edit", args=[entry.pk])
    for role in (Role.NURSE, Role.SURGEON, Role.COORDINATOR, Role.DATA_MANAGER, Role.MONITOR):
        response = verified_client(world.users[role]).post(url, _edit_data(entry, age=90))
        assert response.status_code == 403, role
    other = ScreeningLogEntryFactory(site=world.other)
    response = verified_client(world.users[Role.HEMATOLOGIST]).get(
        reverse("trial:screening_log_edit", args=[other.pk])
    )
    assert response.status_code == 404
    entry.refresh_from_db()
    assert entry.age != 90
    nurse_view = verified_client(world.users[Role.NURSE]).get(
        reverse("trial:screening_log_detail", args=[entry.pk])
    )
    assert b"action-edit-entry" not in nurse_view.content


def test_the_hematologist_cancels_an_open_referral(world, hema):
    participant = world.own_participant
    referral = ReferralFactory(participant=participant, referred_by=hema)
    surgeon = world.users[Role.SURGEON]
    assert referral in open_referrals_for(surgeon)
    client = verified_client(hema)
    page = client.get(participant.get_absolute_url()).content.decode()
    assert 'data-testid="action-referral-cancel"' in page

    url = reverse("trial:referral_cancel", args=[participant.trial_number])
    assert client.post(url, {"reason": ""}).status_code == 200
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.OPEN

    response = client.post(url, {"reason": "Referred by mistake"})
    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.CANCELLED
    latest = referral.history.order_by("-history_date").first()
    assert latest.history_user == hema and latest.history_change_reason == "Referred by mistake"
    assert referral not in open_referrals_for(surgeon)
    surgeon_list = verified_client(surgeon).get(reverse("trial:referral_list")).content.decode()
    assert participant.trial_number not in surgeon_list

    page = client.get(participant.get_absolute_url()).content.decode()
    assert 'data-testid="referral-cancel-reason"' in page
    assert "Referred by mistake" in page
    assert "cancelled" in page  # the timeline event
    assert 'data-testid="action-referral-cancel"' not in page
    assert 'data-testid="action-referral"' in page  # a new referral is possible again


def test_cancelling_needs_an_open_referral_and_the_sites_hematologist(world, hema):
    participant = world.own_participant
    with pytest.raises(ServiceError):
        screening_services.referral_cancel(participant=participant, user=hema, reason="x")
    ReferralFactory(participant=participant)
    url = reverse("trial:referral_cancel", args=[participant.trial_number])
    for role in (Role.NURSE, Role.SURGEON, Role.COORDINATOR, Role.MONITOR):
        assert verified_client(world.users[role]).post(url, {"reason": "x"}).status_code == 403
    other_url = reverse("trial:referral_cancel", args=[world.other_participant.trial_number])
    assert verified_client(hema).post(other_url, {"reason": "x"}).status_code == 404
    assert participant.referrals.get().status == ReferralStatus.OPEN
