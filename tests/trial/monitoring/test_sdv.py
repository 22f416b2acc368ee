"""Source-data verification: the monitor marks a participant's form verified against the
source; a later change to the form clears the mark (audited, the row kept); a worklist of what
is still to verify, progress per site on the dashboard, and the export."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from tests.conftest import verified_client
from tests.factories import (
    AdverseEventFactory,
    ConsentFactory,
    ParticipantFactory,
    outcome_scores,
    randomised,
    sae_report,
    screening_complete,
)
from trial.audit import audited_delete, audited_update
from trial.concurrency import version_of
from trial.exports.registry import autodiscover
from trial.models import Consent, Role, SourceVerification
from trial.monitoring import sdv, services
from trial.treatment import adverse_events

pytestmark = pytest.mark.django_db
REASON = "the signed form names another person who took consent"


@pytest.fixture(autouse=True)
def in_english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def _client(user):
    client = verified_client(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def participant(world):
    screening_complete(world.own_participant, world.users[Role.HEMATOLOGIST])
    return randomised(world.own_participant, days_ago=40)


def _mark_url(participant) -> str:
    return reverse("trial:sdv_mark", args=[participant.trial_number])


def _states(participant) -> dict[str, str]:
    return {f"{i.form.code}{i.visit_code}": i.state for i in sdv.sdv_state_for(participant)}


def test_the_forms_to_verify_are_those_recorded(world, participant):
    assert _states(participant) == {
        "consent": sdv.TO_VERIFY,
        "eligibility": sdv.TO_VERIFY,
        "randomisation": sdv.TO_VERIFY,
    }
    # The primary outcome is the ODI at the primary visit of the schedule; an SAE and a death
    # count once recorded, an event that is not serious never.
    outcome_scores(participant, "W4", odi=30)
    outcome_scores(participant, "M3", odi=20)
    AdverseEventFactory(participant=participant, serious=False)
    AdverseEventFactory(participant=participant, serious=True, grade=3)
    assert _states(participant) == {
        "consent": sdv.TO_VERIFY,
        "eligibility": sdv.TO_VERIFY,
        "randomisation": sdv.TO_VERIFY,
        "primary_outcomeW4": sdv.TO_VERIFY,
        "sae": sdv.TO_VERIFY,
    }


def test_the_monitor_marks_consent_verified_from_the_participant_page(world, participant):
    monitor = world.users[Role.MONITOR]
    client = _client(monitor)
    page = client.get(participant.get_absolute_url()).content.decode()
    assert 'data-testid="sdv-panel"' in page and 'data-testid="sdv-mark-consent"' in page
    response = client.post(_mark_url(participant), {"form": "consent"})
    assert response.status_code == 302
    assert response["Location"] == participant.get_absolute_url() + "#sdv"
    verification = SourceVerification.objects.get()
    consent = Consent.objects.get(participant=participant)
    assert (verification.form, verification.target_model, verification.target_id) == (
        "consent",
        "trial.Consent",
        str(consent.pk),
    )
    assert verification.verified_by == monitor and verification.cleared_at is None
    assert verification.history.get().history_user == monitor
    assert _states(participant)["consent"] == sdv.VERIFIED
    page = client.get(participant.get_absolute_url()).content.decode()
    assert "Verified" in page and 'data-testid="sdv-mark-consent"' not in page


def test_the_participants_verification_page_marks_and_returns_to_itself(world, participant):
    client = _client(world.users[Role.DATA_MANAGER])
    url = _mark_url(participant)
    page = client.get(url).content.decode()
    assert 'data-testid="sdv-mark-randomisation"' in page
    response = client.post(url, {"form": "randomisation", "next": url + "#sdv"})
    assert response["Location"] == url + "#sdv"
    assert 'data-testid="sdv-mark-randomisation"' not in client.get(url).content.decode()
    # Site staff may not open it: they read the state on the participant page.
    assert _client(world.users[Role.NURSE]).get(url).status_code == 403


def test_the_data_manager_verifies_too_and_a_second_mark_is_refused(world, participant):
    manager = world.users[Role.DATA_MANAGER]
    services.sdv_mark(participant=participant, form="eligibility", user=manager)
    with pytest.raises(ValidationError, match="already verified"):
        services.sdv_mark(participant=participant, form="eligibility", user=manager)
    assert SourceVerification.objects.count() == 1


def test_a_form_without_data_cannot_be_verified(world, participant):
    client = _client(world.users[Role.MONITOR])
    response = client.post(_mark_url(participant), {"form": "death"}, follow=True)
    assert "Death of AAR-001 has no data recorded yet: nothing to verify." in (
        response.content.decode()
    )
    with pytest.raises(ValidationError, match="nothing to verify"):
        services.sdv_mark(
            participant=participant,
            form="primary_outcome",
            visit_code="W4",
            user=world.users[Role.MONITOR],
        )
    # An unknown form, or a visit that is not the form's, is no data either, never a 500.
    for data in ({"form": "nonsense"}, {"form": "consent", "visit_code": "W4"}, {}):
        assert client.post(_mark_url(participant), data).status_code == 302
    assert not SourceVerification.objects.exists()


@pytest.mark.parametrize("role", [Role.NURSE, Role.HEMATOLOGIST, Role.COORDINATOR, Role.SURGEON])
def test_only_the_monitor_and_data_manager_verify(world, participant, role):
    assert (
        _client(world.users[role]).post(_mark_url(participant), {"form": "consent"}).status_code
        == 403
    )
    with pytest.raises(ValidationError, match="Only the monitor"):
        services.sdv_mark(participant=participant, form="consent", user=world.users[role])
    assert not SourceVerification.objects.exists()


def test_an_outsider_cannot_verify_or_see_the_state(world, participant):
    outsider = _client(world.outsider)
    assert outsider.post(_mark_url(participant), {"form": "consent"}).status_code == 403
    assert outsider.get(participant.get_absolute_url()).status_code == 404
    assert outsider.get(reverse("trial:sdv_worklist")).status_code == 403


def test_site_staff_read_the_state_without_a_button(world, participant):
    services.sdv_mark(participant=participant, form="consent", user=world.users[Role.MONITOR])
    page = _client(world.users[Role.NURSE]).get(participant.get_absolute_url()).content.decode()
    assert 'data-testid="sdv-panel"' in page and "Verified" in page
    assert "sdv-mark-" not in page


def test_a_correction_of_verified_consent_clears_it_with_who_and_why(world, participant):
    monitor, hematologist = world.users[Role.MONITOR], world.users[Role.HEMATOLOGIST]
    first = services.sdv_mark(participant=participant, form="consent", user=monitor)
    services.sdv_mark(participant=participant, form="eligibility", user=monitor)
    consent = Consent.objects.get(participant=participant)

    response = _client(hematologist).post(
        reverse("trial:consent", args=[participant.trial_number]),
        {
            "consent_date": consent.consent_date.isoformat(),
            "information_sheet": consent.information_sheet_id,
            "taken_by": world.users[Role.NURSE].pk,
            "oral_information_given": "on",
            "written_information_given": "on",
            "version": version_of(consent),
            "reason": REASON,
        },
    )
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.cleared_at is not None and first.cleared_by == hematologist
    assert (first.cleared_model, first.cleared_object_id) == ("trial.Consent", str(consent.pk))
    assert first.cleared_reason == REASON
    assert first.history.count() == 2
    assert REASON in first.history.order_by("-history_id").first().history_change_reason
    # Only the changed form goes back to the monitor.
    assert _states(participant)["consent"] == sdv.CLEARED
    assert _states(participant)["eligibility"] == sdv.VERIFIED
    page = _client(monitor).get(participant.get_absolute_url()).content.decode()
    assert "Verify again" in page
    # Verifying again is a new row; the cleared one is kept.
    services.sdv_mark(participant=participant, form="consent", user=monitor)
    assert SourceVerification.objects.filter(form="consent").count() == 2
    assert _states(participant)["consent"] == sdv.VERIFIED


def test_bookkeeping_does_not_clear_but_a_correction_of_the_event_does(world, participant):
    monitor = world.users[Role.MONITOR]
    event = adverse_events.adverse_event_record(
        participant=participant,
        user=world.users[Role.NURSE],
        description="Fracture T12",
        onset_date=timezone.localdate(),
        grade=3,
        serious=True,
        relation="not_related",
        outcome="recovering",
        **sae_report(),
    )
    mark = services.sdv_mark(
        participant=participant, form="sae", record_id=str(event.pk), user=monitor
    )
    adverse_events.sae_notify(event_id=event.pk)  # a bulk update of its notice time
    adverse_events.sae_acknowledge(event=event, user=world.users[Role.COORDINATOR])
    mark.refresh_from_db()
    assert mark.cleared_at is None
    adverse_events.adverse_event_update(
        event=event,
        user=world.users[Role.NURSE],
        reason=REASON,
        outcome="recovered",
        resolved_on=timezone.localdate(),
    )
    mark.refresh_from_db()
    assert mark.cleared_at is not None and mark.cleared_by == world.users[Role.NURSE]


def test_a_bulk_change_clears_a_verification_too(world, participant):
    mark = services.sdv_mark(
        participant=participant, form="consent", user=world.users[Role.MONITOR]
    )
    audited_update(
        Consent.objects.filter(participant=participant),
        user=world.users[Role.DATA_MANAGER],
        reason=REASON,
        consent_date=timezone.localdate() - dt.timedelta(days=50),
    )
    mark.refresh_from_db()
    assert mark.cleared_at is not None and mark.cleared_by == world.users[Role.DATA_MANAGER]


def test_deleting_a_verified_record_clears_its_verification(world, participant):
    mark = services.sdv_mark(
        participant=participant, form="consent", user=world.users[Role.MONITOR]
    )
    consent = Consent.objects.get(participant=participant)
    audited_delete(consent, user=world.users[Role.DATA_MANAGER], reason=REASON)
    mark.refresh_from_db()
    assert mark.cleared_at is not None and mark.cleared_by == world.users[Role.DATA_MANAGER]
    assert mark.cleared_model == "trial.Consent" and REASON in mark.cleared_reason


def _verifiable(site, n: int, start: int) -> list:
    out = []
    for k in range(start, start + n):
        p = ParticipantFactory(site=site, sequence=k)
        ConsentFactory(participant=p)
        out.append(p)
    return out


def test_the_worklist_shows_what_is_left_oldest_first_by_site_and_form(world, participant):
    monitor = world.users[Role.MONITOR]
    other = ConsentFactory(participant=world.other_participant)
    Consent.objects.filter(pk=other.pk).update(recorded_at=timezone.now() - dt.timedelta(days=400))
    services.sdv_mark(participant=participant, form="eligibility", user=monitor)
    client = _client(monitor)
    page = client.get(reverse("trial:sdv_worklist")).content.decode()
    own_row = f'sdv-row-{participant.trial_number}-consent"'
    other_row = f'sdv-row-{world.other_participant.trial_number}-consent"'
    assert own_row in page and other_row in page
    assert page.index(other_row) < page.index(own_row)  # the oldest first
    assert f'sdv-row-{participant.trial_number}-eligibility"' not in page  # verified
    page = client.get(
        reverse("trial:sdv_worklist") + "?site=AAR&form=randomisation"
    ).content.decode()
    assert f'sdv-row-{participant.trial_number}-randomisation"' in page
    assert own_row not in page and other_row not in page
    # Bad filters are ignored, never a 500.
    assert client.get(reverse("trial:sdv_worklist") + "?site=XXX&form=zz&page=x").status_code == 200


def test_the_worklist_marks_and_returns_to_itself(world, participant):
    client = _client(world.users[Role.MONITOR])
    back = reverse("trial:sdv_worklist") + "?form=consent"
    response = client.post(_mark_url(participant), {"form": "consent", "next": back})
    assert response["Location"] == back
    assert (
        client.post(
            _mark_url(participant), {"form": "eligibility", "next": "https://evil.example/"}
        )["Location"]
        == participant.get_absolute_url() + "#sdv"
    )
    page = client.get(back).content.decode()
    assert 'data-testid="sdv-worklist-empty"' in page


def test_the_worklist_takes_a_fixed_number_of_sql_queries(world, participant):
    client = _client(world.users[Role.MONITOR])
    _verifiable(world.own, 2, start=10)
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("trial:sdv_worklist")).status_code == 200
    for p in _verifiable(world.own, 12, start=20):
        services.sdv_mark(participant=p, form="consent", user=world.users[Role.MONITOR])
    _verifiable(world.other, 8, start=40)
    with CaptureQueriesContext(connection) as many:
        page = client.get(reverse("trial:sdv_worklist")).content.decode()
    assert len(many) == len(few)
    assert page.count('data-testid="sdv-row-') == 2 + 3 + 8


def test_the_coordinator_reads_the_worklist_and_site_staff_do_not(world, participant):
    page = _client(world.users[Role.COORDINATOR]).get(reverse("trial:sdv_worklist"))
    assert page.status_code == 200 and "sdv-mark-" not in page.content.decode()
    assert _client(world.users[Role.NURSE]).get(reverse("trial:sdv_worklist")).status_code == 403


def test_the_dashboard_shows_progress_per_site(world, participant):
    monitor = world.users[Role.MONITOR]
    services.sdv_mark(participant=participant, form="consent", user=monitor)
    ConsentFactory(participant=world.other_participant)
    rows = {r["site_code"]: r for r in sdv.progress_by_site(monitor)}
    assert (rows["AAR"]["verified"], rows["AAR"]["required"], rows["AAR"]["percent"]) == (1, 3, 33)
    assert (rows["ODE"]["verified"], rows["ODE"]["required"], rows["ODE"]["percent"]) == (0, 1, 0)
    page = _client(world.users[Role.COORDINATOR]).get(reverse("trial:dashboard")).content.decode()
    assert 'data-testid="sdv-by-site"' in page


def test_the_dashboard_panel_takes_a_fixed_number_of_sql_queries(world, participant, rf):
    from trial.monitoring.dashboard import sdv_context

    request = rf.get("/")
    request.user = world.users[Role.COORDINATOR]
    with CaptureQueriesContext(connection) as few:
        sdv_context(request)
    _verifiable(world.own, 6, start=10)
    _verifiable(world.other, 6, start=10)
    with CaptureQueriesContext(connection) as many:
        sdv_context(request)
    assert len(many) == len(few)


def test_the_export_has_a_row_per_form_instance_with_its_state(world, participant):
    monitor = world.users[Role.MONITOR]
    services.sdv_mark(participant=participant, form="consent", user=monitor)
    ConsentFactory(participant=world.other_participant)
    exporter = autodiscover().get("sdv")()
    rows = list(exporter.rows())
    assert len(exporter.variables()) == len(rows[0]) - 2
    by_form = {(r[0], r[2]): r for r in rows}
    tn = participant.trial_number
    assert by_form[(tn, "consent")][5] == sdv.VERIFIED and by_form[(tn, "consent")][7] == "monitor"
    assert by_form[(tn, "eligibility")][5] == sdv.TO_VERIFY
    assert by_form[(world.other_participant.trial_number, "consent")][5] == sdv.TO_VERIFY
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    with CaptureQueriesContext(connection) as few:
        list(autodiscover().get("sdv")().rows())
    _verifiable(world.own, 5, start=10)
    with CaptureQueriesContext(connection) as many:
        list(autodiscover().get("sdv")().rows())
    assert len(many) == len(few)


def test_the_setting_chooses_the_forms_and_refuses_unknown_ones(world, participant, settings):
    settings.TRIAL_SDV_FORMS = ("consent",)
    assert list(_states(participant)) == ["consent"]
    with pytest.raises(ValidationError, match="nothing to verify"):
        services.sdv_mark(
            participant=participant, form="eligibility", user=world.users[Role.MONITOR]
        )
    settings.TRIAL_SDV_FORMS = ("consent", "lab_values")
    with pytest.raises(ImproperlyConfigured, match="lab_values"):
        sdv.sdv_forms()
