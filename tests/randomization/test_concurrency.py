"""Real concurrency on PostgreSQL: many clinicians press "Randomise" at the same moment.

Each thread has its own database connection and transaction, released together by a barrier,
so the row locks of participant_randomize are what keeps the envelopes apart.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection, connections

from randomization import services
from randomization.models import Allocation, Envelope
from tests.randomization.conftest import make_batch, make_ready
from trial.models import Role
from trial.participants.selectors import randomisation_blockers

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

N = 32


@pytest.fixture(autouse=True)
def _needs_postgres():
    if connection.vendor != "postgresql":
        pytest.fail("The concurrency tests need PostgreSQL (DATABASE_URL=postgres://...)")


@pytest.fixture(autouse=True)
def _eligibility_criteria(_needs_postgres):
    """Transactional tests flush the database, data migrations included: restore the
    default eligibility criteria that the screening path is checked against."""
    import importlib

    from django.apps import apps

    from trial.models import EligibilityCriteriaVersion

    if not EligibilityCriteriaVersion.objects.exists():
        migration = importlib.import_module("trial.migrations.0003_default_eligibility_criteria")
        migration.create(apps, None)


def _race(jobs):
    """Run each (participant, user) job in its own thread, all released at once."""
    barrier = threading.Barrier(len(jobs))
    results: dict[int, object] = {}

    def run(participant, user):
        try:
            barrier.wait(timeout=60)
            results[participant.pk] = services.participant_randomize(
                participant=participant, user=user
            )
        except Exception as exc:  # collected and asserted on below
            results[participant.pk] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a randomisation hung"
    return results


def test_simultaneous_randomisations_get_distinct_envelopes_in_serial_order(world):
    user = world.users[Role.HEMATOLOGIST]
    make_batch(world.own, "A1N", 20, seed=1)
    make_batch(world.own, "A1N", 20, seed=2)  # the race crosses the batch boundary
    participants = [make_ready(world.own, user) for _ in range(N)]

    results = _race([(p, user) for p in participants])

    errors = [r for r in results.values() if isinstance(r, Exception)]
    assert errors == []
    serials = sorted(r.envelope.serial for r in results.values())
    assert serials == [f"AAR-A1N-{n:03d}" for n in range(1, N + 1)]
    assert Allocation.objects.count() == N
    used = list(Envelope.objects.filter(participant__isnull=False).order_by("sequence"))
    assert [e.sequence for e in used] == list(range(1, N + 1))
    # Serialised by the stock lock: the n-th envelope was taken n-th.
    by_time = list(Allocation.objects.order_by("randomised_at", "id"))
    assert [a.envelope.sequence for a in by_time] == list(range(1, N + 1))

    # A second attempt for any of them, even all at once, is refused.
    again = _race([(p, user) for p in participants[:8]])
    assert all(isinstance(r, services.RandomisationRefused) for r in again.values()), again
    assert all("already randomised" in str(r) for r in again.values())
    assert Allocation.objects.count() == N
    assert Envelope.objects.filter(participant__isnull=False).count() == N
    participants[0].refresh_from_db()
    assert randomisation_blockers(participants[0])  # no longer in screening


def test_the_same_participant_pressed_twice_at_once_gets_one_envelope(world):
    user = world.users[Role.HEMATOLOGIST]
    make_batch(world.own, "A1N", 8)
    participant = make_ready(world.own, user)
    barrier = threading.Barrier(6)
    outcomes = []

    def run():
        try:
            barrier.wait(timeout=60)
            outcomes.append(services.participant_randomize(participant=participant, user=user))
        except services.RandomisationRefused as exc:
            outcomes.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    successes = [o for o in outcomes if isinstance(o, Allocation)]
    assert len(successes) == 1 and len(outcomes) == 6
    assert successes[0].envelope.serial == "AAR-A1N-001"
    assert Envelope.objects.filter(participant__isnull=False).count() == 1


def test_two_sites_and_two_strata_interleaved(world):
    own_user = world.users[Role.HEMATOLOGIST]
    other_user = world.outsider
    streams = {
        ("AAR", "A1N"): (world.own, own_user, {}),
        ("AAR", "B2Y"): (
            world.own,
            own_user,
            {"myeloma_status": "new", "levels": ("T9", "T10"), "earlier_fractures": True},
        ),
        ("ODE", "A1N"): (world.other, other_user, {}),
        ("ODE", "B2Y"): (
            world.other,
            other_user,
            {"myeloma_status": "new", "levels": ("L2", "L3", "L4"), "earlier_fractures": True},
        ),
    }
    per_stream = 8
    jobs = []
    for (_site_code, stratum), (site, user, data) in streams.items():
        make_batch(site, stratum, per_stream + 2)
        for _ in range(per_stream):
            jobs.append((make_ready(site, user, **data), user, (site.code, stratum)))
    # Interleave the streams so that neighbouring threads compete for different locks.
    jobs.sort(key=lambda job: (job[0].sequence, job[2]))
    expected_stream = {job[0].pk: job[2] for job in jobs}

    results = _race([(p, u) for p, u, _stream in jobs])

    errors = [r for r in results.values() if isinstance(r, Exception)]
    assert errors == []
    serials_by_stream: dict[tuple[str, str], list[str]] = {}
    for pk, allocation in results.items():
        site_code, stratum = expected_stream[pk]
        assert allocation.envelope.site.code == site_code
        assert allocation.stratum == stratum
        serials_by_stream.setdefault((site_code, stratum), []).append(allocation.envelope.serial)
    for (site_code, stratum), serials in serials_by_stream.items():
        assert sorted(serials) == [
            f"{site_code}-{stratum}-{n:03d}" for n in range(1, per_stream + 1)
        ]
    assert Counter(a.envelope_id for a in Allocation.objects.all()).most_common(1)[0][1] == 1
    assert Envelope.objects.filter(participant__isnull=True).count() == 4 * 2


def test_two_clinicians_of_one_site_and_stratum_get_two_different_sealed_envelopes(world):
    """The stock holds envelopes in every state before the first sealed one; two clinicians
    press "Randomise" at once, several times over, and each is named its own sealed one."""
    from tests.factories import UserFactory

    first = world.users[Role.HEMATOLOGIST]
    second = UserFactory(role=Role.HEMATOLOGIST, sites=[world.own])
    make_batch(world.own, "A1N", 12)
    earlier = services.participant_randomize(participant=make_ready(world.own, first), user=first)
    services.allocation_confirm(
        allocation=earlier, user=first, serial="AAR-A1N-001", arm=earlier.arm
    )
    reason = "Damaged in the post, reported by the ward"
    services.envelope_report(user=first, serial="AAR-A1N-002", state="spoiled", reason=reason)
    services.envelope_report(user=second, serial="AAR-A1N-003", state="missing", reason=reason)

    named = []
    for _round in range(3):
        jobs = [(make_ready(world.own, first), first), (make_ready(world.own, second), second)]
        results = _race(jobs)
        assert not [r for r in results.values() if isinstance(r, Exception)], results
        pair = sorted(r.envelope.serial for r in results.values())
        assert pair[0] != pair[1]
        named += pair
    assert named == [f"AAR-A1N-{n:03d}" for n in range(4, 10)]
    states = dict(Envelope.objects.values_list("serial", "state"))
    assert [states[s] for s in named] == ["issued"] * 6
    assert states["AAR-A1N-002"] == "spoiled" and states["AAR-A1N-003"] == "missing"
    assert Envelope.objects.filter(state="sealed").count() == 3
