"""One entry of the permission matrix (``trial.access_matrix``): who may open a view.

Kept apart from the matrix itself so that the table of views stays a table; the questions are
still asked of ``trial.access``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from django.conf import settings

from trial.models import Role

ALL_STAFF = frozenset(Role)

Kind = Literal["public", "account", "clinical", "central", "monitoring", "admin"]


@dataclass(frozen=True)
class Rule:
    """Who may open a view.

    ``roles`` may use every method; ``read_roles`` only safe methods (GET, HEAD), which is how
    the monitor's read-only access is expressed. ``kind`` says what the view is about:
    ``public`` needs no login (patients, health check), ``account`` is about one's own login,
    ``clinical`` shows participant data scoped by site, ``central`` is trial-wide work,
    ``monitoring`` is the data review (queries) where the monitor writes questions, never
    data, ``admin`` is Django's admin.
    """

    kind: Kind
    roles: frozenset[str] = frozenset()
    read_roles: frozenset[str] = frozenset()
    description: str = ""
    # Views a logged-in user without a confirmed second factor may still open.
    before_second_factor: bool = False
    extra: dict = field(default_factory=dict, compare=False)

    # Roles admitted only while a trial setting is on; read at request time, so the matrix
    # follows the setting instead of freezing it when this module is imported.
    roles_if_setting: tuple[str, frozenset[str]] | None = None

    def current_roles(self) -> frozenset[str]:
        if self.roles_if_setting and getattr(settings, self.roles_if_setting[0], False):
            return self.roles | self.roles_if_setting[1]
        return self.roles

    def allows(self, role: str, method: str) -> bool:
        roles = self.current_roles()
        if method in ("GET", "HEAD", "OPTIONS"):
            return role in roles or role in self.read_roles
        return role in roles


def public_rule(description: str) -> Rule:
    return Rule(kind="public", description=description)


def account_rule(description: str, *, before_second_factor: bool = False) -> Rule:
    return Rule(
        kind="account",
        roles=ALL_STAFF,
        description=description,
        before_second_factor=before_second_factor,
    )
