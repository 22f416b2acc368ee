"""A Redis cache that keeps answering when Redis does not.

The patient pages count wrong tokens in the cache (the throttle); with a plain RedisCache an
unreachable Redis made every /q/<token> page a 500. This backend gives Redis a short socket
timeout and, when Redis fails, serves from a per-process local-memory cache for
FALLBACK_SECONDS before trying Redis again (so an outage costs one timeout per process and
window, not one per request). During the outage counts are per process, not shared: the
throttle is weaker for a while, the pages keep working.
"""

from __future__ import annotations

import logging
import time

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

FALLBACK_SECONDS = 30
_REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)


def _falls_back(name: str):
    def method(self, *args, **kwargs):
        if time.monotonic() >= self._down_until:
            try:
                return getattr(super(FallbackRedisCache, self), name)(*args, **kwargs)
            except _REDIS_DOWN as exc:
                logger.warning("Cache: Redis unreachable, local memory for now: %s", exc)
                self._down_until = time.monotonic() + FALLBACK_SECONDS
        return getattr(self._fallback, name)(*args, **kwargs)

    method.__name__ = name
    return method


class FallbackRedisCache(RedisCache):
    def __init__(self, server, params):
        params = dict(params)
        options = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
        options.update(params.get("OPTIONS") or {})
        params["OPTIONS"] = options
        super().__init__(server, params)
        self._fallback = LocMemCache(f"redis-fallback-{id(self)}", params)
        self._down_until = 0.0

    add = _falls_back("add")
    get = _falls_back("get")
    set = _falls_back("set")
    touch = _falls_back("touch")
    delete = _falls_back("delete")
    get_many = _falls_back("get_many")
    has_key = _falls_back("has_key")
    incr = _falls_back("incr")
    set_many = _falls_back("set_many")
    delete_many = _falls_back("delete_many")
    clear = _falls_back("clear")
