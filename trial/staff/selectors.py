"""Reads of sites: which sites' data a user works with."""

from __future__ import annotations

from django.db.models import QuerySet

from trial import access
from trial.models import Site, User


def sites_for(user: User) -> QuerySet[Site]:
    """The sites whose data a user works with: central roles all, site roles their own."""
    if not user.is_authenticated:
        return Site.objects.none()
    if access.site_scope(user) == "all":
        return Site.objects.all()
    return Site.objects.filter(memberships__user=user)
