"""Data locks: the data manager locks a participant (a reason when a condition is not met)
and the whole trial; nothing locked changes through the audit trail, the admin, the nightly
work or the patient's link; unlocking needs a reason; exports say whether the database was
locked."""

from __future__ import annotations

import zipfile

import pytest
from django.contrib.admin.sites import site as admin_site
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from followup.models import Contact, ContactStatus
from followup.services import contacts_update_status
from questionnaires import links
from questionnaires.models import SentVia
from tests.conftest import verified_client
from tests.factories import (
    ConsentFactory,
    IdentityFactory,
    ParticipantFactory,
    UserFactory,
    query_raised,
    randomised,
    w1_contact_id,
)
from trial.audit import audited_delete, audited_save, audited_update, model_update
from trial.errors import DataLocked, ServiceError
from trial.exports.models import ExportRun
from trial.exports.services import export_root, export_run_render
from trial.models import (
    Consent,
    DataLock,
    Identity,
    LockScope,
    Participant,
    ParticipantStatus,
    Role,
)
from trial.monitoring import locks
from trial.monitoring.signature_services import signature_sign

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _in_english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


REASON = "Lost to follow-up; the site confirmed no more data will come"


def _client(user):
    client = verified_client(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def _dm(world):
    return world.users[Role.DATA_MANAGER]


def _lock(world, participant=None, reason=REASON):
    return locks.participant_lock(
        participant=participant or world.own_participant, user=_dm(world), reason=reason
    )


# --- services -------------------------------------------------------------------------------


def test_locking_with_a_condition_unmet_needs_a_reason_which_is_kept(world):
    participant = world.own_participant  # in screening: the follow-up is not over
    with pytest.raises(ValidationError):
        locks.participant_lock(participant=participant, user=_dm(world), reason="")
    assert not DataLock.objects.exists()

    lock = _lock(world)
    assert lock.active and lock.reason == REASON and lock.locked_by == _dm(world)
    assert "follow-up is not over" in lock.unmet_conditions


def test_locking_when_every_condition_is_met_needs_no_reason(world):
    participant = world.own_participant
    Participant.objects.filter(pk=participant.pk).update(status=ParticipantStatus.DECEASED)
    participant.refresh_from_db()
    assert locks.lock_conditions_unmet(participant) == [
        "The casebook is not signed by the investigator, or has changed since it was signed."
    ]
    hematologist = world.users[Role.HEMATOLOGIST]
    ConsentFactory(participant=participant, taken_by=hematologist)
    signature_sign(participant=participant, user=hematologist)
    assert locks.lock_conditions_unmet(participant) == []
    lock = locks.participant_lock(participant=participant, user=_dm(world))
    assert lock.active and lock.reason == "" and lock.unmet_conditions == ""


def test_an_open_query_is_a_condition_not_met(world):
    participant = world.own_participant
    Participant.objects.filter(pk=participant.pk).update(status=ParticipantStatus.WITHDRAWN)
    participant.refresh_from_db()
    query_raised(participant, user=world.users[Role.MONITOR])
    assert "1 query is not closed." in locks.lock_conditions_unmet(participant)


def test_follow_up_is_over_when_the_last_window_has_closed(world, fixed_day):
    recent = randomised(ParticipantFactory(site=world.own, sequence=20), days_ago=30)
    long_ago = randomised(ParticipantFactory(site=world.own, sequence=21), days_ago=500)
    assert any("follow-up" in m for m in locks.lock_conditions_unmet(recent))
    assert not any("follow-up" in m for m in locks.lock_conditions_unmet(long_ago))


def test_every_writer_of_the_audit_trail_refuses_a_locked_participants_data(world):
    participant = world.own_participant
    identity = IdentityFactory(participant=participant)
    _lock(world)
    user = world.users[Role.NURSE]
    with pytest.raises(DataLocked, match=f"{participant.trial_number} is locked"):
        model_update(instance=identity, data={"phone": "+4511111111"}, user=user, reason="moved")
    with pytest.raises(DataLocked):
        audited_save(identity, user=user, reason="typo")
    with pytest.raises(DataLocked):
        audited_update(
            Identity.objects.filter(pk=identity.pk), user=user, reason="bulk", phone="+45 1"
        )
    with pytest.raises(DataLocked):
        audited_delete(identity, user=user, reason="duplicate")
    assert Identity.objects.get(pk=identity.pk).phone == identity.phone
    # Another participant's data is not locked.
    other = IdentityFactory(participant=ParticipantFactory(site=world.own, sequence=2))
    model_update(instance=other, data={"phone": "+4522222222"}, user=user, reason="moved")


def test_unlocking_needs_a_reason_and_lets_the_data_change_again_with_history(world):
    participant = world.own_participant
    identity = IdentityFactory(participant=participant)
    _lock(world)
    with pytest.raises(ValidationError):
        locks.participant_unlock(participant=participant, user=_dm(world), reason=" ")
    lock = locks.participant_unlock(
        participant=participant, user=_dm(world), reason="A late lab value must be entered"
    )
    assert not lock.active and lock.unlocked_by == _dm(world)
    model_update(
        instance=identity, data={"phone": "+4533333333"}, user=_dm(world), reason="correction"
    )
    history = list(lock.history.order_by("history_date", "history_id"))
    assert [h.history_type for h in history] == ["+", "~"]
    assert history[-1].history_change_reason == "A late lab value must be entered"
    assert history[-1].history_user == _dm(world)
    # Locked again in the same row: its history keeps every turn.
    _lock(world, reason="Second lock after the lab value")
    assert DataLock.objects.filter(participant=participant).count() == 1
    assert lock.history.count() == 3


def test_the_trial_lock_blocks_every_participant_and_is_lifted_first(world):
    first = IdentityFactory(participant=world.own_participant)
    second = IdentityFactory(participant=world.other_participant)
    _lock(world)
    locks.trial_lock(user=_dm(world), reason="Database lock before the primary analysis")
    for identity in (first, second):
        with pytest.raises(DataLocked, match="trial database is locked"):
            model_update(
                instance=identity, data={"phone": "+4599999999"}, user=_dm(world), reason="x1"
            )
    with pytest.raises(DataLocked):
        locks.participant_unlock(
            participant=world.own_participant, user=_dm(world), reason="Must correct a value"
        )
    # Staff and sites are not the trial's data: they may still change.
    nurse = world.users[Role.NURSE]
    nurse.first_name = "Karen"
    audited_save(nurse, user=_dm(world), reason="name corrected", validate=False)

    locks.trial_unlock(user=_dm(world), reason="Re-opened for the 12-month data")
    model_update(instance=second, data={"phone": "+4588888888"}, user=_dm(world), reason="moved")
    with pytest.raises(DataLocked):  # the participant's own lock still holds
        model_update(instance=first, data={"phone": "+4588888888"}, user=_dm(world), reason="moved")


def test_the_trial_lock_counts_unlocked_participants_as_a_condition(world):
    with pytest.raises(ValidationError):
        locks.trial_lock(user=_dm(world))
    lock = locks.trial_lock(user=_dm(world), reason="Interim analysis snapshot agreed")
    assert lock.scope == LockScope.TRIAL and "2 participants are not locked" in (
        lock.unmet_conditions
    )
    with pytest.raises(ServiceError):
        locks.trial_lock(user=_dm(world), reason="Interim analysis snapshot agreed")


# --- pages ------------------------------------------------------------------------------------


def test_the_data_manager_locks_from_the_participants_page(world):
    participant = world.own_participant
    client = _client(_dm(world))
    page = client.get(participant.get_absolute_url()).content.decode()
    assert 'data-testid="action-lock"' in page and 'data-testid="locked-badge"' not in page
    url = reverse("trial:participant_lock", args=[participant.trial_number])
    refused = client.post(url, {"reason": ""})
    assert refused.status_code == 200 and not DataLock.objects.exists()
    assert "follow-up is not over" in refused.content.decode()
    done = client.post(url, {"reason": REASON})
    assert done.status_code == 302
    page = client.get(participant.get_absolute_url()).content.decode()
    assert 'data-testid="locked-badge"' in page and REASON in page
    assert 'data-testid="action-query-raise"' not in page  # no edit link on locked data
    unlocked = client.post(url, {"reason": "A late value must be entered"})
    assert unlocked.status_code == 302 and not locks.participant_lock_active(participant)


@pytest.mark.parametrize("role", [Role.NURSE, Role.HEMATOLOGIST, Role.MONITOR, Role.COORDINATOR])
def test_other_roles_may_not_lock(world, role):
    url = reverse("trial:participant_lock", args=[world.own_participant.trial_number])
    assert _client(world.users[role]).post(url, {"reason": REASON}).status_code == 403
    assert _client(world.outsider).post(url, {"reason": REASON}).status_code == 403
    trial_url = reverse("trial:trial_lock")
    assert _client(world.users[role]).post(trial_url, {"reason": REASON}).status_code == 403
    assert not DataLock.objects.exists()


def test_the_trial_lock_page_lists_participants_not_locked(world, django_assert_max_num_queries):
    _lock(world)
    client = _client(_dm(world))
    page = client.get(reverse("trial:trial_lock")).content.decode()
    assert world.other_participant.trial_number in page
    assert f">{world.own_participant.trial_number}<" not in page
    assert client.post(reverse("trial:trial_lock"), {"reason": REASON}).status_code == 302
    coordinator_page = _client(world.users[Role.COORDINATOR]).get(reverse("trial:trial_lock"))
    assert 'data-testid="trial-locked-badge"' in coordinator_page.content.decode()
    assert 'data-testid="trial-lock-form"' not in coordinator_page.content.decode()


def _lock_candidates(world, n, *, start):
    """n participants of the own site in every state the lock page tells apart: by turns
    randomised long ago and signed (every condition met), recent, with an open query, and
    signed but changed since."""
    hematologist = world.users[Role.HEMATOLOGIST]
    made = []
    for i in range(n):
        participant = ParticipantFactory(site=world.own, sequence=start + i)
        kind = i % 4
        participant = randomised(participant, days_ago=30 if kind == 1 else 500)
        ConsentFactory(participant=participant, taken_by=hematologist)
        if kind == 2:
            query_raised(participant, user=world.users[Role.MONITOR])
        if kind in (0, 3):
            signature_sign(participant=participant, user=hematologist)
        if kind == 3:  # changed behind the hooks' back: only comparing the records sees it
            Consent.objects.filter(participant=participant).update(oral_information_given=False)
        made.append((participant, kind))
    return made


def test_the_lock_page_names_each_participants_unmet_conditions(world, fixed_day):
    made = _lock_candidates(world, 4, start=60)
    page = _client(_dm(world)).get(reverse("trial:trial_lock"))
    rows = {r["participant"].pk: r["unmet"] for r in page.context["rows"]}
    unsigned = "The casebook is not signed by the investigator, or has changed since it was signed."
    (met, _), (recent, _), (queried, _), (changed, _) = made
    assert rows[met.pk] == []
    assert rows[recent.pk] == [
        "The follow-up is not over: a visit window is still open or to come.",
        unsigned,
    ]
    assert rows[queried.pk] == ["1 query is not closed.", unsigned]
    assert rows[changed.pk] == [unsigned]
    for participant, _kind in made:  # the page says what locking one of them would say
        assert rows[participant.pk] == locks.lock_conditions_unmet(participant)


def test_the_lock_page_takes_a_fixed_number_of_sql_queries(world, fixed_day):
    client = _client(_dm(world))
    _lock_candidates(world, 2, start=60)
    with CaptureQueriesContext(connection) as few:
        before = client.get(reverse("trial:trial_lock")).content.decode()
    _lock_candidates(world, 20, start=70)
    with CaptureQueriesContext(connection) as many:
        page = client.get(reverse("trial:trial_lock")).content.decode()
    assert len(many) == len(few)
    not_over = "The follow-up is not over"
    assert page.count(not_over) == before.count(not_over) + 5  # every fourth is recent


def test_raising_a_query_on_a_locked_participant_is_refused_with_the_message(world):
    _lock(world)
    url = reverse("trial:query_raise", args=[world.own_participant.trial_number])
    for method in ("get", "post"):
        response = getattr(_client(world.users[Role.MONITOR]), method)(url)
        assert response.status_code == 403
        assert f"{world.own_participant.trial_number} is locked" in response.content.decode()


def test_another_sites_participant_is_still_a_404_not_a_lock(world):
    _lock(world, participant=world.other_participant)
    url = reverse("trial:death_record", args=[world.other_participant.trial_number])
    assert _client(world.users[Role.NURSE]).get(url).status_code == 404


# --- admin ------------------------------------------------------------------------------------


def test_the_admin_refuses_locked_data_to_superusers_too(world):
    _lock(world)
    root = UserFactory(username="root", is_superuser=True, is_staff=True, role="")
    request = RequestFactory().get("/admin/")
    request.user = root
    model_admin = admin_site._registry[Participant]
    participant = world.own_participant
    assert not model_admin.has_change_permission(request, participant)
    assert not model_admin.has_delete_permission(request, participant)
    with pytest.raises(DataLocked):
        model_admin.save_model(request, participant, form=None, change=True)
    with pytest.raises(DataLocked):
        model_admin.delete_model(request, participant)
    assert Participant.objects.filter(pk=participant.pk).exists()


# --- background work and the patient's link -------------------------------------------------


def test_the_nightly_status_change_leaves_locked_participants_contacts_alone(world, fixed_day):
    locked = randomised(ParticipantFactory(site=world.own, sequence=30), days_ago=60)
    open_ = randomised(ParticipantFactory(site=world.own, sequence=31), days_ago=60)
    ids = [w1_contact_id(p) for p in (locked, open_)]
    Contact.objects.filter(pk__in=ids).update(status=ContactStatus.DUE)
    _lock(world, participant=locked)
    contacts_update_status()
    assert Contact.objects.get(pk=ids[0]).status == ContactStatus.DUE
    assert Contact.objects.get(pk=ids[1]).status == ContactStatus.MISSED


def test_no_link_email_goes_to_a_locked_participant(world, django_capture_on_commit_callbacks):
    participant = world.own_participant
    IdentityFactory(participant=participant, email="pt@example.dk")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        link = links.link_send(
            participant=participant,
            visit_code="BL",
            user=world.users[Role.NURSE],
            via=SentVia.EMAIL,
            language="en",
        )
    _lock(world)
    for callback in callbacks:
        callback()
    assert mail.outbox == []
    assert links.link_deliver(link_id=link.pk) is False
    link.refresh_from_db()
    assert link.sent_at is None


def test_a_patients_open_link_shows_a_polite_closed_page_once_locked(
    world, django_capture_on_commit_callbacks, client
):
    import re

    participant = world.own_participant
    IdentityFactory(participant=participant, email="pt@example.dk")
    with django_capture_on_commit_callbacks(execute=True):
        links.link_send(
            participant=participant,
            visit_code="BL",
            user=world.users[Role.NURSE],
            via=SentVia.EMAIL,
            language="en",
        )
    token = re.search(r"/q/([0-9A-Z-]+)/", mail.outbox[0].body).group(1)
    client.get(reverse("questionnaires:patient_start", args=[token]))
    assert client.get(reverse("questionnaires:patient_home")).status_code == 200
    _lock(world)
    page = client.get(reverse("questionnaires:patient_home"))
    assert page.status_code == 410
    assert 'data-testid="questionnaire-closed"' in page.content.decode()
    posted = client.post(reverse("questionnaires:patient_step", args=["odi", 1]), {"autosave": "1"})
    assert posted.status_code == 410


# --- exports ----------------------------------------------------------------------------------


def _export(world) -> tuple[ExportRun, str]:
    run = ExportRun.objects.create(
        exporter="identity",
        format="csv",
        identified=True,
        requested_by=_dm(world),
        options={"language": "en"},
    )
    assert export_run_render(str(run.id))
    run.refresh_from_db()
    assert run.status == "done", run.error
    with zipfile.ZipFile(export_root() / run.file_name) as zf:
        return run, zf.read("README.txt").decode()


def test_exports_say_whether_they_were_taken_from_a_locked_database(world):
    run, readme = _export(world)
    assert "Database lock: not locked" in readme
    assert run.database_lock.startswith("not locked")
    locks.trial_lock(user=_dm(world), reason="Database lock before the primary analysis")
    run, readme = _export(world)
    name = _dm(world).get_full_name() or _dm(world).username
    assert f"taken from a locked database (locked by {name} on" in readme
    page = _client(_dm(world)).get(reverse("trial:export_detail", args=[run.id]))
    assert "taken from a locked database" in page.content.decode()
    listing = _client(_dm(world)).get(reverse("trial:export_list")).content.decode()
    assert "taken from a locked database" in listing


def test_every_page_the_lock_closes_is_a_page_of_the_matrix():
    from trial.access import LOCKED_DATA_VIEWS
    from trial.access_matrix import MATRIX

    assert LOCKED_DATA_VIEWS.issubset(MATRIX)


def test_a_locked_participants_query_offers_no_step_and_refuses_one(world):
    query = query_raised(world.own_participant, user=world.users[Role.MONITOR])
    _lock(world)
    url = reverse("trial:query_detail", kwargs={"query_id": query.pk})
    nurse = _client(world.users[Role.NURSE])
    page = nurse.get(url).content.decode()
    assert 'data-testid="query-locked"' in page and 'data-testid="query-answer"' not in page
    posted = nurse.post(url, {"step": "answer", "text": "The date is right, see the notes"})
    assert posted.status_code == 403
    query.refresh_from_db()
    assert query.state == "open"
