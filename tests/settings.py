"""Test settings: the project's settings module with test-friendly environment defaults.

Only environment defaults are set here; everything else comes from trial/settings.py, so the
tests run the same configuration production does. DATABASE_URL chooses the database.
"""

import os

os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "tests-only-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SECURE_COOKIES", "0")
os.environ.setdefault("BEHIND_TLS_PROXY", "0")
os.environ.setdefault("EMAIL_URL", "consolemail://")
# The Celery tests start their own worker with REDIS_URL; everything else runs eagerly.
os.environ.setdefault("REDIS_URL", "")
# The in-process outbox sweep is timed; tests sweep explicitly instead.
os.environ.setdefault("OUTBOX_SWEEP_IN_PROCESS", "0")
# Periodic jobs run when a test calls them (tests/trial/test_scheduler.py), never by a clock.
os.environ.setdefault("RUN_PERIODIC_IN_PROCESS", "0")

from trial.settings import *  # noqa: F403

# Second factor on, as in production; tests log in with a verified device (tests/conftest.py).
TRIAL_REQUIRE_2FA = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# A worker test counts the e-mails of a worker process in files (TEST_EMAIL_BACKEND, EMAIL_URL).
EMAIL_BACKEND = os.environ.get(
    "TEST_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend"
)
AXES_ENABLED = True

# The test database need not survive a crash of the machine: PostgreSQL answers a commit
# without waiting for its WAL to reach the disk (a session setting; production keeps the
# default). Demo-seeding tests commit thousands of times.
if DATABASES["default"]["ENGINE"].endswith("postgresql"):  # noqa: F405
    DATABASES["default"].setdefault("OPTIONS", {})  # noqa: F405
    DATABASES["default"]["OPTIONS"]["options"] = "-c synchronous_commit=off"  # noqa: F405
