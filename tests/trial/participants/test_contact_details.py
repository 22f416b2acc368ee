"""Contact details (phone, e-mail, address, language) are changed on their own page by the
roles that read identifying data, with a reason, audited; the next link goes to the new
address."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import translation

from questionnaires import links
from tests.factories import IdentityFactory
from trial.models import Identity, Role
from trial.participants import services

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def _url(participant):
    return reverse("trial:contact_details_edit", args=[participant.trial_number])


def _form(identity, **changes):
    data = {
        "phone": identity.phone,
        "email": identity.email,
        "address": identity.address,
        "language": identity.participant.language,
        "reason": "",
    }
    return {**data, **changes}


@pytest.fixture
def identity(world):
    return IdentityFactory(participant=world.own_participant, email="", phone="+45 11 22 33 44")


def test_the_nurse_gives_a_patient_without_e_mail_one_with_a_reason(world, login, identity):
    client = login(world.users[Role.NURSE])
    page = client.get(_url(identity.participant))
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    response = client.post(
        _url(identity.participant),
        _form(identity, email=" new@example.dk ", reason="Patient gave it on the phone"),
    )
    assert response.status_code == 302
    assert response["Location"] == identity.participant.get_absolute_url()
    identity.refresh_from_db()
    assert identity.email == "new@example.dk"
    last = identity.history.first()
    assert last.history_user == world.users[Role.NURSE]
    assert last.history_change_reason == "Patient gave it on the phone"
    assert last.prev_record.email == ""


def test_the_audit_history_shows_the_change_to_identity_readers_only(world, login, identity):
    services.contact_details_set(
        participant=identity.participant,
        user=world.users[Role.NURSE],
        phone=identity.phone,
        email="new@example.dk",
        address=identity.address,
        language="da",
        reason="Patient gave it on the phone",
    )
    url = reverse("trial:participant_history", args=[identity.participant.trial_number])
    nurse_page = login(world.users[Role.NURSE]).get(url).content.decode()
    assert "new@example.dk" in nurse_page and "Patient gave it on the phone" in nurse_page
    monitor_page = login(world.users[Role.MONITOR]).get(url).content.decode()
    assert "new@example.dk" not in monitor_page


def test_a_change_without_a_reason_is_refused_on_the_page(world, login, identity):
    response = login(world.users[Role.NURSE]).post(
        _url(identity.participant), _form(identity, email="new@example.dk", reason=" ")
    )
    assert response.status_code == 200
    assert "Give a reason of at least" in response.content.decode()
    identity.refresh_from_db()
    assert identity.email == ""


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "not-an-address", "Enter a valid email address."),
        ("email", "a@b", "Enter a valid email address."),
        ("phone", "12 34", "Enter a phone number of 8 to 16 digits."),
        ("phone", "call the daughter", "Enter a phone number of 8 to 16 digits."),
        ("language", "fr", "Select a valid choice."),
    ],
)
def test_bad_contact_details_get_a_message_not_a_500(world, login, identity, field, value, message):
    before = (identity.phone, identity.email)
    response = login(world.users[Role.NURSE]).post(
        _url(identity.participant),
        _form(identity, reason="New details from the patient", **{field: value}),
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    identity.refresh_from_db()
    assert (identity.phone, identity.email) == before
    assert identity.history.count() == 1


def test_saving_unchanged_details_needs_no_reason_and_writes_nothing(world, login, identity):
    participant_versions = identity.participant.history.count()
    response = login(world.users[Role.NURSE]).post(_url(identity.participant), _form(identity))
    assert response.status_code == 302
    assert identity.history.count() == 1
    assert identity.participant.history.count() == participant_versions


def test_the_language_is_changed_on_the_participant_with_the_same_reason(world, login, identity):
    response = login(world.users[Role.DATA_MANAGER]).post(
        _url(identity.participant), _form(identity, language="en", reason="Reads English only")
    )
    assert response.status_code == 302
    participant = identity.participant
    participant.refresh_from_db()
    assert participant.language == "en"
    assert participant.history.first().history_change_reason == "Reads English only"
    assert identity.history.count() == 1  # the identity itself is unchanged


def test_a_form_loaded_before_someone_elses_save_is_refused_with_their_values(
    world, login, identity
):
    client = login(world.users[Role.NURSE])
    loaded = services.contact_details_version(identity.participant, identity)
    services.contact_details_set(
        participant=identity.participant,
        user=world.users[Role.HEMATOLOGIST],
        phone="+45 99 88 77 66",
        email="",
        address=identity.address,
        language="da",
        reason="New number from the GP",
    )
    response = client.post(
        _url(identity.participant),
        _form(identity, email="mine@example.dk", reason="Patient gave it", version=loaded),
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Someone else saved this form" in page
    assert "+45 99 88 77 66" in page  # their value, shown
    assert "mine@example.dk" in page  # mine, kept in the form
    identity.refresh_from_db()
    assert (identity.phone, identity.email) == ("+45 99 88 77 66", "")


def test_a_language_changed_meanwhile_is_a_conflict_too(world, login, identity):
    loaded = services.contact_details_version(identity.participant, identity)
    participant = identity.participant
    services.contact_details_set(
        participant=participant,
        user=world.users[Role.HEMATOLOGIST],
        phone=identity.phone,
        email="",
        address=identity.address,
        language="en",
        reason="Reads English only",
    )
    response = login(world.users[Role.NURSE]).post(
        _url(participant),
        _form(identity, email="mine@example.dk", reason="Patient gave it", version=loaded),
    )
    assert response.status_code == 200
    assert "Someone else saved this form" in response.content.decode()
    participant.refresh_from_db()
    assert participant.language == "en"


def test_the_next_link_goes_to_the_new_address(world, identity, django_capture_on_commit_callbacks):
    identity.email = "old@example.dk"
    identity.save()
    participant = identity.participant
    with django_capture_on_commit_callbacks(execute=True):
        link = links.link_send(
            participant=participant, visit_code="BL", user=None, via="email", language="da"
        )
    # Changed while a second link waits for its delivery: the delivery reads the new address.
    services.contact_details_set(
        participant=participant,
        user=world.users[Role.NURSE],
        phone=identity.phone,
        email="new@example.dk",
        address=identity.address,
        language="da",
        reason="The old address bounced",
    )
    second = links.link_send(
        participant=participant, visit_code="BL", user=None, via="email", language="da"
    )
    assert links.link_deliver(link_id=second.pk)
    assert [m.to for m in mail.outbox] == [["old@example.dk"], ["new@example.dk"]]
    assert link.pk != second.pk


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.MONITOR, Role.SURGEON])
def test_roles_that_cannot_read_identity_cannot_open_or_post(world, login, identity, role):
    client = login(world.users[role])
    assert client.get(_url(identity.participant)).status_code == 403
    assert (
        client.post(_url(identity.participant), _form(identity, email="x@example.dk")).status_code
        == 403
    )
    detail = client.get(identity.participant.get_absolute_url()).content.decode()
    assert _url(identity.participant) not in detail


def test_staff_of_another_site_get_404(world, login, identity):
    response = login(world.outsider).post(
        _url(identity.participant), _form(identity, email="x@example.dk", reason="Not my patient")
    )
    assert response.status_code == 404
    identity.refresh_from_db()
    assert identity.email == ""


def test_the_participant_page_offers_the_edit_to_the_nurse(world, login, identity):
    detail = login(world.users[Role.NURSE]).get(identity.participant.get_absolute_url())
    assert _url(identity.participant) in detail.content.decode()


def test_a_participant_without_identity_has_no_contact_details_to_edit(world, login):
    participant = world.own_participant
    client = login(world.users[Role.NURSE])
    page = client.get(_url(participant))
    assert page.status_code == 200 and "No identifying data recorded." in page.content.decode()
    posted = client.post(
        _url(participant),
        {"phone": "", "email": "a@example.dk", "address": "", "language": "da", "reason": "x" * 20},
    )
    assert posted.status_code == 200
    assert not Identity.objects.exists()
    assert _url(participant) not in client.get(participant.get_absolute_url()).content.decode()
