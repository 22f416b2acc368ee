"""The follow-up beat tasks run for real: worker processes on the Redis at 127.0.0.1:6379,
reading the same PostgreSQL test database, run the nightly and the weekly-list tasks; two
workers at once change nothing twice, and a second round changes nothing at all."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from contextlib import ExitStack

import pytest
from django.utils import timezone

from followup.models import Contact, WeeklyList
from followup.services import coming_week_start
from questionnaires.models import QuestionnaireLink
from tests.celery.workers import redis_url, require_services, start_worker, stop_worker
from tests.factories import IdentityFactory, ParticipantFactory, SiteFactory, UserFactory
from tests.followup.conftest import allocate
from trial.models import Role
from trial.protocol.schedule import local_today

REDIS = redis_url(11)

pytestmark = [pytest.mark.celery_worker, pytest.mark.postgres]


@pytest.fixture
def workers():
    """Two worker processes on one queue of our own."""
    require_services(REDIS)
    queue = f"test-followup-{uuid.uuid4().hex[:8]}"
    processes = [start_worker(queue, f"{queue}-{n}", REDIS) for n in (1, 2)]
    with ExitStack() as stack:
        for process in processes:
            stack.callback(stop_worker, process)
        yield queue


def _run_all(client, queue: str, tasks: list[tuple[str, list]]) -> list:
    results = [client.send_task(name, args=args, queue=queue) for name, args in tasks]
    deadline = time.monotonic() + 90
    for result in results:
        while not result.ready():
            assert time.monotonic() < deadline, "the workers did not answer within 90 s"
            time.sleep(0.2)
    return [result.get(timeout=5) for result in results]


def _state():
    return (
        sorted(Contact.objects.values_list("participant_id", "visit_code", "status", "attempts")),
        Contact.history.count(),
        sorted(WeeklyList.objects.values_list("nurse_id", "week_start", "contact_count")),
        WeeklyList.objects.exclude(sent_at=None).count(),
    )


@pytest.mark.django_db(transaction=True)
def test_nightly_and_weekly_tasks_run_on_two_workers_and_change_nothing_twice(workers):
    site = SiteFactory(code="FWK")
    UserFactory(username="fwk-nurse-1", role=Role.NURSE, sites=[site])
    UserFactory(username="fwk-nurse-2", role=Role.NURSE, sites=[site])
    now = timezone.now()
    for n, days_ago in enumerate((3, 8, 20, 40, 100), start=1):
        participant = ParticipantFactory(site=site, sequence=n)
        IdentityFactory(participant=participant, email=f"fwk{n}@example.dk")
        allocate(participant, now - dt.timedelta(days=days_ago))
    week = coming_week_start(local_today()).isoformat()

    from celery import Celery

    # A client app of our own, pointed at Redis, so the eager setting of the test process does
    # not short-circuit the round trip.
    client = Celery("client", broker=REDIS, backend=REDIS)
    nightly = _run_all(client, workers, [("followup.nightly", []), ("followup.nightly", [])])
    assert all(result["created"] >= 0 for result in nightly)
    assert Contact.objects.count() > 0
    # One contact per participant and visit, whichever worker created it.
    assert Contact.objects.values("participant_id", "visit_code").distinct().count() == (
        Contact.objects.count()
    )
    assert Contact.objects.filter(status="missed").exists()
    # Each visit whose window is open got its link, once, whichever worker sent it.
    assert sum(result["links"] for result in nightly) == QuestionnaireLink.objects.count() > 0
    assert QuestionnaireLink.objects.values("participant_id", "visit_code").distinct().count() == (
        QuestionnaireLink.objects.count()
    )
    weekly = _run_all(
        client, workers, [("followup.weekly_lists", [week]), ("followup.weekly_lists", [week])]
    )
    # Each nurse's list was sent exactly once, by one of the two runs.
    assert sum(result["sent"] for result in weekly) == 2
    assert WeeklyList.objects.exclude(sent_at=None).count() == 2
    before = _state()

    second = _run_all(
        client, workers, [("followup.nightly", []), ("followup.weekly_lists", [week])]
    )
    assert second[0] == {"created": 0, "due": 0, "missed": 0, "completed": 0, "links": 0}
    assert second[1] == {"sent": 0, "skipped": 0}
    assert _state() == before
