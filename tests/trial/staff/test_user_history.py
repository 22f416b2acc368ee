"""The staff history keeps who changed an account and why, never password hashes or logins."""

from __future__ import annotations

from django.test import Client

from tests.factories import UserFactory
from trial.models import Role, User


def test_the_user_history_has_no_password_or_login_time(db):
    fields = {f.name for f in User.history.model._meta.fields}
    assert "password" not in fields
    assert "last_login" not in fields


def test_logging_in_writes_no_user_history_row(db):
    user = UserFactory(username="nurse1", role=Role.NURSE)
    rows = User.history.filter(id=user.pk).count()
    Client().force_login(user)  # sends user_logged_in, which saves last_login
    user.refresh_from_db()
    assert user.last_login is not None
    assert User.history.filter(id=user.pk).count() == rows


def test_a_real_change_of_the_account_still_writes_history(db):
    user = UserFactory(username="nurse2", role=Role.NURSE)
    rows = User.history.filter(id=user.pk).count()
    user.role = Role.MONITOR
    user.save()
    assert User.history.filter(id=user.pk).count() == rows + 1
    assert User.history.filter(id=user.pk).first().role == Role.MONITOR
