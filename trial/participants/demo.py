"""Demo participants: a few in every state at each hematology site, a small analysis cohort
randomised long ago, and ``add_participants`` for benchmarks and load tests, with realistic fake
identifying data."""

from __future__ import annotations

import copy
import datetime as dt
import random
import unicodedata
from dataclasses import dataclass, replace

from django.db import transaction
from django.db.models import Max
from faker import Faker
from simple_history.utils import bulk_create_with_history

from trial.cpr import fake_cpr
from trial.errors import ServiceError
from trial.models import (
    Identity,
    Participant,
    ParticipantStatus,
    Site,
    SiteKind,
    User,
)
from trial.participants import services as participant_services
from trial.staff.demo import DEMO_SITES

BASE_STATES = [
    ParticipantStatus.SCREENING,
    ParticipantStatus.SCREENING,
    ParticipantStatus.NOT_INCLUDED,
    ParticipantStatus.RANDOMISED,
    ParticipantStatus.RANDOMISED,
    ParticipantStatus.COMPLETED,
    ParticipantStatus.WITHDRAWN,
    ParticipantStatus.DECEASED,
]


@dataclass(frozen=True)
class CohortMember:
    """One participant of the demo's analysis cohort and the path the demo steps give it.

    ``deviation`` is arm-dependent because the envelope decides the arm: "early" is a
    crossover on day ``EARLY_CROSSOVER_DAY`` when allocated to conservative care, or no PVP
    (the patient declined it) when allocated to PVP; "late" is a crossover on day
    ``LATE_CROSSOVER_DAY`` in the conservative arm and nothing in the PVP arm.
    """

    status: str
    randomised_days_ago: int
    myeloma_status: str  # "known" (cohort A) or "new" (cohort B): the screening form's
    planned_levels: tuple[str, ...]
    earlier_fractures: bool
    deviation: str = ""


EARLY_CROSSOVER_DAY = 18  # before the protocol's earliest day: the coordinator overrides
LATE_CROSSOVER_DAY = 42

# The analysis cohort at each hematology site, after the base participants: randomised long
# enough ago for the primary outcome (W4) and M3, the completed ones also M12, with every
# stratum (both cohorts, 1 and 2-4 planned levels, with and without earlier fractures) so the
# outcome report's adjusted analyses have data. The randomised ones stay inside the follow-up
# replay (followup.demo.DEMO_DAYS_AGO reaches 130 days back) with M3's window closed.
ANALYSIS_COHORT = (
    CohortMember(ParticipantStatus.COMPLETED, 400, "known", ("L1",), False),
    CohortMember(ParticipantStatus.COMPLETED, 430, "new", ("T12", "L1"), True),
    CohortMember(ParticipantStatus.COMPLETED, 460, "known", ("L2", "L3"), True),
    CohortMember(ParticipantStatus.COMPLETED, 490, "new", ("L4",), False),
    CohortMember(ParticipantStatus.RANDOMISED, 108, "new", ("L1",), True),
    CohortMember(ParticipantStatus.RANDOMISED, 112, "known", ("T11", "T12", "L1"), False, "early"),
    CohortMember(ParticipantStatus.RANDOMISED, 116, "new", ("T8", "T9"), False, "late"),
    CohortMember(ParticipantStatus.RANDOMISED, 120, "known", ("L3",), True),
)
# Each site's cohort is randomised a little later than the previous site's.
COHORT_SITE_SHIFT_DAYS = 2


def demo_size() -> int:
    """How many participants the demo creates at each site before any --participants N."""
    return len(BASE_STATES) + len(ANALYSIS_COHORT)


def cohort_member(participant: Participant) -> CohortMember | None:
    """The cohort plan of a demo participant (by its place at its site), or None for a base
    participant or one added later; the days are shifted by site."""
    index = participant.sequence - len(BASE_STATES) - 1
    if not 0 <= index < len(ANALYSIS_COHORT):
        return None
    codes = [demo.code for demo in DEMO_SITES]
    code = participant.site.code
    shift = COHORT_SITE_SHIFT_DAYS * (codes.index(code) if code in codes else 0)
    member = ANALYSIS_COHORT[index]
    return replace(member, randomised_days_ago=member.randomised_days_ago + shift)


class PersonMaker:
    """Realistic Danish fake people, fast enough for 100,000 of them.

    Faker is slow per call (its address provider alone costs about a millisecond), so it fills
    small pools of names and addresses once and people are combined from them at random.
    """

    POOL = 400

    def __init__(self, rng: random.Random, seed: int | None = None) -> None:
        fake = Faker("da_DK")
        if seed is not None:
            fake.seed_instance(seed)
        self.rng = rng
        self.female = [fake.first_name_female() for _ in range(self.POOL)]
        self.male = [fake.first_name_male() for _ in range(self.POOL)]
        self.last = [fake.last_name() for _ in range(self.POOL)]
        self.streets = [fake.street_address() for _ in range(self.POOL)]
        self.towns = [f"{fake.postcode()} {fake.city()}" for _ in range(self.POOL)]

    def __call__(self) -> dict:
        rng = self.rng
        sex = rng.choice(["F", "M"])
        first = rng.choice(self.female if sex == "F" else self.male)
        last = rng.choice(self.last)
        born = dt.date(rng.randint(1935, 1985), rng.randint(1, 12), rng.randint(1, 28))
        return {
            "sex": sex,
            "full_name": f"{first} {last}",
            "initials": (first[0] + last[0]).upper(),
            "born": born,
            "cpr": fake_cpr(born, sex, rng),
            "phone": f"+45 {rng.randint(20, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} "
            f"{rng.randint(10, 99)}",
            "email": f"{_ascii(first)}.{_ascii(last)}.{rng.randint(1, 999)}@example.dk",
            "address": f"{rng.choice(self.streets)}\n{rng.choice(self.towns)}",
        }


def _ascii(text: str) -> str:
    text = text.lower().replace("æ", "ae").replace("ø", "oe").replace("å", "aa")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in text if c.isalnum()) or "x"


def _clean_initials(text: str) -> str:
    allowed = "ABCDEFGHIJKLMNOPQRSTUVWXYZÆØÅ"
    cleaned = "".join(c for c in text.upper() if c in allowed)
    return (cleaned + "XX")[:2] if len(cleaned) < 2 else cleaned[:4]


def base_participants(sites: dict[str, Site], author: User) -> int:
    """A handful of participants in every state at each hematology site, then the analysis
    cohort (``ANALYSIS_COHORT``), once: a site that has participants is left alone."""
    rng = random.Random(20261123)  # fixed so the demo looks the same every time
    make_person = PersonMaker(rng, seed=20261123)
    # The cohort's people come from the same pools with their own draws, so the base
    # participants keep the names they had before the cohort was added.
    make_cohort_person = copy.copy(make_person)
    make_cohort_person.rng = random.Random(20261126)
    created = 0
    for demo in DEMO_SITES:
        site = sites[demo.code]
        if site.participants.exists():
            continue
        plan: list[tuple[str, PersonMaker]] = [(status, make_person) for status in BASE_STATES]
        plan += [(member.status, make_cohort_person) for member in ANALYSIS_COHORT]
        for status, maker in plan:
            _create(site, author, status, maker())
            created += 1
    return created


def _create(site: Site, author: User, status: str, person: dict) -> Participant:
    participant = participant_services.participant_create(
        site=site,
        initials=_clean_initials(person["initials"]),
        sex=person["sex"],
        year_of_birth=person["born"].year,
        user=author,
        status=status,
    )
    participant_services.identity_set(
        participant=participant,
        user=author,
        full_name=person["full_name"],
        cpr=person["cpr"],
        phone=person["phone"],
        email=person["email"],
        address=person["address"],
    )
    return participant


STATE_WEIGHTS = [
    (ParticipantStatus.SCREENING, 10),
    (ParticipantStatus.NOT_INCLUDED, 10),
    (ParticipantStatus.RANDOMISED, 55),
    (ParticipantStatus.COMPLETED, 10),
    (ParticipantStatus.WITHDRAWN, 5),
    (ParticipantStatus.DECEASED, 10),
]


def add_participants(count: int, *, author: User | None = None, seed: int | None = None) -> int:
    """Add ``count`` participants spread over every state and hematology site, in bulk.

    Bulk inserts (with their history rows) keep 100,000 participants to a few minutes.
    """
    rng = random.Random(seed)
    make_person = PersonMaker(rng, seed=seed)
    sites = list(Site.objects.filter(kind=SiteKind.HEMATOLOGY, active=True).order_by("code"))
    if not sites:
        raise ServiceError("No hematology sites: run seed_demo without --participants.")
    statuses = [s for s, _ in STATE_WEIGHTS]
    weights = [w for _, w in STATE_WEIGHTS]
    created = 0
    batch = 2000
    while created < count:
        size = min(batch, count - created)
        with transaction.atomic():
            locked = {
                s.pk: s
                for s in Site.objects.select_for_update().filter(pk__in=[s.pk for s in sites])
            }
            next_seq = {
                row["site"]: row["m"]
                for row in Participant.objects.filter(site__in=sites)
                .values("site")
                .annotate(m=Max("sequence"))
            }
            people = [make_person() for _ in range(size)]
            participants = []
            for i, person in enumerate(people):
                site = sites[(created + i) % len(sites)]
                seq = next_seq.get(site.pk, 0) + 1
                next_seq[site.pk] = seq
                participants.append(
                    Participant(
                        site=locked[site.pk],
                        sequence=seq,
                        trial_number=f"{site.code}-{seq:03d}",
                        initials=_clean_initials(person["initials"]),
                        sex=person["sex"],
                        year_of_birth=person["born"].year,
                        # The first few cover every state, so even a small N shows them all.
                        status=statuses[created + i]
                        if created + i < len(statuses)
                        else rng.choices(statuses, weights)[0],
                        created_by=author,
                    )
                )
            participants = bulk_create_with_history(
                participants, Participant, batch_size=1000, default_user=author
            )
            if any(p.pk is None for p in participants):  # databases without RETURNING
                numbers = [p.trial_number for p in participants]
                by_number = Participant.objects.in_bulk(numbers, field_name="trial_number")
                participants = [by_number[n] for n in numbers]
            identities = [
                Identity(
                    participant=p,
                    full_name=person["full_name"],
                    cpr=person["cpr"],
                    phone=person["phone"],
                    email=person["email"],
                    address=person["address"],
                )
                for p, person in zip(participants, people, strict=True)
            ]
            bulk_create_with_history(identities, Identity, batch_size=1000, default_user=author)
        created += size
    return created
