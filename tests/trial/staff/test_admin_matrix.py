"""Every page of the Django admin, as every role and as a superuser, against the admin matrix.

The expectations below are written out by hand (not read from trial.access), so that a change
of the matrix that widens what a role may do in the admin fails here until it is meant.
"""

from __future__ import annotations

import base64

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import verified_client
from tests.factories import UserFactory
from trial.admin_matrix import MatrixAdminMixin
from trial.models import Role, User

SUPERUSER = "superuser"
PERSONAS = [*Role, SUPERUSER]

VIEW, ADD, CHANGE, DELETE = "view", "add", "change", "delete"
READ = {VIEW}

# What the coordinator and the data manager may do, model by model; anything else is refused.
COORDINATOR_MAY = {
    "trial.site": {VIEW, ADD, CHANGE},
    "trial.informationsheetversion": {VIEW, ADD, CHANGE},
    # Criteria versions are changed only while no answers refer to them (the sample has none).
    "trial.eligibilitycriteriaversion": {VIEW, CHANGE},
    "trial.participant": READ,
    "randomization.envelopebatch": READ,
    "randomization.allocationlistview": READ,
    "randomization.batchprint": READ,
    "questionnaires.questionnaireresponse": READ,
    "questionnaires.questionnairelink": READ,
    "questionnaires.tabletsession": READ,
}
DATA_MANAGER_MAY = dict.fromkeys(COORDINATOR_MAY, READ)
# Superusers may do what each ModelAdmin allows at all: records written by the trial's own
# pages (or by axes) are read-only, and nothing with an audit trail is deleted.
SUPERUSER_MAY = {
    **DATA_MANAGER_MAY,
    "trial.site": {VIEW, ADD, CHANGE},
    "trial.informationsheetversion": {VIEW, ADD, CHANGE},
    "trial.eligibilitycriteriaversion": {VIEW, CHANGE},
    "trial.user": {VIEW, ADD, CHANGE},
    "auth.group": {VIEW, ADD, CHANGE, DELETE},
    "otp_totp.totpdevice": {VIEW, ADD, CHANGE, DELETE},
    "otp_static.staticdevice": {VIEW, ADD, CHANGE, DELETE},
    "axes.accessattempt": {VIEW, CHANGE, DELETE},
    "axes.accesslog": {VIEW, CHANGE, DELETE},
    "axes.accessfailurelog": {VIEW, CHANGE, DELETE},
}
MAY = {
    Role.COORDINATOR: COORDINATOR_MAY,
    Role.DATA_MANAGER: DATA_MANAGER_MAY,
    SUPERUSER: SUPERUSER_MAY,
}


def _may(persona, label: str) -> set[str]:
    return MAY.get(persona, {}).get(label, set())


def _persona_user(world, persona) -> User:
    if persona == SUPERUSER:
        return UserFactory(username="root", role="", is_superuser=True, is_staff=True)
    user = world.users[persona]
    # Neither the staff flag nor Django's model permissions (which the demo hands out and a
    # form could grant) may open anything: every role gets both here, the matrix decides.
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.user_permissions.set(Permission.objects.all())
    return User.objects.get(pk=user.pk)


def _samples(world) -> dict:
    """One object of every model registered on the admin site."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    from questionnaires.links import link_issue_letter
    from questionnaires.models import QuestionnaireResponse
    from questionnaires.services import tablet_session_start
    from randomization.models import AllocationListView, BatchPrint
    from randomization.services import envelope_batch_generate
    from trial.models import EligibilityCriteriaVersion, InformationSheetVersion

    hematologist = world.users[Role.HEMATOLOGIST]
    batch = envelope_batch_generate(site=world.own, stratum="A1N", count=4, user=None)
    link, _token = link_issue_letter(participant=world.own_participant, visit_code="BL", user=None)
    session, _token = tablet_session_start(
        participant=world.own_participant, visit_code="BL", user=hematologist
    )
    totp = TOTPDevice.objects.create(user=hematologist, name="phone", confirmed=True)
    static = StaticDevice.objects.create(user=hematologist, name="backup", confirmed=True)
    StaticToken.objects.create(device=static, token="backup1234")
    objects = [
        world.own,
        hematologist,
        world.own_participant,
        EligibilityCriteriaVersion.objects.order_by("-version").first(),
        InformationSheetVersion.objects.create(label="v1.0", dated="2026-01-01"),
        Group.objects.create(name="readers"),
        totp,
        static,
        AccessAttempt.objects.create(username="x", ip_address="10.0.0.1", failures_since_start=1),
        AccessLog.objects.create(username="x", ip_address="10.0.0.1"),
        AccessFailureLog.objects.create(username="x", ip_address="10.0.0.1"),
        batch,
        AllocationListView.objects.create(user=hematologist, what="list"),
        BatchPrint.objects.create(batch=batch, user=hematologist),
        QuestionnaireResponse.objects.create(
            participant=world.own_participant,
            visit_code="BL",
            instrument_code="odi",
            instrument_version="2.1a",
            mode="paper",
        ),
        link,
        session,
    ]
    return {obj._meta.label_lower: obj for obj in objects}


def _label(model) -> str:
    return model._meta.label_lower


def _url(model, page: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{page}", args=args)


def admin_pages(samples) -> list[tuple[str, str, str, str]]:
    """(label, page, method, url) of every admin page the walk checks."""
    pages = [("", "index", "GET", reverse("admin:index"))]
    for model in admin.site._registry:
        label = _label(model)
        obj = samples[label]
        pages += [
            (label, "changelist", "GET", _url(model, "changelist")),
            (label, "add", "GET", _url(model, "add")),
            (label, "change", "GET", _url(model, "change", obj.pk)),
            (label, "change", "POST", _url(model, "change", obj.pk)),
            (label, "delete", "GET", _url(model, "delete", obj.pk)),
            (label, "history", "GET", _url(model, "history", obj.pk)),
            (label, "missing", "GET", _url(model, "change", 987654)),
            (label, "bad_id", "GET", _url(model, "change", "not-an-id")),
            (label, "missing_history", "GET", _url(model, "history", 987654)),
        ]
        app_index = reverse("admin:app_list", args=[model._meta.app_label])
        pages.append((label, "app_index", "GET", app_index))
    totp = samples["otp_totp.totpdevice"]
    for name in ("otp_totp_totpdevice_config", "otp_totp_totpdevice_qrcode"):
        pages.append(
            ("otp_totp.totpdevice", "secret", "GET", reverse(f"admin:{name}", args=[totp.pk]))
        )
        pages.append(
            ("otp_totp.totpdevice", "secret", "GET", reverse(f"admin:{name}", args=[987654]))
        )
    user = samples["trial.user"]
    pages.append(
        (
            "trial.user",
            "password",
            "GET",
            reverse("admin:auth_user_password_change", args=[user.pk]),
        )
    )
    pages.append(
        (
            "trial.user",
            "password",
            "POST",
            reverse("admin:auth_user_password_change", args=[user.pk]),
        )
    )
    return pages


def _expected(persona, label: str, page: str, samples) -> set[int]:
    may = _may(persona, label)
    if persona not in MAY:
        return {403}  # the permission matrix keeps every other role out of the admin
    if page == "index":
        return {200}
    if page == "app_index":
        app = label.split(".")[0]
        sees_app = any(k.startswith(f"{app}.") and VIEW in v for k, v in MAY[persona].items())
        return {200} if sees_app else {403, 404}
    if page in ("changelist", "history"):
        return {200} if VIEW in may else {403}
    if page == "change":
        return {200} if VIEW in may else {403}
    if page in ("add", "delete"):
        return {200} if page in may else {403}
    if page in ("missing", "bad_id"):
        # An object that is not there: back to the index with a message.
        return {302} if VIEW in may else {403}
    if page == "missing_history":
        return {302, 404} if VIEW in may else {403}
    if page == "secret":
        return {403, 404}  # keys and QR codes are never shown, not even to superusers
    if page == "password":
        return {200} if CHANGE in may else {403}
    raise AssertionError(page)


@pytest.fixture
def samples(world):
    return _samples(world)


def test_every_registered_admin_uses_the_matrix():
    for model, model_admin in admin.site._registry.items():
        assert isinstance(model_admin, MatrixAdminMixin), model
        for inline in model_admin.inlines:
            assert issubclass(inline, MatrixAdminMixin), (model, inline)


def test_the_walk_has_a_sample_for_every_registered_model(samples):
    assert {_label(m) for m in admin.site._registry} == set(samples)


# A few hundred requests per persona: with the access matrix test on PostgreSQL, not in the
# SQLite fast suite (which keeps the structural, secret and escalation tests below).
@pytest.mark.slow
@pytest.mark.parametrize("persona", PERSONAS, ids=str)
def test_every_admin_page_as_every_persona(world, samples, persona):
    client = verified_client(_persona_user(world, persona))
    checked = 0
    for label, page, method, url in admin_pages(samples):
        if method == "POST":
            response = client.post(url, {})
            # A post that writes needs the change permission (a read-only viewer is refused).
            allowed = CHANGE in _may(persona, label)
            if page == "password" and not allowed:
                assert response.status_code == 403, (persona, url)
            elif not allowed:
                assert response.status_code == 403, (persona, url, response.status_code)
            else:
                assert response.status_code in (200, 302), (persona, url)
        else:
            response = client.get(url)
            expected = _expected(persona, label, page, samples)
            assert response.status_code in expected, (persona, url, response.status_code)
        checked += 1
    assert checked == len(admin_pages(samples))
    # The figure the README quotes (pages per persona, times the personas).
    print(f"\nadmin walk as {persona}: {checked} pages of {len(admin.site._registry)} models")


@pytest.mark.slow
@pytest.mark.parametrize("persona", PERSONAS, ids=str)
def test_every_admin_action_as_every_persona(world, samples, persona):
    """Bulk actions (delete, axes' clean-up) run only where the persona may change or delete."""
    superuser = UserFactory(username="actions-root", role="", is_superuser=True, is_staff=True)
    client = verified_client(_persona_user(world, persona))
    request = type("R", (), {"user": superuser, "GET": {}, "method": "GET"})()
    posted = 0
    for model, model_admin in admin.site._registry.items():
        label = _label(model)
        obj = samples[label]
        for action in model_admin.get_actions(request) or {"delete_selected": None}:
            response = client.post(
                _url(model, "changelist"),
                {"action": action, "_selected_action": [obj.pk], "post": "yes"},
            )
            still_there = model.objects.filter(pk=obj.pk).exists()
            may = _may(persona, label)
            if persona not in MAY or VIEW not in may:
                assert response.status_code == 403, (persona, label, action)
            else:
                assert response.status_code in (200, 302), (persona, label, action)
            if action == "delete_selected" and DELETE not in may:
                assert still_there, (persona, label)
            posted += 1
    print(f"\nadmin actions as {persona}: {posted} posts")


def test_a_coordinator_cannot_raise_anyone_in_the_admin(world):
    coordinator = _persona_user(world, Role.COORDINATOR)
    nurse = world.users[Role.NURSE]
    client = verified_client(coordinator)
    for target in (coordinator, nurse):
        before = User.objects.get(pk=target.pk)
        response = client.post(
            reverse("admin:trial_user_change", args=[target.pk]),
            {
                "username": target.username,
                "is_superuser": "on",
                "is_staff": "on",
                "is_active": "on",
                "role": Role.DATA_MANAGER,
                "date_joined_0": "2026-01-01",
                "date_joined_1": "10:00:00",
            },
        )
        assert response.status_code == 403
        response = client.post(
            reverse("admin:auth_user_password_change", args=[target.pk]),
            {"password1": "a-new-password-77", "password2": "a-new-password-77"},
        )
        assert response.status_code == 403
        after = User.objects.get(pk=target.pk)
        assert (after.is_superuser, after.role, after.password) == (
            before.is_superuser,
            before.role,
            before.password,
        )
    # Nor through a group or a second factor of their own choosing.
    assert client.post(reverse("admin:auth_group_add"), {"name": "x"}).status_code == 403
    assert client.post(reverse("admin:otp_totp_totpdevice_add"), {}).status_code == 403
    assert not Group.objects.filter(name="x").exists()


def test_not_even_a_superuser_ticks_superuser_status_in_a_form(world):
    root = UserFactory(username="root", role="", is_superuser=True, is_staff=True)
    nurse = world.users[Role.NURSE]
    client = verified_client(root)
    page = client.get(reverse("admin:trial_user_change", args=[nurse.pk]))
    assert page.status_code == 200
    assert 'name="is_superuser"' not in page.content.decode()
    response = client.post(
        reverse("admin:trial_user_change", args=[nurse.pk]),
        {
            "username": nurse.username,
            "first_name": "N",
            "last_name": "Urse",
            "email": "n@example.org",
            "is_superuser": "on",
            "is_active": "on",
            "role": Role.MONITOR,
            "date_joined_0": "2026-01-01",
            "date_joined_1": "10:00:00",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    nurse.refresh_from_db()
    assert nurse.role == Role.MONITOR  # the superuser may change roles ...
    assert not nurse.is_superuser  # ... but never make a superuser


@pytest.mark.parametrize("persona", [Role.COORDINATOR, SUPERUSER], ids=str)
def test_no_admin_page_shows_a_second_factor_secret(world, samples, persona):
    client = verified_client(_persona_user(world, persona))
    secrets = set()
    for device in TOTPDevice.objects.all():
        secrets.add(device.key)
        secrets.add(base64.b32encode(device.bin_key).decode().rstrip("="))
    secrets |= set(StaticToken.objects.values_list("token", flat=True))
    assert secrets
    for _model_label, _page, method, url in admin_pages(samples):
        if method != "GET":
            continue
        body = client.get(url).content.decode(errors="replace")
        for secret in secrets:
            assert secret not in body, url
    # Nor the add form of a device, which django-otp fills with a fresh key.
    body = client.get(reverse("admin:otp_totp_totpdevice_add")).content.decode()
    assert 'name="key"' not in body
