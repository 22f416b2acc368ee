"""Request types for views, so that the type checker knows what the middleware guarantees.

``AccessMatrixMiddleware`` (trial/middleware.py) lets a request reach a non-public view only
with an active, logged-in staff member, so such views take an ``AuthedHttpRequest``: their
``request.user`` is a ``User``, never ``AnonymousUser``, and the services that want a ``User``
accept it without a cast. Public views (login, welcome) keep the plain ``HttpRequest``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    from trial.models import User


class AuthedHttpRequest(HttpRequest):
    """Only a type: Django builds an ordinary ``HttpRequest``; this class is never instantiated."""

    user: User
