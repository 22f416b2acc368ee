"""The audit trail as sentences (trial.audit_display): names instead of ids, labels, dates in
the reader's format, the participant instead of "system", a questionnaire's autosaves folded
into one entry per submission (the stored trail untouched), a constant number of queries."""

from __future__ import annotations

import datetime as dt

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from questionnaires import services as questionnaire_services
from questionnaires.models import Mode, QuestionnaireResponse
from tests import clock
from tests.conftest import verified_client
from tests.factories import UserFactory
from trial.audit import audit_entries, audited_save
from trial.audit_display import audit_lines
from trial.models import Death, Role


def _at(hour: int, minute: int) -> dt.datetime:
    return dt.datetime.combine(clock.FIXED_DAY, dt.time(hour, minute), tzinfo=clock.COPENHAGEN)


def _lines(participant):
    with translation.override("en"):
        return audit_lines(audit_entries(participant_id=participant.id, limit=100))


def _text(lines) -> str:
    return "\n".join(str(s) for line in lines for s in line.sentences)


def _autosaves(participant, minutes: list[int], *, submit_at: int | None, mode=Mode.LINK):
    for n, minute in enumerate(minutes):
        with time_machine.travel(_at(12, minute), tick=False):
            questionnaire_services.response_save_answers(
                participant=participant,
                visit_code="BL",
                instrument_code="odi",
                answers={f"odi_{n % 10 + 1}": n % 6},
                mode=mode,
            )
    if submit_at is not None:
        with time_machine.travel(_at(12, submit_at), tick=False):
            questionnaire_services.visit_submit(participant=participant, visit_code="BL", mode=mode)


def test_a_foreign_key_reads_as_the_persons_name_and_a_date_in_the_readers_format(world):
    participant = world.own_participant
    writer = UserFactory(first_name="Hanne", last_name="Holm", role=Role.NURSE)
    other = UserFactory(first_name="Bo", last_name="Berg", role=Role.NURSE)
    corrector = UserFactory(first_name="Dorte", last_name="Dam", role=Role.DATA_MANAGER)
    death = Death(
        participant=participant,
        date_of_death=dt.date(2026, 3, 4),
        relation="myeloma",
        recorded_by=writer,
    )
    audited_save(death, user=writer)
    death.recorded_by = other
    death.date_of_death = dt.date(2026, 3, 5)
    audited_save(death, user=corrector, reason="Bo recorded it, not Hanne")
    text = _text(_lines(participant))
    assert "Dorte Dam changed recorded by from" in text
    assert '>Hanne Holm</span> to <span class="change-new">Bo Berg</span>.' in text
    assert f"#{writer.pk}" not in text and f"#{other.pk}" not in text
    assert '<span class="change-old">04/03/2026</span>' in text  # British, see trial/formats
    assert "Hanne Holm recorded death" not in text  # the subject is the record's name
    created = next(line for line in _lines(participant) if line.action == "created")
    assert ("participant", participant.trial_number) in created.values
    assert ("related to", "Multiple myeloma") in created.values


def test_autosaves_through_a_link_fold_into_one_entry_by_the_participant(world):
    participant = world.own_participant
    _autosaves(participant, [1, 3, 5, 9], submit_at=10)
    lines = _lines(participant)
    odi = [line for line in lines if "Oswestry" in line.subject]
    assert len(odi) == 1
    (line,) = odi
    assert line.action == "answered"
    assert str(line.sentences[0]) == (
        "The participant (by personal link) answered Oswestry Disability Index at visit BL "
        "(4 autosaves, 12:01–12:09), submitted 12:10."
    )
    assert len(line.folded) == 5
    # The folded saves read as answers by question, not a dict of item codes.
    inner = _text(line.folded)
    assert "odi_2:" in inner and "{" not in inner
    assert "The system" not in _text([line for line in lines if "visit BL" in line.subject])
    assert f"The system recorded Participant {participant.trial_number}." in _text(lines)
    # The stored trail is untouched: one history row per save.
    odi_response = QuestionnaireResponse.objects.get(participant=participant, instrument_code="odi")
    assert odi_response.history.count() == 5


def test_a_draft_not_yet_submitted_says_so_and_a_tablet_names_the_tablet(world):
    participant = world.own_participant
    _autosaves(participant, [1, 2], submit_at=None, mode=Mode.TABLET)
    (line,) = [line for line in _lines(participant) if "Oswestry" in line.subject]
    assert str(line.sentences[0]) == (
        "The participant (on the clinic tablet) answered Oswestry Disability Index at visit BL "
        "(2 autosaves, 12:01–12:02), not submitted yet."
    )


def test_the_trail_reads_in_danish(world):
    participant = world.own_participant
    _autosaves(participant, [1, 2], submit_at=3)
    with translation.override("da"):
        lines = audit_lines(audit_entries(participant_id=participant.id, limit=100))
    text = _text(lines)
    assert "Forsøgspersonen (via personligt link) besvarede" in text
    assert "(2 automatiske gemninger, 12:01–12:02), indsendt 12:03." in text


def _history_queries(client, participant) -> int:
    url = reverse("trial:participant_history", args=[participant.trial_number])
    client.get(url)  # warm up
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_the_history_page_costs_the_same_queries_for_few_and_many_changes(world):
    participant = world.own_participant
    client = verified_client(world.users[Role.DATA_MANAGER])
    nurses = [UserFactory(role=Role.NURSE) for _ in range(4)]
    death = Death(participant=participant, date_of_death=dt.date(2026, 3, 4), relation="myeloma")
    death.recorded_by = nurses[0]
    audited_save(death, user=nurses[0])
    _autosaves(participant, [1, 2], submit_at=None)
    few = _history_queries(client, participant)
    for nurse in nurses[1:]:
        death.recorded_by = nurse
        audited_save(death, user=nurse, reason="handed over to another nurse")
    _autosaves(participant, [5, 6, 7, 8, 9, 11, 12], submit_at=13)
    many = _history_queries(client, participant)
    assert few == many
