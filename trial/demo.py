"""The demo trial: sites, one account per role, and participants in every state.

``python manage.py seed_demo`` calls ``seed_demo()``. Running it twice changes nothing; with
``participants=N`` it adds N more participants with realistic fake identifying data (for
benchmarks and load tests). Each capability of the system extends the demo here, so that the
demo always shows everything the system does.
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from dataclasses import dataclass

from django.contrib.auth.models import Permission
from django.db import transaction
from django.db.models import Max
from faker import Faker
from simple_history.utils import bulk_create_with_history

from trial import services
from trial.cpr import fake_cpr
from trial.models import (
    Identity,
    Participant,
    ParticipantStatus,
    Role,
    Site,
    SiteKind,
    SiteMembership,
    User,
)

DEMO_PASSWORD = "vertebra-demo-2026"  # noqa: S105 - printed to the demo user on purpose


@dataclass(frozen=True)
class DemoSite:
    code: str
    name: str
    surgery_code: str
    surgery_name: str


DEMO_SITES = [
    DemoSite(
        "AAR",
        "Aarhus Universitetshospital, Blodsygdomme",
        "AARS",
        "Aarhus Universitetshospital, Rygkirurgi",
    ),
    DemoSite(
        "ODE",
        "Odense Universitetshospital, Hæmatologisk Afdeling X",
        "ODES",
        "Odense Universitetshospital, Rygkirurgisk Sektion",
    ),
    DemoSite(
        "CPH",
        "Rigshospitalet, Afdeling for Blodsygdomme",
        "CPHS",
        "Rigshospitalet, Rygkirurgisk Klinik",
    ),
]


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    role: str
    sites: tuple[str, ...]


DEMO_USERS = [
    DemoUser("hematologist", "Hanne", "Holm", Role.HEMATOLOGIST, ("AAR",)),
    DemoUser("hematologist.ode", "Ole", "Dahl", Role.HEMATOLOGIST, ("ODE",)),
    DemoUser("surgeon", "Søren", "Kirk", Role.SURGEON, ("AARS",)),
    DemoUser("nurse", "Nina", "Nørgaard", Role.NURSE, ("AAR",)),
    DemoUser("coordinator", "Karen", "Central", Role.COORDINATOR, ()),
    DemoUser("datamanager", "Dorte", "Data", Role.DATA_MANAGER, ()),
    DemoUser("monitor", "Mads", "Monitor", Role.MONITOR, ()),
]

# Django admin permissions for the roles that maintain sites and staff.
ADMIN_PERMISSIONS = {
    Role.COORDINATOR: [
        "view_site",
        "add_site",
        "change_site",
        "view_user",
        "add_user",
        "change_user",
        "view_sitemembership",
        "add_sitemembership",
        "change_sitemembership",
        "delete_sitemembership",
        "view_participant",
    ],
    Role.DATA_MANAGER: ["view_site", "view_user", "view_sitemembership", "view_participant"],
}

# (status, how many of each base participant per site)
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


def _sites() -> dict[str, Site]:
    sites: dict[str, Site] = {}
    for demo in DEMO_SITES:
        surgery, _ = Site.objects.get_or_create(
            code=demo.surgery_code,
            defaults={"name": demo.surgery_name, "kind": SiteKind.SURGERY},
        )
        hematology, _ = Site.objects.get_or_create(
            code=demo.code,
            defaults={
                "name": demo.name,
                "kind": SiteKind.HEMATOLOGY,
                "surgical_partner": surgery,
            },
        )
        sites[surgery.code] = surgery
        sites[hematology.code] = hematology
    return sites


def _users(sites: dict[str, Site]) -> list[User]:
    users = []
    for demo in DEMO_USERS:
        user = User.objects.filter(username=demo.username).first()
        if user is None:
            user = User(
                username=demo.username,
                first_name=demo.first_name,
                last_name=demo.last_name,
                email=f"{demo.username}@vertebra.invalid",
                role=demo.role,
                is_staff=demo.role in ADMIN_PERMISSIONS,
            )
            user.set_password(DEMO_PASSWORD)
            user.save()
            codenames = ADMIN_PERMISSIONS.get(demo.role, [])
            if codenames:
                user.user_permissions.set(
                    Permission.objects.filter(
                        content_type__app_label="trial", codename__in=codenames
                    )
                )
        for code in demo.sites:
            SiteMembership.objects.get_or_create(user=user, site=sites[code])
        users.append(user)
    return users


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


def _base_participants(sites: dict[str, Site], author: User) -> int:
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
            participant = services.participant_create(
                site=site,
                initials=_clean_initials(person["initials"]),
                sex=person["sex"],
                year_of_birth=person["born"].year,
                user=author,
                status=status,
            )
            services.identity_set(
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
        raise services.ServiceError("No hematology sites: run seed_demo without --participants.")
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


@transaction.atomic
def seed_demo(*, participants: int = 0) -> dict:
    from trial.registry import registry

    sites = _sites()
    users = _users(sites)
    author = next(u for u in users if u.role == Role.HEMATOLOGIST)
    base = _base_participants(sites, author)
    added = add_participants(participants, author=author) if participants else 0
    # Each capability extends the demo (screening, questionnaires, envelopes, ...). Steps must
    # be idempotent: they look at what exists and only add what is missing.
    context = {
        "sites": sites,
        "users": {u.username: u for u in users},
        "rng": random.Random(20261124),
    }
    for step in registry.demo_steps:
        step.run(context)
    return {"sites": len(sites), "users": users, "base_participants": base, "added": added}
