"""The settings module under a production environment, in fresh processes.

Each test starts ``manage.py`` or a short Python program with an explicit environment, so that
what the test process itself set (tests/settings.py) cannot leak in.
"""

from __future__ import annotations

import pytest
from django.conf import settings

from tests.conftest import production_env, run, settings_in_process
from tests.settings_source import READ_BY_SETTINGS


def test_the_settings_source_is_understood():
    # Guards the regular expression above: if it finds nothing, the tests below prove nothing.
    assert {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS"} <= READ_BY_SETTINGS


def test_check_deploy_is_clean_under_production_settings():
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        production_env(REDIS_URL=None),
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS" not in output
    assert "System check identified no issues" in output


def test_production_settings_are_secure():
    values = settings_in_process(
        [
            "DEBUG",
            "SECURE_SSL_REDIRECT",
            "SESSION_COOKIE_SECURE",
            "CSRF_COOKIE_SECURE",
            "SECURE_HSTS_SECONDS",
            "SECURE_PROXY_SSL_HEADER",
            "TRIAL_REQUIRE_2FA",
            "ALLOWED_HOSTS",
        ],
        production_env(REDIS_URL=None),
    )
    assert values["DEBUG"] is False
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31_536_000
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["TRIAL_REQUIRE_2FA"] is True
    assert values["ALLOWED_HOSTS"] == ["vertebra.example.dk"]


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off():
    result = run(["manage.py", "check"], production_env(SECRET_KEY=None))
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_it_refuses_an_empty_secret_key_when_debug_is_off():
    result = run(["manage.py", "check"], production_env(SECRET_KEY=""))
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_the_demo_runs_without_a_secret_key():
    result = run(["manage.py", "check"], production_env(DEBUG="1", SECRET_KEY=None))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name", ["DEBUG", "TRIAL_REQUIRE_2FA", "SECURE_SSL_REDIRECT"])
def test_it_refuses_a_switch_that_is_not_a_boolean(name):
    # A typo such as TRIAL_REQUIRE_2FA=ture must stop the process, not switch the second
    # factor off (README: "a value that cannot be parsed stops the process").
    result = run(["manage.py", "check"], production_env(**{name: "notabool"}))
    assert result.returncode != 0, f"{name}=notabool was accepted"
    assert name in result.stderr


@pytest.mark.parametrize("name", ["AXES_FAILURE_LIMIT", "SESSION_IDLE_MINUTES"])
def test_it_refuses_a_number_that_is_not_a_number(name):
    result = run(["manage.py", "check"], production_env(**{name: "five"}))
    assert result.returncode != 0


def test_tasks_run_eagerly_in_the_tests():
    assert settings.CELERY_TASK_ALWAYS_EAGER is True


def test_tasks_run_eagerly_without_redis():
    values = settings_in_process(
        ["CELERY_TASK_ALWAYS_EAGER", "CELERY_BROKER_URL"], production_env(REDIS_URL=None)
    )
    assert values["CELERY_TASK_ALWAYS_EAGER"] is True
    assert values["app.task_always_eager"] is True
    assert values["CELERY_BROKER_URL"] == "memory://"


def test_tasks_go_to_the_broker_with_redis():
    values = settings_in_process(
        ["CELERY_TASK_ALWAYS_EAGER", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"],
        production_env(REDIS_URL="redis://127.0.0.1:6379/0"),
    )
    assert values["CELERY_TASK_ALWAYS_EAGER"] is False
    assert values["app.task_always_eager"] is False
    assert values["CELERY_BROKER_URL"] == "redis://127.0.0.1:6379/0"
    assert values["CELERY_RESULT_BACKEND"] == "redis://127.0.0.1:6379/0"
