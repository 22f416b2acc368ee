"""trial.concurrency on its own, and a stale page saved after someone else's save (no threads:
the races themselves are in the postgres-marked test_concurrency.py files)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from questionnaires.models import QuestionnaireResponse
from tests.conftest import verified_client
from tests.factories import UserFactory
from tests.questionnaires.factories import complete_visit
from trial.audit import audited_save
from trial.concurrency import ConcurrentChange, version_check, version_of
from trial.models import Identity, Role

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _in_english(settings):
    settings.LANGUAGE_CODE = "en"


def test_the_version_changes_with_every_save_and_is_empty_before_the_first(world):
    nurse = world.users[Role.NURSE]
    identity = Identity(participant=world.own_participant, full_name="Karen Hansen", cpr="")
    assert version_of(None) == "" and version_of(identity) == ""
    audited_save(identity, user=nurse, validate=False)
    first = version_of(identity)
    assert first and version_of(Identity.objects.get()) == first
    version_check(identity, first)  # the same version passes
    version_check(identity, None)  # no form, no check
    identity.phone = "12345678"
    audited_save(identity, user=nurse, reason="phone given", validate=False)
    assert version_of(identity) != first
    with pytest.raises(ConcurrentChange) as stale:
        version_check(identity, first)
    assert "12345678" in dict(stale.value.values).values()
    with pytest.raises(ConcurrentChange):
        version_check(identity, "")  # the page was loaded before the record existed


def test_a_lost_unique_race_names_the_winner_and_leaves_the_transaction_usable(world):
    first, second = world.users[Role.NURSE], UserFactory(role=Role.NURSE, sites=[world.own])
    audited_save(
        Identity(participant=world.own_participant, full_name="Karen Hansen", cpr=""),
        user=first,
        validate=False,
    )
    with transaction.atomic():
        # validate=False skips full_clean's own uniqueness check, as a race does.
        with pytest.raises(ConcurrentChange) as lost:
            audited_save(
                Identity(participant=world.own_participant, full_name="Karen M. H.", cpr=""),
                user=second,
                validate=False,
            )
        assert Identity.objects.count() == 1  # the savepoint kept the transaction usable
    conflict = lost.value
    assert conflict.who == first.get_full_name() and conflict.when is not None
    assert ("Full name", "Karen Hansen") in conflict.values
    assert "Someone else saved this form" in str(conflict)
    assert conflict.messages == [str(conflict)]  # a ValidationError for the forms as well


def test_other_integrity_errors_are_not_taken_for_a_race(world):
    response = QuestionnaireResponse(
        participant=world.own_participant,
        visit_code="BL",
        instrument_code="vas",
        instrument_version="1",
        status="submitted",  # without submitted_at: the check constraint refuses it
    )
    with pytest.raises(IntegrityError):
        audited_save(response, user=None, validate=False)


def test_a_page_saved_after_someone_else_saved_it_shows_both(world):
    participant = world.own_participant
    url = reverse("questionnaires:staff_correct", args=[participant.trial_number, "BL", "vas"])
    complete_visit(participant)
    first = verified_client(world.users[Role.NURSE])
    second = verified_client(UserFactory(username="nurse.two", role=Role.NURSE, sites=[world.own]))
    loaded = second.get(url)
    version = loaded.context["form"]["version"].value()
    assert version
    saved = first.post(
        url, {"vas_back": "11", "vas_leg": "21", "reason": "misread by the nurse",
              "version": version},
    )  # fmt: skip
    assert saved.status_code == 302
    stale = second.post(
        url, {"vas_back": "91", "vas_leg": "81", "reason": "heard it again",
              "version": version},
    )  # fmt: skip
    assert stale.status_code == 200
    page = stale.content.decode()
    assert "Someone else saved this form while you were filling it in" in page
    assert 'data-testid="concurrent-change"' in page
    assert 'value="91"' in page and 'value="81"' in page
    assert QuestionnaireResponse.objects.get(instrument_code="vas").answers == {
        "vas_back": 11,
        "vas_leg": 21,
    }


def test_a_conflict_never_shows_secrets(world):
    """A staff account that lost a race (two invitations of one username) is shown without its
    password hash or stamps."""
    user = world.users[Role.NURSE]
    user.set_password("a long enough password")
    user.save()
    shown = ConcurrentChange.of(user).values
    labels = {label.lower() for label, _value in shown}
    assert "password" not in labels and "last login" not in labels
    assert not any(user.password in value for _label, value in shown)
