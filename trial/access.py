"""Every permission question is asked here: ``can``, ``may_open``, ``staff_for``, the site
scope behind ``participants_for``, identifying data, the Django admin and the staff pages.

The tables the answers are read from (the view matrix ``MATRIX``, the finer rights
``ACTIONS``, the roles that read identifying data) are declared in ``trial.access_matrix``;
the admin's model-by-model table is below, next to ``admin_may``.
"""

from __future__ import annotations

from typing import Literal

from django.conf import settings
from django.db.models import QuerySet

from trial.access_matrix import (
    ACTIONS,
    IDENTITY_CENTRAL_ROLES,
    IDENTITY_SITE_ROLES,
    MATRIX,
    Rule,
)
from trial.models import CENTRAL_ROLES, Participant, Role, User
from trial.registry import lock_message

SiteScope = Literal["all", "surgical", "own", "none"]


def _is_staff(user) -> bool:
    return bool(
        user is not None and user.is_authenticated and user.is_active and getattr(user, "role", "")
    )


def has_role(user, roles) -> bool:
    """Whether ``user`` holds one of ``roles``: the primitive every other answer is built on,
    for role sets declared as data elsewhere (home cards of the registry)."""
    return _is_staff(user) and user.role in roles


def can(user, action: str, participant=None, *, method: str = "POST") -> bool:
    """May ``user`` do ``action``?

    ``action`` is a URL name of the matrix (by default: may the user *write* there; pass
    ``method="GET"`` for reading) or a key of ``ACTIONS``. With a ``participant`` the user must
    also be allowed to see that participant (the site rule of ``participants_for``).
    """
    rule = None if action in ACTIONS else rule_for(action)
    if action not in ACTIONS and rule is None:
        # A misspelt question must fail loudly, not read as "no" for everyone.
        raise KeyError(f"Unknown permission question: {action}")
    if not _is_staff(user):
        return False
    allowed = user.role in ACTIONS[action] if rule is None else rule.allows(user.role, method)
    if allowed and participant is not None:
        allowed = participants_for(user).filter(pk=participant.pk).exists()
    return allowed


def may_open(user, url: str, *, method: str = "POST") -> bool:
    """Whether a link should be offered: ``url`` resolves to a view ``user`` may use."""
    from urllib.parse import urlsplit

    from django.urls import Resolver404, resolve

    try:
        match = resolve(urlsplit(url).path)
    except Resolver404:
        return False
    rule = rule_for(match.view_name)
    return bool(rule and _is_staff(user) and rule.allows(user.role, method))


# Pages that change recorded data. While the data they would change is locked (the
# participant's lock, or the trial's database lock) they answer 403 with the lock named,
# before the view runs (trial.middleware), and links to them are not offered
# (can_change below). Pages with ``trial_number`` in their address are the
# participant's; the others only the database lock closes.
LOCKED_DATA_VIEWS: frozenset[str] = frozenset(
    {
        "trial:contact_details_edit",
        "trial:screening_log_create",
        "trial:screening_log_edit",
        "trial:screening_form",
        "trial:eligibility",
        "trial:consent",
        "trial:referral_create",
        "trial:referral_cancel",
        "trial:surgical_assessment",
        "trial:not_included",
        "trial:death_record",
        "trial:withdrawal_record",
        "trial:procedure",
        "trial:usual_care",
        "trial:crossover",
        "trial:adverse_event_create",
        "trial:adverse_event_edit",
        "trial:radiograph",
        "trial:query_raise",
        "trial:sdv_mark",
        "trial:signature_sign",
        "questionnaires:staff_send",
        "questionnaires:staff_revoke",
        "questionnaires:staff_tablet",
        "questionnaires:staff_enter",
        "questionnaires:staff_correct",
        "randomization:participant_randomise",
        "randomization:allocation_confirm",
        "followup:call_log",
    }
)


def can_change(user, action: str, participant) -> bool:
    """May ``user`` change ``participant``'s data through the page ``action`` now: allowed by
    the matrix, and the data not locked (a page of LOCKED_DATA_VIEWS). For edit links."""
    if not can(user, action):
        return False
    if action not in LOCKED_DATA_VIEWS:
        return True
    return not lock_message(participant)


def staff_for(action: str):
    """Active staff who hold the right ``action`` of ``ACTIONS``, e.g. whom to notify."""
    from trial.models import User

    return User.objects.filter(role__in=ACTIONS[action], is_active=True)


def can_download_export(user, run) -> bool:
    """An export's file leaves the system only to those who may start exports; an identified
    file only to those who may export identifying data (the page and the API ask this)."""
    if not can(user, "export_run"):
        return False
    return not run.identified or can(user, "export_identified")


def can_see_allocation_list(user) -> bool:
    """Who may see the arms of every envelope, decided from the setting itself and not only
    through the matrix entry: the view asks this too, so concealment of allocation does not
    rest on one check that an edited matrix entry could widen."""
    if not _is_staff(user):
        return False
    if user.role == Role.DATA_MANAGER:
        return True
    return user.role == Role.COORDINATOR and bool(
        settings.RANDOMISATION_COORDINATOR_SEES_ALLOCATIONS
    )


def dmc_nameable_roles() -> list[str]:
    """The roles the coordinator may name for the DMC's closed report: central roles only;
    site roles (hematologists, surgeons, nurses) never see safety data by arm."""
    return [role.value for role in Role if role in CENTRAL_ROLES]


def can_open_closed_dmc_report(user) -> bool:
    """The DMC's closed (by-arm) report: only roles the coordinator named, and only central
    ones, read from the stored setting itself; the view asks this besides the matrix."""
    from trial.reports.dmc_selectors import dmc_closed_roles

    return _is_staff(user) and user.role in dmc_closed_roles() & set(dmc_nameable_roles())


def site_scope(user) -> SiteScope:
    """Which sites' data a user works with; ``trial.staff.selectors`` and
    ``trial.participants.selectors`` turn it into querysets.

    ``all``: central roles; ``surgical``: surgeons, through the hematology sites whose
    surgical partner they belong to; ``own``: the other site roles; ``none``: no role.
    """
    if not _is_staff(user):
        return "none"
    if user.role in CENTRAL_ROLES:
        return "all"
    if user.role == Role.SURGEON:
        return "surgical"
    return "own"


def participants_for(user: User) -> QuerySet[Participant]:
    """The one rule of which participants a user may see.

    Hematologists and nurses see participants of their hematology sites. Surgeons see the
    participants of the hematology departments whose collaborating surgical department they
    belong to. Coordinators, data managers and monitors see everyone.
    """
    scope = site_scope(user)
    if scope == "none":
        return Participant.objects.none()
    if scope == "all":
        return Participant.objects.all()
    site_ids = list(user.memberships.values_list("site_id", flat=True))
    if scope == "surgical":
        return Participant.objects.filter(site__surgical_partner_id__in=site_ids)
    return Participant.objects.filter(site_id__in=site_ids)


def identity_site_ids(user) -> set[int] | None:
    """The one rule for identifying data (names, CPR numbers, contact details): the sites
    whose participants' identity ``user`` may read; ``None`` means every site.

    Hematologists and nurses at their own sites, data managers everywhere, nobody else.
    One query, so a list can decide for all its rows at once.
    """
    if not _is_staff(user):
        return set()
    if user.role in IDENTITY_CENTRAL_ROLES:
        return None
    if user.role in IDENTITY_SITE_ROLES:
        return set(user.memberships.values_list("site_id", flat=True))
    return set()


def can_see_identity(user, participant) -> bool:
    """Whether ``user`` may read ``participant``'s identifying data."""
    site_ids = identity_site_ids(user)
    return site_ids is None or participant.site_id in site_ids


def sees_identity_everywhere(user) -> bool:
    """Whether ``user`` may read identifying data of every site (trial-wide pages mask it
    for everybody else)."""
    return _is_staff(user) and identity_site_ids(user) is None


def rule_for(view_name: str | None) -> Rule | None:
    """The matrix entry for a resolved view name, ``namespace:*`` entries included."""
    if not view_name:
        return None
    if view_name in MATRIX:
        return MATRIX[view_name]
    namespace = view_name.split(":", 1)[0] if ":" in view_name else None
    if namespace and f"{namespace}:*" in MATRIX:
        return MATRIX[f"{namespace}:*"]
    return None


# --- The Django admin -----------------------------------------------------------------------
#
# The matrix's "admin:*" entry only lets a role into the admin; what it may do there, model
# by model, is decided here. Every ModelAdmin asks ``admin_may``
# (trial.admin_matrix.MatrixAdminMixin), so Django's per-user model permissions (which a form
# could grant) play no part. A model that is not listed is for superusers only: accounts, their
# roles and flags, groups, second-factor devices and the lock-out records. Staff are managed
# on the trial's own staff pages ("trial:staff_*"), which keep roles within
# STAFF_ASSIGNABLE_ROLES and ask for reasons.
# Superusers are made with ``createsuperuser`` only; no form sets ``is_superuser``.

AdminAction = Literal["view", "add", "change", "delete"]
ADMIN_ACTIONS: tuple[AdminAction, ...] = ("view", "add", "change", "delete")

_ADMIN_READERS = frozenset({Role.COORDINATOR, Role.DATA_MANAGER})
_ADMIN_EDITORS = frozenset({Role.COORDINATOR})

ADMIN_MATRIX: dict[str, dict[str, frozenset[str]]] = {
    # Set-up data the coordinator keeps; the data manager reads it.
    "trial.site": {"view": _ADMIN_READERS, "add": _ADMIN_EDITORS, "change": _ADMIN_EDITORS},
    "trial.informationsheetversion": {
        "view": _ADMIN_READERS,
        "add": _ADMIN_EDITORS,
        "change": _ADMIN_EDITORS,
    },
    "trial.eligibilitycriteriaversion": {"view": _ADMIN_READERS, "change": _ADMIN_EDITORS},
    "trial.eligibilitycriterion": {
        "view": _ADMIN_READERS,
        "add": _ADMIN_EDITORS,
        "change": _ADMIN_EDITORS,
        "delete": _ADMIN_EDITORS,
    },
    # Read-only records (their ModelAdmins refuse every write anyway).
    "trial.participant": {"view": _ADMIN_READERS},
    "randomization.envelopebatch": {"view": _ADMIN_READERS},
    "randomization.allocationlistview": {"view": _ADMIN_READERS},
    "randomization.batchprint": {"view": _ADMIN_READERS},
    "questionnaires.questionnaireresponse": {"view": _ADMIN_READERS},
    "questionnaires.questionnairelink": {"view": _ADMIN_READERS},
    "questionnaires.tabletsession": {"view": _ADMIN_READERS},
}


def admin_may(user, model, action: AdminAction) -> bool:
    """May ``user`` do ``action`` on ``model`` (a model class or "app_label.model") in the admin?

    Superusers may do everything the ModelAdmin itself allows. Anyone else needs an active
    account, a role admitted to the admin by the matrix and a role listed for the model and
    action in ADMIN_MATRIX; being allowed to change a model implies being allowed to view it.
    """
    if action not in ADMIN_ACTIONS:
        raise ValueError(f"Unknown admin action {action!r}")
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    admin_rule = MATRIX["admin:*"]
    if user.role not in admin_rule.current_roles():
        return False
    label = model if isinstance(model, str) else model._meta.label_lower
    allowed = ADMIN_MATRIX.get(label.lower(), {})
    if action == "view":
        return user.role in allowed.get("view", frozenset()) or user.role in allowed.get(
            "change", frozenset()
        )
    return user.role in allowed.get(action, frozenset())


def admin_roles() -> frozenset[str]:
    """Roles admitted to the admin at all: their accounts get the staff flag."""
    return MATRIX["admin:*"].current_roles()


# Roles the coordinator may give on the staff pages. The data manager (who may download
# identified exports) and superusers are made by a superuser only.
STAFF_ASSIGNABLE_ROLES = frozenset(
    {Role.HEMATOLOGIST, Role.SURGEON, Role.NURSE, Role.COORDINATOR, Role.MONITOR}
)


def role_assignable_on_staff_pages(role: str) -> bool:
    return role in STAFF_ASSIGNABLE_ROLES


def role_enters_admin(role: str) -> bool:
    """The staff flag follows the role: only roles the matrix admits to the admin get it."""
    return role in admin_roles()


def staff_may_manage(actor, target) -> bool:
    """May ``actor`` change ``target``'s role, deactivate it or reset its second factor on the
    staff pages? Never one's own account (no one raises or unlocks themselves), never a
    superuser's or a data manager's (theirs are kept by superusers), and only for roles the
    staff pages may assign."""
    if actor is None or not actor.is_authenticated or actor.pk == target.pk:
        return False
    if target.is_superuser or target.role not in STAFF_ASSIGNABLE_ROLES:
        return False
    return bool(actor.is_superuser or MATRIX["trial:staff_list"].allows(actor.role, "POST"))


# --- the matrix for people: the README's table ----------------------------------------------


def role_scope(role: str) -> str:
    return "all sites" if role in CENTRAL_ROLES else "own sites"


def matrix_markdown() -> str:
    """The matrix as a Markdown table for the README (kept true by a test), in English."""
    from django.utils import translation

    with translation.override("en"):
        return _matrix_markdown()


def _matrix_markdown() -> str:
    roles = list(Role)
    header = "| view | " + " | ".join(str(r.label) for r in roles) + " |"
    lines = [header, "|" + " --- |" * (len(roles) + 1)]
    for name, rule in MATRIX.items():
        cells = []
        for role in roles:
            if rule.kind == "public":
                cells.append("public")
            elif role in rule.roles:
                scope = "" if rule.kind in ("account", "admin") else f" ({role_scope(role)})"
                cells.append(("edit" if rule.kind != "account" else "yes") + scope)
            elif role in rule.read_roles:
                scope = "" if rule.kind == "account" else f" ({role_scope(role)})"
                cells.append("read" + scope)
            elif rule.roles_if_setting and role in rule.roles_if_setting[1]:
                cells.append(f"edit if `{rule.roles_if_setting[0]}`")
            elif rule.roles_if_named and role in rule.roles_if_named[1]:
                cells.append("read if named by the coordinator")
            else:
                cells.append("—")
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)
