"""The serious adverse event's ICH E2A report: the form's rules, the coordinator's e-mail (a
SUSAR flagged in its subject), the SAE list's SUSAR flag and 24-hour clock, and the export."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pandas as pd
import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from tests.clock import COPENHAGEN
from tests.conftest import verified_client
from tests.factories import AdverseEventFactory, IdentityFactory, randomised, sae_report
from trial.exports.writer import ExportSpec, write_export
from trial.models import AdverseEvent, Role
from trial.treatment import adverse_events
from trial.treatment.forms import AdverseEventForm

pytestmark = pytest.mark.django_db


@pytest.fixture
def participant(world, fixed_day):
    return randomised(world.own_participant, arm="pvp", days_ago=20)


@pytest.fixture
def coordinator(world, settings):
    settings.LANGUAGE_CODE = "en"  # the e-mail's language; its Danish is tested below
    world.users[Role.COORDINATOR].email = "karen@example.org"
    world.users[Role.COORDINATOR].save()
    return world.users[Role.COORDINATOR]


def _post(fixed_day, **overrides) -> dict:
    onset = fixed_day - dt.timedelta(days=3)
    data = {
        "description": "Pneumonia",
        "onset_date": onset.isoformat(),
        "grade": "3",
        "serious": "yes",
        "relation": "possible",
        "outcome": "recovering",
        "resolved_on": "",
        "relation_disease": "probable",
        "expectedness": "unexpected",
        "seriousness_criteria": ["hospitalisation", "life_threatening"],
        "hospital_admitted_on": onset.isoformat(),
        "hospital_discharged_on": (onset + dt.timedelta(days=2)).isoformat(),
        "site_aware_at": f"{onset.isoformat()}T14:30",
    }
    data.update(overrides)
    return data


def _errors(participant, data) -> dict:
    with translation.override("en"):
        form = AdverseEventForm(data, instance=AdverseEvent(participant=participant))
        assert not form.is_valid()
        return {name: " ".join(map(str, messages)) for name, messages in form.errors.items()}


def test_a_complete_sae_report_is_valid(participant, fixed_day):
    form = AdverseEventForm(_post(fixed_day), instance=AdverseEvent(participant=participant))
    assert form.is_valid(), form.errors
    # In the list's order, whatever the order of the boxes posted.
    assert form.instance.seriousness_criteria == ["life_threatening", "hospitalisation"]


def test_a_serious_event_needs_criteria_expectedness_relation_to_myeloma_and_awareness(
    participant, fixed_day
):
    errors = _errors(
        participant,
        _post(
            fixed_day,
            seriousness_criteria=[],
            expectedness="",
            relation_disease="",
            site_aware_at="",
            hospital_admitted_on="",
            hospital_discharged_on="",
        ),
    )
    assert "at least one seriousness criterion" in errors["seriousness_criteria"]
    assert "expected after PVP" in errors["expectedness"]
    assert "multiple myeloma" in errors["relation_disease"]
    assert "became aware" in errors["site_aware_at"]


def test_criteria_and_hospital_dates_belong_to_serious_events_only(participant, fixed_day):
    errors = _errors(participant, _post(fixed_day, serious="no"))
    assert "only for a serious event" in errors["seriousness_criteria"]
    errors = _errors(participant, _post(fixed_day, serious="no", seriousness_criteria=[]))
    assert "only when hospitalisation" in errors["hospital_admitted_on"]
    # A non-serious event without them is fine, the E2A fields left empty.
    fine = _post(
        fixed_day,
        serious="no",
        seriousness_criteria=[],
        hospital_admitted_on="",
        hospital_discharged_on="",
        expectedness="",
        relation_disease="",
        site_aware_at="",
    )
    assert AdverseEventForm(fine, instance=AdverseEvent(participant=participant)).is_valid()


def test_hospitalisation_needs_its_admission_and_the_dates_in_order(participant, fixed_day):
    onset = fixed_day - dt.timedelta(days=3)
    assert (
        "date of admission"
        in (_errors(participant, _post(fixed_day, hospital_admitted_on=""))["hospital_admitted_on"])
    )
    early = (onset - dt.timedelta(days=2)).isoformat()
    assert (
        "before the admission"
        in (
            _errors(participant, _post(fixed_day, hospital_discharged_on=early))[
                "hospital_discharged_on"
            ]
        )
    )
    # Admitted before the onset (a stay the event prolonged), but not discharged before it.
    before = _post(
        fixed_day,
        hospital_admitted_on=(onset - dt.timedelta(days=5)).isoformat(),
        hospital_discharged_on=(onset - dt.timedelta(days=1)).isoformat(),
    )
    assert "before the event's onset" in _errors(participant, before)["hospital_discharged_on"]
    prolonged = _post(fixed_day, hospital_admitted_on=(onset - dt.timedelta(days=5)).isoformat())
    assert AdverseEventForm(prolonged, instance=AdverseEvent(participant=participant)).is_valid()
    tomorrow = (fixed_day + dt.timedelta(days=1)).isoformat()
    assert (
        "future"
        in (
            _errors(participant, _post(fixed_day, hospital_discharged_on=tomorrow))[
                "hospital_discharged_on"
            ]
        )
    )


def test_awareness_falls_between_the_onset_and_now(participant, fixed_day):
    onset = fixed_day - dt.timedelta(days=3)
    before = f"{(onset - dt.timedelta(days=1)).isoformat()}T23:00"
    assert (
        "before the event's onset"
        in (_errors(participant, _post(fixed_day, site_aware_at=before))["site_aware_at"])
    )
    later_today = f"{fixed_day.isoformat()}T18:00"  # the clock stands at noon
    assert (
        "future"
        in _errors(participant, _post(fixed_day, site_aware_at=later_today))["site_aware_at"]
    )
    assert (
        "between"
        in _errors(participant, _post(fixed_day, site_aware_at="0001-01-01T00:00"))["site_aware_at"]
    )


def test_death_as_a_criterion_and_a_fatal_outcome_go_together(participant, fixed_day):
    errors = _errors(participant, _post(fixed_day, seriousness_criteria=["death"]))
    assert "outcome fatal" in errors["outcome"]
    errors = _errors(participant, _post(fixed_day, outcome="fatal", grade="5"))
    assert "results in death" in errors["seriousness_criteria"]


def test_the_email_carries_the_e2a_report_and_flags_a_susar(
    world, participant, coordinator, fixed_day, django_capture_on_commit_callbacks
):
    identity = IdentityFactory(participant=participant)
    client = verified_client(world.users[Role.SURGEON])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("trial:adverse_event_create", args=[participant.trial_number]),
            _post(fixed_day),
        )
    assert response.status_code == 302
    [message] = mail.outbox
    onset = fixed_day - dt.timedelta(days=3)
    assert message.subject == (
        f"VERTEBRA: SUSAR (suspected unexpected serious adverse reaction) for "
        f"{participant.trial_number}"
    )
    body = message.body
    assert "SUSAR: the event is serious, related to the procedure and unexpected." in body
    assert (
        "Seriousness criteria (ICH E2A): Is life-threatening; Requires inpatient "
        "hospitalisation or prolongs an existing hospitalisation"
    ) in body
    assert (
        f"Hospitalisation: admitted {onset.isoformat()}, discharged "
        f"{(onset + dt.timedelta(days=2)).isoformat()}"
    ) in body
    assert f"Site aware: {onset.isoformat()} 14:30" in body
    assert "Relation to the procedure: Possible" in body
    assert "Expectedness: Unexpected" in body
    assert "Relation to multiple myeloma: Probable" in body
    # Trial numbers only: nothing that names the participant.
    for private in (identity.full_name, identity.cpr, identity.phone, identity.email):
        assert str(private) not in body and str(private) not in str(message.subject)


def test_an_expected_or_unrelated_sae_is_no_susar(participant, coordinator, fixed_day):
    for relation, expectedness in (("possible", "expected"), ("unlikely", "unexpected")):
        event = adverse_events.adverse_event_record(
            participant=participant,
            user=coordinator,
            description="Fever",
            onset_date=fixed_day,
            grade=3,
            serious=True,
            relation=relation,
            outcome="recovering",
            resolved_on=None,
            **sae_report(expectedness=expectedness),
        )
        assert not event.is_susar
        adverse_events.sae_notify(event_id=event.pk)
    assert [m.subject for m in mail.outbox] == [
        f"VERTEBRA: serious adverse event for {participant.trial_number}"
    ] * 2
    assert "Hospitalisation: admitted" in mail.outbox[0].body
    assert "not yet discharged" in mail.outbox[0].body


def test_the_email_is_danish_by_default(participant, coordinator, settings, fixed_day):
    settings.LANGUAGE_CODE = "da"
    event = AdverseEventFactory(
        participant=participant,
        serious=True,
        relation="definite",
        **sae_report(fixed_day),
    )
    adverse_events.sae_notify(event_id=event.pk)
    [message] = mail.outbox
    assert "SUSAR" in message.subject
    assert "Alvorlighedskriterier (ICH E2A): Kræver indlæggelse" in message.body
    assert "Relation til myelomatose: Sandsynlig" in message.body


def test_the_sae_list_flags_a_susar_and_counts_the_hours_to_the_notice(world, fixed_day):
    participant = randomised(world.own_participant, arm="pvp", days_ago=20)
    aware = dt.datetime.combine(fixed_day - dt.timedelta(days=3), dt.time(8), tzinfo=COPENHAGEN)
    late = AdverseEventFactory(
        participant=participant,
        serious=True,
        relation="probable",
        onset_date=aware.date(),
        **sae_report(aware.date(), site_aware_at=aware),
        sae_notified_at=aware + dt.timedelta(hours=30, minutes=20),
    )
    prompt = AdverseEventFactory(
        participant=participant,
        serious=True,
        relation="not_related",
        onset_date=aware.date(),
        **sae_report(aware.date(), site_aware_at=aware, expectedness="expected"),
        sae_notified_at=aware + dt.timedelta(hours=2),
    )
    client = verified_client(world.users[Role.COORDINATOR])
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = client.get(reverse("trial:sae_list")).content.decode()
    assert f'data-testid="susar-{late.pk}"' in page
    assert f'data-testid="susar-{prompt.pk}"' not in page
    late_cell = page.split(f'data-testid="hours-{late.pk}">', 1)[1].split("</td>", 1)[0]
    assert "30 hours" in late_cell and "text-bg-warning" in late_cell
    prompt_cell = page.split(f'data-testid="hours-{prompt.pk}">', 1)[1].split("</td>", 1)[0]
    assert "2 hours" in prompt_cell and "text-bg-warning" not in prompt_cell
    assert "Requires inpatient hospitalisation" in page


def test_awareness_cannot_follow_the_notice(participant, coordinator, fixed_day):
    with time_machine.travel(timezone.now() - dt.timedelta(hours=5), tick=True):
        event = adverse_events.adverse_event_record(
            participant=participant,
            user=coordinator,
            description="Fever",
            onset_date=fixed_day - dt.timedelta(days=1),
            grade=3,
            serious=True,
            relation="not_related",
            outcome="recovering",
            resolved_on=None,
            **sae_report(fixed_day - dt.timedelta(days=1)),
        )
        adverse_events.sae_notify(event_id=event.pk)
    with pytest.raises(ValidationError) as refused:
        adverse_events.adverse_event_update(
            event=event, user=coordinator, reason="Typo", site_aware_at=timezone.now()
        )
    assert "site_aware_at" in refused.value.message_dict


def test_the_export_and_codebook_carry_the_e2a_fields(world, settings, tmp_path, fixed_day):
    settings.EXPORT_ROOT = tmp_path / "exports"
    participant = randomised(world.own_participant, arm="pvp", days_ago=20)
    onset = fixed_day - dt.timedelta(days=3)
    aware = dt.datetime.combine(onset, dt.time(14, 30), tzinfo=COPENHAGEN)
    event = AdverseEventFactory(
        participant=participant,
        serious=True,
        onset_date=onset,
        **sae_report(
            onset,
            seriousness_criteria=["life_threatening", "hospitalisation"],
            hospital_discharged_on=onset + dt.timedelta(days=2),
            site_aware_at=aware,
        ),
    )
    spec = ExportSpec(exporter="adverse_events", format="csv", identified=False, run_id="t")
    with translation.override("en"):
        zf = zipfile.ZipFile(write_export(spec, tmp_path / "ae.zip"))
    long = pd.read_csv(io.BytesIO(zf.read("csv/adverse_events.csv")), dtype=str)
    got = {r.item: r.value for r in long.itertuples() if r.event == str(event.pk)}
    assert got["seriousness_criteria"] == "life_threatening hospitalisation"
    assert got["hospital_admitted_on"] == onset.isoformat()
    assert got["hospital_discharged_on"] == (onset + dt.timedelta(days=2)).isoformat()
    assert got["expectedness"] == "unexpected"
    assert got["relation_disease"] == "probable"
    assert got["site_aware_at"].startswith(f"{onset.isoformat()}T14:30:00")

    codebook = pd.read_csv(io.BytesIO(zf.read("codebook.csv")), dtype=str).set_index("variable")
    criteria = codebook.loc["seriousness_criteria"]
    assert criteria["allowed_values"].startswith("codes separated by spaces: death = Results")
    assert "medically_important = Other medically important event" in criteria["allowed_values"]
    assert codebook.loc["expectedness", "allowed_values"] == (
        "expected = Expected | unexpected = Unexpected"
    )
    assert codebook.loc["hospital_admitted_on", "type"] == "date"
    assert codebook.loc["site_aware_at", "type"] == "datetime"
    assert codebook.loc["relation_disease", "label"] == "relation to multiple myeloma"


def test_the_create_page_groups_the_report_under_the_serious_answer(participant, world):
    client = verified_client(world.users[Role.NURSE])
    page = client.get(
        reverse("trial:adverse_event_create", args=[participant.trial_number])
    ).content.decode()
    assert 'data-show-when="serious=yes"' in page
    assert 'name="seriousness_criteria"' in page and 'type="datetime-local"' in page


def test_the_edit_page_keeps_its_version_and_refuses_a_stale_save(
    world, participant, coordinator, fixed_day
):
    from tests.races import page_version

    nurse = world.users[Role.NURSE]
    event = adverse_events.adverse_event_record(
        participant=participant,
        user=nurse,
        description="Pneumonia",
        onset_date=fixed_day,
        grade=3,
        serious=True,
        relation="not_related",
        outcome="recovering",
        resolved_on=None,
        **sae_report(),
    )
    url = reverse("trial:adverse_event_edit", args=[participant.trial_number, event.pk])
    client = verified_client(nurse)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    loaded = page_version(client.get(url))
    adverse_events.adverse_event_update(
        event=event,
        user=world.users[Role.HEMATOLOGIST],
        reason="Discharged",
        hospital_discharged_on=fixed_day,
    )
    data = _post(
        fixed_day,
        onset_date=fixed_day.isoformat(),
        hospital_admitted_on=fixed_day.isoformat(),
        hospital_discharged_on="",
        site_aware_at=f"{fixed_day.isoformat()}T11:00",
        reason="Admission date",
        version=loaded,
    )
    response = client.post(url, data)
    assert response.status_code == 200
    assert "saved it at" in response.content.decode()
    event.refresh_from_db()
    assert event.hospital_discharged_on == fixed_day  # the other person's value is kept
