"""A rate limit per token, counted in Django's cache (Redis with a local fallback, trial/cache.py,
so a Redis outage weakens the count for a while instead of failing requests). Over the limit
DRF answers 429 with ``Retry-After``; the rate is the setting ``API_RATE``."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from trial.api.models import ApiToken


class TokenRateThrottle(SimpleRateThrottle):
    scope = "api_token"

    def get_rate(self) -> str:
        return settings.API_RATE

    def get_cache_key(self, request, view) -> str | None:
        token = request.auth
        if not isinstance(token, ApiToken):
            return None  # unauthenticated requests end in 401 anyway
        return self.cache_format % {"scope": self.scope, "ident": token.pk}
