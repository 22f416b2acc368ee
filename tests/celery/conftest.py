"""Fixtures of the worker tests."""

from __future__ import annotations

import pytest

from tests.celery.workers import OwnRedis


@pytest.fixture
def own_redis():
    """A redis-server of the test's own, which it may stop and start again."""
    server = OwnRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()
