import datetime as dt

import time_machine
from django.test import Client

from tests.factories import ParticipantFactory, outcome_scores, screening_complete
from tests.trial.api.conftest import token_client
from trial.models import Role


def _pull(client: Client, url: str) -> list[dict]:
    """Every page of ``url``, following ``next``."""
    results = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = b"".join(response.streaming_content) if response.streaming else response.content
        import json

        page = json.loads(body)
        results += page["results"]
        url = page["next"]
    return results


def test_participants_are_those_of_the_users_sites_pseudonymised(world):
    rows = _pull(token_client(world.users[Role.NURSE]), "/api/v1/participants/")
    assert [r["trial_number"] for r in rows] == [world.own_participant.trial_number]
    assert set(rows[0]) == {
        "trial_number",
        "site",
        "status",
        "registered_at",
        "date_of_death",
        "withdrawn_on",
    }
    central = _pull(token_client(world.users[Role.MONITOR]), "/api/v1/participants/?site=ODE")
    assert [r["trial_number"] for r in central] == [world.other_participant.trial_number]


def test_cursor_pages_cover_everyone_once(world):
    for seq in range(2, 8):
        ParticipantFactory(site=world.own, sequence=seq)
    client = token_client(world.users[Role.COORDINATOR])
    rows = _pull(client, "/api/v1/participants/?page_size=3")
    numbers = [r["trial_number"] for r in rows]
    assert len(numbers) == 8 == len(set(numbers))
    assert numbers == sorted(numbers)


def test_a_bad_cursor_or_page_size_is_a_400_with_a_code(world):
    client = token_client(world.users[Role.COORDINATOR])
    assert client.get("/api/v1/participants/?cursor=xyz").json()["error"]["code"] == (
        "invalid_cursor"
    )
    assert client.get("/api/v1/participants/?page_size=0").status_code == 400
    response = client.get("/api/v1/participants/?modified_since=yesterday")
    assert response.json()["error"]["code"] == "invalid_modified_since"


def test_errors_speak_the_users_language(world):
    client = token_client(world.users[Role.COORDINATOR])
    english = client.get("/api/v1/records/?form=nope").json()["error"]["message"]
    danish = client.get("/api/v1/records/?form=nope", HTTP_ACCEPT_LANGUAGE="da").json()
    assert danish["error"]["code"] == "invalid_form"
    assert danish["error"]["message"] != english


def test_long_records_match_the_exporters_rows(world):
    p = world.own_participant
    screening_complete(p, world.users[Role.HEMATOLOGIST])
    outcome_scores(p, "W4", odi=30, vas=(40, 20))
    rows = _pull(token_client(world.users[Role.DATA_MANAGER]), "/api/v1/records/?form=q_vas")
    assert {(r["visit"], r["item"], r["value"]) for r in rows} >= {
        ("W4", "vas_back", "40"),
        ("W4", "vas_leg", "20"),
    }
    records = _pull(
        token_client(world.users[Role.DATA_MANAGER]),
        "/api/v1/records/?form=q_vas&shape=record&visit=W4",
    )
    assert records[0]["trial_number"] == p.trial_number and records[0]["vas_back"] == 40


def test_records_of_another_sites_participants_are_not_sent(world):
    outcome_scores(world.other_participant, "W4", odi=30)
    rows = _pull(token_client(world.users[Role.NURSE]), "/api/v1/records/?form=q_odi")
    assert rows == []


def test_free_text_never_leaves_through_the_api(world):
    screening_complete(world.own_participant, world.users[Role.HEMATOLOGIST])
    rows = _pull(
        token_client(world.users[Role.DATA_MANAGER]), "/api/v1/records/?form=surgical_assessment"
    )
    assert rows and "contraindication_details" not in {r["item"] for r in rows}


def test_the_identity_form_is_not_offered(world):
    client = token_client(world.users[Role.DATA_MANAGER])
    forms = {f["form"] for f in client.get("/api/v1/metadata/").json()["forms"]}
    assert "identity" not in forms and "q_odi" in forms
    assert client.get("/api/v1/records/?form=identity").status_code == 400


def test_modified_since_returns_only_participants_written_since(world):
    with time_machine.travel(dt.datetime(2026, 1, 10, 12, tzinfo=dt.UTC), tick=False):
        late = ParticipantFactory(site=world.own, sequence=9)
        screening_complete(late, world.users[Role.HEMATOLOGIST])
    client = token_client(world.users[Role.COORDINATOR])
    rows = _pull(client, "/api/v1/participants/?modified_since=2026-01-09")
    numbers = {r["trial_number"] for r in rows}
    assert late.trial_number in numbers
    rows = _pull(client, "/api/v1/participants/?modified_since=2026-01-11T00:00:00")
    assert late.trial_number not in {r["trial_number"] for r in rows}


def test_a_page_of_records_costs_the_same_queries_at_two_sizes(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = token_client(world.users[Role.COORDINATOR])
    client.get("/api/v1/metadata/")  # the token's first use is stamped once, not per page
    counts = []
    for n in (2, 20):
        start = 100 + n
        for seq in range(start, start + n):
            outcome_scores(ParticipantFactory(site=world.own, sequence=seq), "W4", odi=20)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(
                "/api/v1/records/?form=q_odi&page_size=100&modified_since=2000-01-01"
            )
            b"".join(response.streaming_content)
        counts.append(len(ctx))
    assert counts[0] == counts[1]


def test_the_visit_filter_is_applied_in_sql_where_the_exporter_knows_its_visit_field(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    p = world.own_participant
    outcome_scores(p, "BL", odi=40, vas=(60, 30))
    outcome_scores(p, "W4", odi=30, vas=(40, 20))
    client = token_client(world.users[Role.DATA_MANAGER])
    with CaptureQueriesContext(connection) as ctx:
        rows = _pull(client, "/api/v1/records/?form=q_vas&visit=W4")
    assert {r["visit"] for r in rows} == {"W4"}
    assert {(r["item"], r["value"]) for r in rows} >= {("vas_back", "40"), ("vas_leg", "20")}
    responses = [q["sql"] for q in ctx.captured_queries if "questionnaireresponse" in q["sql"]]
    assert any("visit_code" in sql and "'W4'" in sql for sql in responses), responses
    # A form keyed by visit through a query key (contacts) filters in SQL the same way.
    from trial.exports.registry import autodiscover

    contacts = {e.identifier: e for e in autodiscover().exporters()}["contacts"]
    assert contacts.visit_lookup() == "visit_code"


def test_modified_since_asks_a_questionnaires_own_history(world):
    """A questionnaire form comes back only when a response of that instrument changed; a form
    that does not name its sources comes back on any write, as participants/ does."""
    from questionnaires.models import QuestionnaireResponse, ResponseStatus

    p = world.own_participant
    with time_machine.travel(dt.datetime(2025, 6, 1, 10, tzinfo=dt.UTC), tick=False):
        screening_complete(p, world.users[Role.HEMATOLOGIST])
        outcome_scores(p, "BL", odi=40, vas=(60, 30))
    with time_machine.travel(dt.datetime(2026, 2, 1, 10, tzinfo=dt.UTC), tick=False):
        QuestionnaireResponse.objects.create(
            participant=p, visit_code="W4", instrument_code="vas", instrument_version="1",
            mode="phone", status=ResponseStatus.SUBMITTED, answers={"vas_back": 20},
            submitted_at=dt.datetime(2026, 2, 1, 10, tzinfo=dt.UTC),
        )  # fmt: skip
    client = token_client(world.users[Role.DATA_MANAGER])
    since = "modified_since=2026-01-01"
    vas = _pull(client, f"/api/v1/records/?form=q_vas&{since}")
    assert {(r["visit"], r["item"], r["value"]) for r in vas} >= {
        ("BL", "vas_back", "60"),
        ("W4", "vas_back", "20"),
    }
    assert _pull(client, f"/api/v1/records/?form=q_odi&{since}") == []
    assert _pull(client, "/api/v1/records/?form=q_odi&modified_since=2025-05-01")
    others = _pull(client, f"/api/v1/records/?form=screening_form&{since}")
    assert {r["trial_number"] for r in others} == {p.trial_number}
    listed = _pull(client, f"/api/v1/participants/?{since}")
    assert {r["trial_number"] for r in listed} >= {p.trial_number}
