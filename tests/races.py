"""Two people posting the same form at the same moment, for the concurrency tests.

Each post runs in its own thread, so it has its own database connection and transaction, as
two gunicorn workers would. The service the view calls is wrapped so that both requests wait
at a barrier right before the write: the race is then certain, not a matter of luck. Nothing
of the database is mocked; the row locks and unique constraints decide who wins.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

import pytest
from django.db import connection, connections

VERSION_INPUT = re.compile(r'<input type="hidden" name="version"[^>]*>')
VALUE = re.compile(r'value="([^"]*)"')


@pytest.fixture(autouse=True)
def _needs_postgres(db):
    if connection.vendor != "postgresql":
        pytest.fail("The concurrency tests need PostgreSQL (DATABASE_URL=postgres://...)")


def page_version(response) -> str:
    """The version a page's form was loaded with (its hidden ``version`` input)."""
    found = VERSION_INPUT.search(response.content.decode())
    assert found, "the form carries no version"
    value = VALUE.search(found.group(0))  # Django leaves an empty value out
    return value.group(1) if value else ""


def race(monkeypatch, module, name: str, posts: list[Callable[[], object]]) -> list[object]:
    """Run each post in its own thread, all held at a barrier in front of ``module.name`` (the
    service the view calls, or the part of it that writes), and return what each post returned
    (or raised), in order."""
    real = getattr(module, name)
    barrier = threading.Barrier(len(posts))

    waited: set[int] = set()

    def at_the_same_moment(*args, **kwargs):
        # Once per thread: a service that retries after losing goes straight on.
        if threading.get_ident() not in waited:
            waited.add(threading.get_ident())
            barrier.wait(timeout=30)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, at_the_same_moment)
    results: list[object] = [None] * len(posts)

    def run(index: int, post: Callable[[], object]) -> None:
        try:
            results[index] = post()
        except Exception as exc:  # asserted on by the caller: a 500 shows up here
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, post)) for i, post in enumerate(posts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert not any(t.is_alive() for t in threads), "a post hung"
    monkeypatch.setattr(module, name, real)  # what the test does next is not raced
    return results


def winner_and_loser(responses: list[object]) -> tuple[int, int]:
    """The indexes of the post that saved (a redirect) and of the one told about it (200 or
    409); fails on anything else, a 500 or an exception included."""
    statuses = [getattr(r, "status_code", r) for r in responses]
    assert sorted(map(str, statuses)) in (["200", "302"], ["302", "409"]), statuses
    winner = statuses.index(302)
    return winner, 1 - winner
