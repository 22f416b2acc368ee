"""The demo trial: sites, one account per role, and participants in every state.

``python manage.py seed_demo`` calls ``seed_demo()``. Running it twice changes nothing; with
``participants=N`` it adds N more participants with realistic fake identifying data (for
benchmarks and load tests). Each capability of the system extends the demo here, so that the
demo always shows everything the system does.
"""

from __future__ import annotations

import random

from django.db import transaction

from trial.models import Role
from trial.participants.demo import add_participants, base_participants
from trial.staff.demo import demo_sites, demo_users


@transaction.atomic
def seed_demo(*, participants: int = 0) -> dict:
    from trial.registry import registry

    sites = demo_sites()
    users = demo_users(sites)
    author = next(u for u in users if u.role == Role.HEMATOLOGIST)
    base = base_participants(sites, author)
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
