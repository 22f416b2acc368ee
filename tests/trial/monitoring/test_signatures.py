"""Investigator sign-off (21 CFR 11.50, 11.200): the site's hematologist signs a casebook, or one
visit of it, with the password again and the second factor's code; the meaning, name, UTC time
and records signed are kept; a later change to signed data marks the signature as needing
renewal and e-mails the signer; signatures are in the audit trail, the lists and the export."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import translation
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import verified_client
from tests.factories import (
    AdverseEventFactory,
    ParticipantFactory,
    ScreeningFormFactory,
    outcome_scores,
    query_raised,
)
from tests.trial.staff.test_login import PASSWORD, right_token, wrong_token
from trial.audit import audit_entries, audited_delete, audited_save
from trial.models import PendingTask, Role, Signature, SignatureState
from trial.monitoring import signature_services, signatures
from trial.monitoring.signature_services import SIGNATURE_RENEWAL_NOTIFY_TASK

pytestmark = pytest.mark.django_db


def _client(user):
    client = verified_client(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def _sign_url(participant, visit: str = "") -> str:
    url = reverse("trial:signature_sign", kwargs={"trial_number": participant.trial_number})
    return url + (f"?visit={visit}" if visit else "")


def _device(user) -> TOTPDevice:
    return TOTPDevice.objects.get(user=user, confirmed=True)


@pytest.fixture
def casebook(world):
    """The own participant with a screening form and an adverse event recorded."""
    participant = world.own_participant
    form = ScreeningFormFactory(participant=participant)
    event = AdverseEventFactory(participant=participant, description="Back pain")
    return participant, form, event


@pytest.fixture
def hematologist(world):
    return world.users[Role.HEMATOLOGIST]


def _signed(participant, user, visit: str = "") -> Signature:
    return signature_services.signature_sign(participant=participant, user=user, visit_code=visit)


# --- signing ------------------------------------------------------------------------------


def test_the_hematologist_signs_with_password_and_code(casebook, hematologist):
    participant, form, event = casebook
    client = _client(hematologist)
    page = client.get(_sign_url(participant)).content.decode()
    meaning = (
        "I confirm that I have reviewed the data of this casebook and that it is accurate and "
        "complete to the best of my knowledge."
    )
    assert meaning in page
    assert "Screening form: 1 record" in page and "Adverse event: 1 record" in page
    response = client.post(
        _sign_url(participant),
        {"password": PASSWORD, "otp_token": right_token(_device(hematologist))},
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#signatures")
    signature = Signature.objects.get()
    assert signature.state == SignatureState.VALID and signature.signer == hematologist
    assert signature.signer_name == hematologist.get_full_name()
    assert (signature.meaning_text, signature.meaning_language) == (meaning, "en")
    assert signature.signed_at.utcoffset() == dt.timedelta(0)
    assert {(e["model"], e["id"]) for e in signature.manifest} == {
        ("trial.ScreeningForm", form.pk),
        ("trial.AdverseEvent", event.pk),
    }
    assert all(e["history_id"] and len(e["hash"]) == 64 for e in signature.manifest)
    assert signatures.casebook_signed(participant)
    # The participant page shows it, with the meaning, the signer and the UTC time.
    detail = client.get(participant.get_absolute_url()).content.decode()
    assert f'data-testid="signature-{signature.pk}"' in detail
    assert meaning in detail and signature.signed_at.strftime("%Y-%m-%d %H:%M") in detail


def test_a_wrong_password_is_a_form_error_and_signs_nothing(casebook, hematologist):
    participant, _form, _event = casebook
    response = _client(hematologist).post(
        _sign_url(participant),
        {"password": "not-the-password", "otp_token": right_token(_device(hematologist))},
    )
    assert response.status_code == 200
    assert "The password is wrong." in response.content.decode()
    assert not Signature.objects.exists()


def test_a_wrong_or_missing_code_is_a_form_error_and_signs_nothing(casebook, hematologist):
    participant, _form, _event = casebook
    client = _client(hematologist)
    wrong = client.post(
        _sign_url(participant),
        {"password": PASSWORD, "otp_token": wrong_token(_device(hematologist))},
    )
    assert "The code is wrong or has expired." in wrong.content.decode()
    missing = client.post(_sign_url(participant), {"password": PASSWORD, "otp_token": ""})
    assert missing.status_code == 200 and "This field is required." in missing.content.decode()
    assert not Signature.objects.exists()


def test_repeated_wrong_passwords_lock_the_account_and_end_the_session(casebook, hematologist):
    from axes.models import AccessAttempt

    participant, _form, _event = casebook
    client = _client(hematologist)
    for _ in range(4):
        client.post(_sign_url(participant), {"password": "wrong", "otp_token": "123456"})
    assert AccessAttempt.objects.get(username=hematologist.username).failures_since_start == 4
    response = client.post(_sign_url(participant), {"password": "wrong", "otp_token": "1"})
    assert response.status_code == 429
    assert "account/locked_out.html" in [t.name for t in response.templates]
    assert "_auth_user_id" not in client.session
    assert not Signature.objects.exists()


def test_wrong_codes_count_towards_the_lock_out(casebook, hematologist):
    participant, _form, _event = casebook
    client = _client(hematologist)
    token = wrong_token(_device(hematologist))
    for _ in range(4):
        client.post(_sign_url(participant), {"password": PASSWORD, "otp_token": token})
    response = client.post(_sign_url(participant), {"password": PASSWORD, "otp_token": token})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("role", [Role.NURSE, Role.SURGEON, Role.MONITOR, Role.DATA_MANAGER])
def test_only_the_hematologist_signs(casebook, world, role):
    participant, _form, _event = casebook
    user = world.users[role]
    response = _client(user).post(_sign_url(participant), {"password": PASSWORD})
    assert response.status_code == 403
    assert not Signature.objects.exists()


def test_a_hematologist_of_another_site_gets_404(casebook, world):
    participant, _form, _event = casebook
    client = _client(world.outsider)
    assert client.get(_sign_url(participant)).status_code == 404
    assert client.post(_sign_url(participant), {"password": PASSWORD}).status_code == 404
    # The service refuses too, whoever calls it.
    with pytest.raises(Exception, match="hematologist of the participant's site"):
        _signed(participant, world.outsider)


def test_an_unknown_visit_is_404_and_an_empty_scope_cannot_be_signed(casebook, hematologist):
    participant, _form, _event = casebook
    client = _client(hematologist)
    assert client.get(_sign_url(participant, "X99")).status_code == 404
    page = client.get(_sign_url(participant, "M12")).content.decode()
    assert 'data-testid="signature-empty"' in page
    response = client.post(
        _sign_url(participant, "M12"),
        {"password": PASSWORD, "otp_token": right_token(_device(hematologist))},
    )
    assert "Nothing is recorded in this scope yet" in response.content.decode()
    assert not Signature.objects.exists()


def test_open_queries_are_counted_on_the_page_and_do_not_stop_signing(casebook, hematologist):
    participant, _form, _event = casebook
    query_raised(participant)
    query_raised(participant)
    page = _client(hematologist).get(_sign_url(participant)).content.decode()
    assert "2 queries on this participant" in page
    assert _signed(participant, hematologist).state == SignatureState.VALID


def test_a_visit_signature_covers_only_that_visits_records(casebook, hematologist):
    participant, _form, _event = casebook
    outcome_scores(participant, "W4", odi=30)
    outcome_scores(participant, "M3", odi=20)
    signature = _signed(participant, hematologist, "W4")
    assert signature.meaning_code == "visit_reviewed" and "visit W4" in signature.meaning_text
    models = {e["model"] for e in signature.manifest}
    assert models == {"questionnaires.QuestionnaireResponse"}
    assert not signatures.casebook_signed(participant)  # a visit is not the casebook


# --- renewal ------------------------------------------------------------------------------


def test_a_change_to_signed_data_needs_renewal_and_tells_the_signer(casebook, world):
    participant, _form, event = casebook
    hematologist, nurse = world.users[Role.HEMATOLOGIST], world.users[Role.NURSE]
    hematologist.email = "hanne@example.dk"
    hematologist.save()
    signature = _signed(participant, hematologist)
    event.description = "Back pain at L2"
    audited_save(event, user=nurse, reason="level from the discharge letter")
    signature.refresh_from_db()
    assert signature.state == SignatureState.NEEDS_RENEWAL
    assert (signature.renewal_model, signature.renewal_record_id) == (
        "trial.AdverseEvent",
        str(event.pk),
    )
    assert signature.renewal_by == nurse
    assert signature.renewal_reason == "level from the discharge letter"
    assert signature.renewal_at is not None
    assert not signatures.casebook_signed(participant)
    # The e-mail is a pending job written with the change; sent once, with no names.
    job = PendingTask.objects.get(name=SIGNATURE_RENEWAL_NOTIFY_TASK)
    assert job.args == [signature.pk]
    assert signature_services.signature_renewal_notify(signature_id=signature.pk)
    assert not signature_services.signature_renewal_notify(signature_id=signature.pk)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["hanne@example.dk"]
    assert participant.trial_number in message.subject
    with translation.override(settings.LANGUAGE_CODE):  # the trial's language, as sent
        form_label = signatures.form_label("trial.AdverseEvent")
    assert form_label in message.body and participant.trial_number in message.body
    for name in (nurse.get_full_name(), hematologist.get_full_name()):
        assert name not in message.body
    # The hematologist is told on the home page and the participant page.
    client = _client(hematologist)
    home = client.get(reverse("home")).content.decode()
    assert 'data-testid="home-card-signatures_renew"' in home
    detail = client.get(participant.get_absolute_url()).content.decode()
    assert f'data-testid="action-sign-again-{signature.pk}"' in detail
    assert nurse.get_full_name() in detail


def test_deleting_a_signed_record_needs_renewal(casebook, world):
    participant, _form, event = casebook
    hematologist, nurse = world.users[Role.HEMATOLOGIST], world.users[Role.NURSE]
    signature = _signed(participant, hematologist)
    event_id = event.pk
    audited_delete(event, user=nurse, reason="recorded for the wrong participant")
    signature.refresh_from_db()
    assert signature.state == SignatureState.NEEDS_RENEWAL
    assert (signature.renewal_model, signature.renewal_record_id) == (
        "trial.AdverseEvent",
        str(event_id),
    )
    assert signature.renewal_by == nurse
    assert "recorded for the wrong participant" in signature.renewal_reason
    assert not signatures.casebook_signed(participant)
    assert PendingTask.objects.filter(name=SIGNATURE_RENEWAL_NOTIFY_TASK).count() == 1


def test_deleting_a_record_added_after_signing_keeps_the_signature(casebook, world):
    participant, _form, _event = casebook
    signature = _signed(participant, world.users[Role.HEMATOLOGIST])
    later = AdverseEventFactory(participant=participant, description="Added in error")
    Signature.objects.filter(pk=signature.pk).update(state=SignatureState.VALID)
    audited_delete(later, user=world.users[Role.NURSE], reason="entered twice")
    signature.refresh_from_db()
    assert signature.state == SignatureState.VALID


def test_signing_again_supersedes_the_signature_that_needs_renewal(casebook, hematologist, world):
    participant, _form, event = casebook
    first = _signed(participant, hematologist)
    event.description = "Back pain at L2"
    audited_save(event, user=world.users[Role.NURSE], reason="level from the letter")
    second = _signed(participant, hematologist)
    first.refresh_from_db()
    assert first.state == SignatureState.SUPERSEDED
    assert second.state == SignatureState.VALID
    assert signatures.casebook_signed(participant)
    assert signatures.renewals_waiting(hematologist) == 0


def test_a_save_that_changes_no_recorded_value_needs_no_renewal(casebook, hematologist, world):
    participant, _form, event = casebook
    signature = _signed(participant, hematologist)
    audited_save(event, user=world.users[Role.NURSE], reason="saved again, nothing changed")
    signature.refresh_from_db()
    assert signature.state == SignatureState.VALID
    assert not PendingTask.objects.filter(name=SIGNATURE_RENEWAL_NOTIFY_TASK).exists()


def test_a_change_outside_the_scope_needs_no_renewal(casebook, hematologist, world):
    participant, _form, event = casebook
    outcome_scores(participant, "W4", odi=30)
    visit = _signed(participant, hematologist, "W4")
    other = ScreeningFormFactory(participant=ParticipantFactory(site=world.own)).participant
    other_participant = _signed(other, hematologist)
    event.description = "Back pain at L2"
    audited_save(event, user=world.users[Role.NURSE], reason="level from the letter")
    visit.refresh_from_db()
    other_participant.refresh_from_db()
    assert visit.state == SignatureState.VALID
    assert other_participant.state == SignatureState.VALID


def test_a_record_added_without_a_save_hook_still_unsigns_the_casebook(casebook, hematologist):
    participant, _form, _event = casebook
    signature = _signed(participant, hematologist)
    AdverseEventFactory(participant=participant)  # a plain save, no audited_save
    changes = signatures.manifest_changes(signature)
    assert [c["what"] for c in changes] == ["added"]
    assert not signatures.casebook_signed(participant)


# --- audit trail, lists, export -----------------------------------------------------------


def test_signing_and_renewal_are_in_the_audit_trail(casebook, hematologist, world):
    participant, _form, event = casebook
    signature = _signed(participant, hematologist)
    event.description = "Back pain at L2"
    audited_save(event, user=world.users[Role.NURSE], reason="level from the letter")
    entries = audit_entries(participant_id=participant.pk, models_only=[Signature])
    assert [e.action for e in entries] == ["changed", "created"]
    assert entries[1].user == hematologist
    assert entries[0].reason.startswith("signed data changed after signing")
    history = _client(world.users[Role.MONITOR]).get(
        reverse("trial:participant_history", kwargs={"trial_number": participant.trial_number})
    )
    page = history.content.decode()
    assert "Signature of the casebook" in page
    assert signature.history.count() == 2


def test_the_monitor_reads_signatures_but_cannot_sign(casebook, hematologist, world):
    participant, _form, _event = casebook
    signature = _signed(participant, hematologist)
    client = _client(world.users[Role.MONITOR])
    listing = client.get(reverse("trial:signature_list")).content.decode()
    assert f'data-testid="signature-row-{signature.pk}"' in listing
    detail = client.get(participant.get_absolute_url()).content.decode()
    assert f'data-testid="signature-{signature.pk}"' in detail
    assert 'data-testid="action-sign-casebook"' not in detail
    assert client.get(_sign_url(participant)).status_code == 403


def test_the_outsider_sees_no_signature_of_another_site(casebook, hematologist, world):
    participant, _form, _event = casebook
    signature = _signed(participant, hematologist)
    listing = _client(world.outsider).get(reverse("trial:signature_list")).content.decode()
    assert f'data-testid="signature-row-{signature.pk}"' not in listing


def test_the_signature_list_runs_the_same_queries_for_2_and_12_signatures(
    world, hematologist, django_assert_num_queries
):
    client = _client(world.users[Role.MONITOR])
    url = reverse("trial:signature_list")

    def add(n):
        for _ in range(n):
            participant = ParticipantFactory(site=world.own)
            ScreeningFormFactory(participant=participant)
            _signed(participant, hematologist)

    add(2)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    add(10)
    with django_assert_num_queries(len(few.captured_queries)):
        page = client.get(url)
    assert page.content.decode().count('data-testid="signature-row-') == 12


def test_the_manifest_for_the_casebook_lists_each_signature_and_its_records(casebook, hematologist):
    participant, form, _event = casebook
    _signed(participant, hematologist)
    entries = signatures.signature_manifest(participant)
    assert len(entries) == 1 and entries[0].scope == ""
    assert ("Screening form", form.pk) in {(r.form_label, r.record_id) for r in entries[0].records}


def test_the_signatures_export_has_a_row_per_signature(casebook, hematologist):
    from trial.exports.registry import exporters

    participant, _form, _event = casebook
    signature = _signed(participant, hematologist)
    exporter = exporters.get("signatures")()
    rows = list(exporter.rows())
    assert len(rows) == 1
    assert rows[0][0] == participant.trial_number
    assert signature.manifest_hash in rows[0]
