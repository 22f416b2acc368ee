"""Demo participants: a few in every state at each hematology site, and ``add_participants``
for benchmarks and load tests, with realistic fake identifying data."""

from __future__ import annotations

import datetime as dt
import random
import unicodedata

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
    """A handful of participants in every state at each hematology site, once."""
    rng = random.Random(20261123)  # fixed so the demo looks the same every time
    make_person = PersonMaker(rng, seed=20261123)
    created = 0
    for demo in DEMO_SITES:
        site = sites[demo.code]
        if site.participants.exists():
            continue
        for status in BASE_STATES:
            person = make_person()
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
            created += 1
    return created


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
