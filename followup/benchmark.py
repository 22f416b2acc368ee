"""Benchmark of the nightly scheduler at national-registry scale.

Creates (once) N participants in follow-up with allocations spread over the past year, then
times the nightly job: the first run (which creates every contact due so far) and the steady
state (a second run the same night, and the next night's run), with query counts.
"""

from __future__ import annotations

import datetime as dt
import random
import resource
import time

from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.models import Max
from django.test.utils import CaptureQueriesContext

from followup import services
from followup.models import Contact
from randomization.models import Allocation, Envelope, EnvelopeBatch
from trial.models import Participant, ParticipantStatus, Site, SiteKind, User

SITE_CODE = "BEN"


def _ensure_data(n: int, stdout) -> None:
    existing = Allocation.objects.filter(participant__site__code=SITE_CODE).count()
    if existing >= n:
        return
    surgery, _ = Site.objects.get_or_create(
        code="BENS", defaults={"name": "Benchmark surgery", "kind": SiteKind.SURGERY}
    )
    site, _ = Site.objects.get_or_create(
        code=SITE_CODE,
        defaults={"name": "Benchmark", "kind": SiteKind.HEMATOLOGY, "surgical_partner": surgery},
    )
    user, _ = User.objects.get_or_create(username="benchmark", defaults={"role": "coordinator"})
    rng = random.Random(1)
    start = time.perf_counter()
    today = dt.datetime.now(dt.UTC)
    todo = n - existing
    offset = Participant.objects.filter(site=site).aggregate(m=Max("sequence"))["m"] or 0
    batch = EnvelopeBatch.objects.create(
        site=site,
        stratum="A1N",
        size=todo,
        block_sizes=[2, 4],
        first_sequence=offset + 1,
        created_by=user,
    )
    chunk = 5000
    for first in range(0, todo, chunk):
        size = min(chunk, todo - first)
        with transaction.atomic():
            seqs = range(offset + first + 1, offset + first + size + 1)
            people = Participant.objects.bulk_create(
                [
                    Participant(
                        site=site,
                        sequence=s,
                        trial_number=f"{SITE_CODE}-{s:06d}",
                        initials="BM",
                        sex="F",
                        year_of_birth=1950,
                        status=ParticipantStatus.RANDOMISED,
                    )
                    for s in seqs
                ]
            )
            when = [
                today - dt.timedelta(days=rng.randint(0, 400), hours=rng.randint(0, 23))
                for _ in people
            ]
            envelopes = Envelope.objects.bulk_create(
                [
                    Envelope(
                        batch=batch,
                        site=site,
                        stratum="A1N",
                        sequence=p.sequence,
                        serial=f"{SITE_CODE}-A1N-{p.sequence:06d}",
                        arm="pvp" if p.sequence % 2 else "conservative",
                        block_number=(p.sequence + 1) // 2,
                        block_size=2,
                        position_in_block=1 + (p.sequence + 1) % 2,
                        used_at=w,
                        participant=p,
                        state="issued",
                    )
                    for p, w in zip(people, when, strict=True)
                ]
            )
            Allocation.objects.bulk_create(
                [
                    Allocation(
                        participant=p,
                        envelope=e,
                        arm=e.arm,
                        stratum="A1N",
                        randomised_at=w,
                        randomised_by=user,
                        confirmed_serial=e.serial,
                        confirmed_arm=e.arm,
                        confirmed_at=w,
                        confirmed_by=user,
                    )
                    for p, e, w in zip(people, envelopes, when, strict=True)
                ]
            )
    stdout.write(f"created {todo} participants in follow-up in {time.perf_counter() - start:.1f} s")


def _timed(label: str, fn, stdout):
    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - start
    stdout.write(f"{label:<44} {seconds:7.2f} s  {len(queries):4d} queries  {result}")
    return seconds


def run(stdout, *, participants: int) -> None:
    if Participant.objects.exclude(site__code=SITE_CODE).exists():
        raise CommandError(
            "The follow-up benchmark deletes every contact: run it on an empty database "
            "(e.g. DATABASE_URL=postgres://.../bench after `migrate`), never on trial data."
        )
    _ensure_data(participants, stdout)
    in_follow_up = Participant.objects.filter(status=ParticipantStatus.RANDOMISED).count()
    stdout.write(f"database: {connection.vendor}; participants in follow-up: {in_follow_up}")
    # A raw delete: the benchmark's own rows need no audit trail of their removal.
    Contact.history.model.objects.all()._raw_delete(connection.alias)
    Contact.objects.all()._raw_delete(connection.alias)
    today = dt.date.today()
    _timed(
        "nightly, first run (creates all due so far)",
        lambda: services.contacts_create_due(today=today),
        stdout,
    )
    _timed("  status update", lambda: services.contacts_update_status(today=today), stdout)
    _timed(
        "nightly, second run the same night",
        lambda: services.contacts_create_due(today=today),
        stdout,
    )
    tomorrow = today + dt.timedelta(days=1)
    _timed(
        "nightly, next night (steady state)",
        lambda: services.contacts_create_due(today=tomorrow),
        stdout,
    )
    _timed(
        "  status update next night",
        lambda: services.contacts_update_status(today=tomorrow),
        stdout,
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    stdout.write(f"peak RSS {peak:.0f} MB; contacts now {Contact.objects.count()}")
