"""Queries: raised by a monitor on one recorded item, answered by the site, closed by the
monitor; scoped by site; the thread is the record."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from tests.conftest import verified_client
from tests.factories import (
    AdverseEventFactory,
    ParticipantFactory,
    ScreeningFormFactory,
    outcome_scores,
    query_raised,
)
from trial.models import Query, QueryMessageKind, QueryState, Role
from trial.monitoring import items, services

pytestmark = pytest.mark.django_db


def _client(user):
    client = verified_client(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def _detail(query) -> str:
    return reverse("trial:query_detail", kwargs={"query_id": query.pk})


def test_every_form_value_of_a_participant_is_an_item_with_its_label_and_value(world):
    participant = world.own_participant
    ScreeningFormFactory(participant=participant)
    outcome_scores(participant, "W4", odi=30)
    with translation.override("en"):
        found = items.participant_items(participant)
        by_label = {(i.form_label, i.label) for i in found}
        odi = [
            i
            for i in found
            if i.form_label == "Questionnaire" and i.field_name.startswith("answers.")
        ]
    assert ("Screening form", "Date the fracture pain began") in by_label
    # A questionnaire's answers are one item each, with the visit they belong to.
    assert odi and all(i.visit_code == "W4" for i in odi)
    # Bookkeeping is not an item: who recorded it and when, the participant link, scores.
    assert not {i.field_name for i in found} & {"recorded_by", "participant", "scores", "id"}


def test_an_item_of_another_participant_is_not_found(world):
    event = AdverseEventFactory(participant=world.other_participant)
    key = f"trial.AdverseEvent:{event.pk}:onset_date"
    assert items.item_get(world.own_participant, key) is None
    assert items.item_get(world.other_participant, key) is not None
    # Identity and allocation are never items, whatever the key says.
    assert items.item_get(world.own_participant, f"trial.Identity:{event.pk}:cpr") is None


def test_the_monitor_raises_a_query_and_the_value_is_kept_as_it_was(world):
    monitor = world.users[Role.MONITOR]
    event = AdverseEventFactory(participant=world.own_participant, description="Back pain")
    client = _client(monitor)
    url = reverse("trial:query_raise", kwargs={"trial_number": world.own_participant.trial_number})
    key = f"trial.AdverseEvent:{event.pk}:description"
    page = client.get(url + f"?item={key}")
    assert page.status_code == 200 and "Back pain" in page.content.decode()
    response = client.post(url, {"item": key, "text": "Is this the fracture level?"})
    query = Query.objects.get()
    assert response.status_code == 302 and response["Location"] == _detail(query)
    assert query.state == QueryState.OPEN and query.raised_by == monitor
    assert query.value_when_raised == "Back pain"
    assert [m.kind for m in query.messages.all()] == [QueryMessageKind.RAISED]


def test_a_query_on_an_item_of_another_participant_is_refused_on_the_page(world):
    event = AdverseEventFactory(participant=world.other_participant)
    url = reverse("trial:query_raise", kwargs={"trial_number": world.own_participant.trial_number})
    response = _client(world.users[Role.MONITOR]).post(
        url, {"item": f"trial.AdverseEvent:{event.pk}:onset_date", "text": "Which date?"}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Query.objects.exists()


def test_a_question_needs_words(world):
    event = AdverseEventFactory(participant=world.own_participant)
    url = reverse("trial:query_raise", kwargs={"trial_number": world.own_participant.trial_number})
    response = _client(world.users[Role.MONITOR]).post(
        url, {"item": f"trial.AdverseEvent:{event.pk}:onset_date", "text": "?"}
    )
    assert response.status_code == 200 and "at least 5 characters" in response.content.decode()
    assert not Query.objects.exists()


def test_the_nurse_answers_and_the_monitor_closes(world):
    query = query_raised(world.own_participant, user=world.users[Role.MONITOR])
    nurse = _client(world.users[Role.NURSE])
    page = nurse.get(_detail(query)).content.decode()
    assert 'data-testid="query-answer"' in page and 'data-testid="query-close"' not in page
    response = nurse.post(_detail(query), {"step": "answer", "text": "Checked the chart: correct."})
    assert response.status_code == 302
    query.refresh_from_db()
    assert query.state == QueryState.ANSWERED
    # The nurse may not close it: that is the monitor's.
    assert nurse.post(_detail(query), {"step": "close", "text": ""}).status_code == 403
    monitor = _client(world.users[Role.MONITOR])
    assert monitor.post(_detail(query), {"step": "close", "text": ""}).status_code == 302
    query.refresh_from_db()
    assert query.state == QueryState.CLOSED and query.closed_by == world.users[Role.MONITOR]
    assert [m.kind for m in query.messages.all()] == ["raised", "answered", "closed"]


def test_reopening_needs_a_message_and_a_closed_query_cannot_be_closed_twice(world):
    monitor = world.users[Role.MONITOR]
    query = query_raised(world.own_participant, user=monitor)
    services.query_step(query=query, step="close", user=monitor)
    with pytest.raises(ValidationError, match="closed now"):
        services.query_step(query=query, step="close", user=monitor)
    with pytest.raises(ValidationError):
        services.query_step(query=query, step="reopen", user=monitor, text="")
    services.query_step(query=query, step="reopen", user=monitor, text="The date is still off.")
    query.refresh_from_db()
    assert query.state == QueryState.OPEN and query.closed_by is None


def test_a_step_the_state_no_longer_allows_is_a_message_on_the_page(world):
    monitor = world.users[Role.MONITOR]
    query = query_raised(world.own_participant, user=monitor)
    services.query_step(query=query, step="close", user=monitor)
    response = _client(world.users[Role.DATA_MANAGER]).post(
        _detail(query), {"step": "close", "text": ""}
    )
    assert response.status_code == 200
    assert "This query is closed now" in response.content.decode()


def test_site_staff_see_only_their_sites_queries(world):
    own = query_raised(world.own_participant)
    other = query_raised(world.other_participant)
    page = _client(world.users[Role.NURSE]).get(reverse("trial:query_list")).content.decode()
    assert f'query-row-{own.pk}"' in page and f'query-row-{other.pk}"' not in page
    assert _client(world.users[Role.NURSE]).get(_detail(other)).status_code == 404
    central = _client(world.users[Role.MONITOR]).get(reverse("trial:query_list")).content.decode()
    assert f'query-row-{own.pk}"' in central and f'query-row-{other.pk}"' in central


def test_the_list_filters_by_state_and_shows_the_oldest_first(world):
    first = query_raised(world.own_participant)
    second = query_raised(world.own_participant)
    services.query_step(query=second, step="close", user=world.users[Role.MONITOR])
    client = _client(world.users[Role.MONITOR])
    page = client.get(reverse("trial:query_list")).content.decode()
    assert f'query-row-{first.pk}"' in page and f'query-row-{second.pk}"' not in page
    closed = client.get(reverse("trial:query_list") + "?state=closed").content.decode()
    assert f'query-row-{second.pk}"' in closed and f'query-row-{first.pk}"' not in closed
    both = client.get(reverse("trial:query_list") + "?state=all").content.decode()
    assert both.index(f'query-row-{first.pk}"') < both.index(f'query-row-{second.pk}"')
    # A filter value that is not ours is ignored, never a 500.
    assert client.get(reverse("trial:query_list") + "?state=x&site=abc").status_code == 200


def test_the_list_takes_a_fixed_number_of_sql_queries(world):
    client = _client(world.users[Role.MONITOR])
    query_raised(world.own_participant)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("trial:query_list"))
    for n in range(2, 8):
        query_raised(ParticipantFactory(site=world.own, sequence=n))
    with CaptureQueriesContext(connection) as many:
        assert client.get(reverse("trial:query_list")).status_code == 200
    assert len(many) == len(few)


def test_the_participant_page_shows_the_queries_and_offers_raising_to_the_monitor(world):
    query = query_raised(world.own_participant)
    url = world.own_participant.get_absolute_url()
    monitor_page = _client(world.users[Role.MONITOR]).get(url).content.decode()
    assert 'data-testid="queries-panel"' in monitor_page
    assert 'data-testid="action-query-raise"' in monitor_page
    assert _detail(query) in monitor_page
    nurse_page = _client(world.users[Role.NURSE]).get(url).content.decode()
    assert _detail(query) in nurse_page and 'data-testid="action-query-raise"' not in nurse_page


def test_the_trail_records_each_step_with_its_message(world):
    monitor = world.users[Role.MONITOR]
    query = query_raised(world.own_participant, user=monitor)
    services.query_step(
        query=query, step="answer", user=world.users[Role.NURSE], text="It is right."
    )
    reasons = list(
        query.history.order_by("history_id").values_list("history_change_reason", flat=True)
    )
    assert reasons[-1] == "query answer: It is right."


def test_a_correction_of_the_value_is_noted_on_the_thread_and_answers_the_query(world):
    from trial.audit import audited_save

    monitor, nurse = world.users[Role.MONITOR], world.users[Role.NURSE]
    event = AdverseEventFactory(participant=world.own_participant, description="Back pain")
    item = items.item_get(world.own_participant, f"trial.AdverseEvent:{event.pk}:description")
    query = services.query_raise(
        participant=world.own_participant, item=item, text="Which level?", user=monitor
    )
    # A save that leaves the item alone adds nothing to the thread.
    event.grade = 2
    audited_save(event, user=nurse, reason="grade from the chart")
    assert query.messages.count() == 1
    event.description = "Back pain at L2"
    audited_save(event, user=nurse, reason="level added from the discharge letter")
    query.refresh_from_db()
    assert query.state == QueryState.ANSWERED
    note = query.messages.last()
    assert (note.kind, note.author) == (QueryMessageKind.CORRECTED, nurse)
    assert note.text == "Back pain → Back pain at L2\nlevel added from the discharge letter"
    # The nurse is offered the form to correct it on.
    page = _client(nurse).get(_detail(query)).content.decode()
    edit = reverse(
        "trial:adverse_event_edit",
        kwargs={"trial_number": world.own_participant.trial_number, "ae_id": event.pk},
    )
    assert f'href="{edit}" data-testid="query-correct"' in page


def test_the_dashboard_counts_queries_per_site_in_one_query(world):
    from trial.monitoring.dashboard import queries_context

    client = _client(world.users[Role.COORDINATOR])
    query_raised(world.own_participant)
    answered = query_raised(world.own_participant)
    services.query_step(query=answered, step="answer", user=world.users[Role.NURSE], text="Right.")
    page = client.get(reverse("trial:dashboard")).content.decode()
    assert 'data-testid="queries-by-site"' in page and 'data-site="AAR"' in page

    class Request:
        user = world.users[Role.COORDINATOR]

    for n in range(2, 6):
        query_raised(ParticipantFactory(site=world.other, sequence=n))
    with CaptureQueriesContext(connection) as queries:
        context = queries_context(Request())
    assert len(queries) <= 2  # the participants the user sees, and the counts
    assert {(r["site_code"], r["open"], r["answered"]) for r in context["rows"]} == {
        ("AAR", 1, 1),
        ("ODE", 4, 0),
    }
