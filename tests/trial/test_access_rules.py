"""trial.access answers every permission question; nothing else tests role membership."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse

from tests.factories import UserFactory
from trial import access, access_matrix
from trial.models import Role

ROOT = Path(__file__).resolve().parents[2]
APPS = ("trial", "randomization", "questionnaires", "followup", "templates")

# Role membership tested in application code: a comparison with a role or its value, a
# membership test of a user's role, or a query filtering users by role.
ROLE_TESTS = [
    re.compile(r"\brole\s*(==|!=)"),
    re.compile(r"(==|!=)\s*Role\.[A-Z_]+"),
    re.compile(r"Role\.[A-Z_]+\s*(==|!=)"),
    re.compile(r"\brole\s+(not\s+)?in\b"),
    re.compile(r"role(__in)?\s*=\s*[\[\(]?\s*Role\."),
    re.compile(r"\.role\s*(==|!=|in\b|not\s+in\b)"),
    re.compile(r"\.allows\(\s*[\w.]*\.role\b"),
]

# Files that may legitimately test roles, and why.
ALLOWED = {
    # The one home of every permission question.
    "trial/access.py",
    # The tables it reads: the view matrix (Rule.allows) and its README rendering.
    "trial/access_matrix.py",
    "trial/access_rule.py",
    # Declares the roles themselves (choices, central vs. site roles).
    "trial/models.py",
    # Guards every request with the matrix rule it looked up (Rule.allows is the matrix).
    "trial/middleware.py",
    # Demo data picks its cast of users by role.
    "trial/demo.py",
    "trial/screening/demo.py",
    "trial/treatment/demo.py",
    "trial/staff/demo.py",
    "trial/participants/demo.py",
    "trial/reports/demo.py",
    "trial/exports/demo.py",
    "randomization/demo.py",
}


def _application_files():
    for app in APPS:
        for path in (ROOT / app).rglob("*"):
            if path.suffix not in (".py", ".html") or "migrations" in path.parts:
                continue
            yield path


def test_the_scan_sees_the_application_code():
    names = {p.relative_to(ROOT).as_posix() for p in _application_files()}
    assert "trial/views.py" in names
    assert "followup/views.py" in names
    assert "trial/templates/trial/home/_home.html" in names


@pytest.mark.parametrize(
    "line",
    [
        "if user.role == Role.SURGEON:",
        "if request.user.role not in EXPORT_ROLES:",
        "may = Role.COORDINATOR == user.role",
        "User.objects.filter(role=Role.NURSE)",
        "qs.filter(user__role__in=[Role.HEMATOLOGIST])",
        'return rule.allows(request.user.role, "POST")',
        "{% if user.role == 'coordinator' %}",
    ],
)
def test_the_scan_recognises_a_role_test(line):
    assert any(pattern.search(line) for pattern in ROLE_TESTS)


def test_no_role_is_tested_outside_trial_access():
    offenders = []
    for path in _application_files():
        name = path.relative_to(ROOT).as_posix()
        if name in ALLOWED:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if any(pattern.search(line) for pattern in ROLE_TESTS):
                offenders.append(f"{name}:{number}: {line.strip()}")
    assert offenders == [], "Ask trial.access instead:\n" + "\n".join(offenders)


def test_the_allow_list_names_files_that_exist():
    for name in ALLOWED:
        assert (ROOT / name).exists(), name


# --- can() follows the matrix -------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(Role))
def test_can_gives_the_matrix_answer_for_every_view(role):
    user = UserFactory(role=role)
    for name, rule in access_matrix.MATRIX.items():
        if name.endswith(":*"):
            continue
        assert access.can(user, name) is rule.allows(role, "POST"), name
        assert access.can(user, name, method="GET") is rule.allows(role, "GET"), name


@pytest.mark.django_db
def test_can_refuses_anonymous_inactive_and_roleless_users():
    inactive = UserFactory(role=Role.COORDINATOR, is_active=False)
    roleless = UserFactory(role="")
    for user in (AnonymousUser(), inactive, roleless):
        assert access.can(user, "trial:sae_list") is False
        assert access.can(user, "sae_acknowledge") is False


def test_an_unknown_question_is_an_error_not_a_silent_no():
    with pytest.raises(KeyError):
        access.can(AnonymousUser(), "trial:no_such_view")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("action", "roles"),
    [
        ("crossover_allow_early", {Role.COORDINATOR}),
        ("sae_acknowledge", {Role.COORDINATOR}),
        ("export_run", {Role.COORDINATOR, Role.DATA_MANAGER}),
        ("export_identified", {Role.DATA_MANAGER}),
        ("consent_take", {Role.HEMATOLOGIST, Role.NURSE}),
    ],
)
def test_finer_rights_belong_to_their_roles(action, roles):
    for role in Role:
        assert access.can(UserFactory(role=role), action) is (role in roles), role


def test_with_a_participant_the_user_must_see_it(world):
    hematologist = world.users[Role.HEMATOLOGIST]
    assert access.can(hematologist, "trial:consent", world.own_participant) is True
    assert access.can(hematologist, "trial:consent", world.other_participant) is False
    assert access.can(world.outsider, "trial:consent", world.own_participant) is False


@pytest.mark.django_db
def test_may_open_resolves_a_link_to_its_rule():
    hematologist = UserFactory(role=Role.HEMATOLOGIST)
    surgeon = UserFactory(role=Role.SURGEON)
    url = reverse("trial:screening_form", args=["AAR-001"]) + "?next=x#part"
    assert access.may_open(hematologist, url) is True
    assert access.may_open(surgeon, url) is False
    assert access.may_open(hematologist, "/no/such/page/") is False


def test_notifications_go_to_the_active_holders_of_the_right(world):
    retired = UserFactory(role=Role.COORDINATOR, is_active=False)
    coordinators = set(access.staff_for("notify_sae"))
    assert world.users[Role.COORDINATOR] in coordinators
    assert retired not in coordinators
    assert set(access.staff_for("notify_followup_list")) == {world.users[Role.NURSE]}


# --- identifying data: one rule, two shapes ------------------------------------------------


def test_the_list_and_the_single_answer_on_identity_agree(world):
    users = [*world.users.values(), world.outsider, AnonymousUser()]
    participants = [world.own_participant, world.other_participant]
    for user in users:
        site_ids = access.identity_site_ids(user)
        for participant in participants:
            in_list = site_ids is None or participant.site_id in site_ids
            assert access.can_see_identity(user, participant) is in_list, (user, participant)


def test_only_the_data_manager_sees_identity_everywhere(world):
    for role, user in world.users.items():
        assert access.sees_identity_everywhere(user) is (role == Role.DATA_MANAGER)
