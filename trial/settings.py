"""The one settings module of VERTEBRA.

Everything that differs between the demo, the tests and production comes from the
environment (django-environ). A value that cannot be parsed stops the process at start-up
rather than running a clinical system on a guess.
"""

import datetime as dt
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env is convenient for developers; production passes real environment variables.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def env_bool(name: str, default: bool) -> bool:
    """A switch that refuses anything but an explicit yes or no.

    django-environ reads an unknown word as False, so a typo like TRIAL_REQUIRE_2FA=ture would
    quietly switch the second factor off; here it stops the process instead.
    """
    raw = env.str(name, default="").strip().lower()
    if raw == "":
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean: use 1 or 0.")


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "demo-only-insecure-key-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The public address patients' personal links and e-mails point to.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "simple_history",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "csp",
    "rest_framework",
    "drf_spectacular",
    "trial",
    "randomization",
    "questionnaires",
    "followup",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    # A NUL character anywhere in the request is a 400, before any of it reaches the database.
    "trial.middleware.RejectNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # No cached copy of any page a logged-in user or a patient sees (trial/middleware.py).
    "trial.middleware.NoStoreMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Every view passes the permission matrix (trial/access.py) or is refused.
    "trial.middleware.AccessMatrixMiddleware",
    # Axes last, as its documentation asks.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "trial.urls"
WSGI_APPLICATION = "trial.wsgi.application"
ASGI_APPLICATION = "trial.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "trial.context_processors.navigation",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
# Embedded default: a SQLite file next to the code. Production: DATABASE_URL=postgres://...
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers wait for each other instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "trial.User"

# --- Authentication, second factor, lock-out ---------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "account:login"

# Staff must confirm a TOTP code at login. Only the demo turns this off.
TRIAL_REQUIRE_2FA = env_bool("TRIAL_REQUIRE_2FA", True)
OTP_TOTP_ISSUER = "VERTEBRA"
# The admin never shows second-factor keys, QR codes or backup tokens (django-otp hides them).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "account/locked_out.html"
AXES_VERBOSE = False
# Behind the proxy, the client's address comes from QUESTIONNAIRE_CLIENT_IP_HEADER, as for the
# questionnaire link throttle; otherwise everyone shares the proxy's address and one person
# locks everyone out (trial/client_ip.py).
AXES_CLIENT_IP_CALLABLE = "trial.client_ip.client_ip"

# Idle staff sessions end after this many minutes; each request renews the clock.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_MINUTES", default=30) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True

# --- Transport security (production) -----------------------------------------------------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# The container health check talks plain HTTP to localhost.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("BEHIND_TLS_PROXY", not DEBUG):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content-security policy: our own origin only. No CDN, no inline script.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    },
}

# --- Internationalisation ----------------------------------------------------------------
LANGUAGE_CODE = "da"
LANGUAGES = [("da", _("Danish")), ("en", _("English"))]
# English dates are British with a 24-hour clock, never US (see trial/formats/).
FORMAT_MODULE_PATH = ["trial.formats"]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Copenhagen"
USE_I18N = True
USE_TZ = True  # stored in UTC, shown in Copenhagen time
LANGUAGE_COOKIE_SAMESITE = "Lax"

# --- Static files ------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "/media/"

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- E-mail ------------------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="VERTEBRA <noreply@vertebra.invalid>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Where trial-level alerts (stock, SAEs, deviations) go when no coordinator account has an address.
TRIAL_COORDINATOR_EMAILS = env.list("TRIAL_COORDINATOR_EMAILS", default=[])

# --- Celery ------------------------------------------------------------------------------
# With REDIS_URL absent (the embedded default), tasks run eagerly inside the request or
# command that enqueued them, so the demo needs no broker and runs the same code.
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A pool process whose resident memory passes this (KiB) is replaced once its task is done.
# Lay-out libraries keep C memory between documents (WeasyPrint: about 0.25 MB per casebook
# rendered in the worker), which no garbage collection gives back; replacing the process
# does. 0 turns it off.
CELERY_WORKER_MAX_MEMORY_PER_CHILD = (
    env.int("CELERY_WORKER_MAX_MEMORY_PER_CHILD", default=512 * 1024) or None
)
CELERY_TASK_TIME_LIMIT = 600
CELERY_TASK_SOFT_TIME_LIMIT = 540
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A running worker that loses Redis (a restart, a recreated container) reconnects by itself and
# consumes again, without limit: Celery's default gives up after 100 tries and the worker
# exits. Publishing from the web is not affected (no publish retries, see below);
# tests/celery/test_redis_restart.py restarts Redis under a worker.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# Publishing happens inside a user's request (after its commit): with the broker down it must
# fail within a second or two, not retry for ~20 s. The job itself is safe in the outbox
# (trial.outbox), whose sweeper publishes it again; so no publish retries here.
CELERY_BROKER_CONNECTION_TIMEOUT = 1.0
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 1.0,
    "socket_timeout": 2.0,
    "max_retries": 0,
}
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 1.0
CELERY_REDIS_SOCKET_TIMEOUT = 2.0
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"retry_policy": {"max_retries": 0}}
# The nightly and weekly jobs are added here by the capabilities that own them.
CELERY_BEAT_SCHEDULE: dict[str, dict] = {}

# The outbox (trial.outbox): a row never published (the broker refused it) is swept after
# OUTBOX_SWEEP_AFTER_SECONDS; one published but not done after OUTBOX_REDISPATCH_AFTER_SECONDS
# (longer than the slowest task, the export's hour) is published again (its message was lost);
# after OUTBOX_MAX_ATTEMPTS publishes a row waits for a person. /healthz answers 503 while a
# row has waited longer than OUTBOX_HEALTH_MAX_AGE_SECONDS.
OUTBOX_SWEEP_AFTER_SECONDS = env.int("OUTBOX_SWEEP_AFTER_SECONDS", default=30)
OUTBOX_REDISPATCH_AFTER_SECONDS = env.int("OUTBOX_REDISPATCH_AFTER_SECONDS", default=2 * 60 * 60)
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=20)
OUTBOX_HEALTH_MAX_AGE_SECONDS = env.int("OUTBOX_HEALTH_MAX_AGE_SECONDS", default=15 * 60)
# The embedded default has no beat: it sweeps in-process after a successful publish.
OUTBOX_SWEEP_IN_PROCESS = env.bool("OUTBOX_SWEEP_IN_PROCESS", default=not REDIS_URL)
CELERY_BEAT_SCHEDULE["outbox-sweep"] = {"task": "trial.outbox_sweep", "schedule": 60}
# Without a broker there is no Celery beat either: the development server (make run) then runs
# the CELERY_BEAT_SCHEDULE jobs itself, in a thread, when due (trial/scheduler.py). Only ever
# in `manage.py runserver` with tasks eager; gunicorn, workers, commands and tests never do.
RUN_PERIODIC_IN_PROCESS = env_bool("RUN_PERIODIC_IN_PROCESS", not REDIS_URL)

# --- Trial settings the coordinator may change (defaults from DOMAIN.md) -----------------
TRIAL_NAME = env.str("TRIAL_NAME", default="VERTEBRA")
# Licensed questionnaire wording (EQ-5D, ODI) installed by the trial; empty: the shipped demo
# wording, clearly marked as such. See README "Questionnaire wording".
QUESTIONNAIRE_WORDING_DIR = env.str("QUESTIONNAIRE_WORDING_DIR", default="")
# ODI: no score when more sections than this are missing (Fairbank & Pynsent allow one).
TRIAL_ODI_MAX_MISSING = env.int("TRIAL_ODI_MAX_MISSING", default=1)
# EQ-5D-3L value set for the index: "DK" (Wittrup-Jensen 2009) or "UK" (Dolan 1997).
TRIAL_EQ5D_VALUE_SET = env.str("TRIAL_EQ5D_VALUE_SET", default="DK")
if TRIAL_EQ5D_VALUE_SET not in ("DK", "UK"):
    raise ImproperlyConfigured("TRIAL_EQ5D_VALUE_SET must be DK or UK.")
# Crossover to PVP for the conservative arm: not before this day after randomisation unless
# the coordinator overrides with a reason (protocol: after 4 weeks).
TRIAL_CROSSOVER_EARLIEST_DAY = env.int("TRIAL_CROSSOVER_EARLIEST_DAY", default=28)
# Source-data verification: the forms the monitor verifies against the source, by the codes
# of trial.monitoring.sdv.SDV_FORMS (an unknown code stops the start-up): consent,
# eligibility, randomisation, the primary outcome (its measure at its visit), serious adverse
# events, death.
TRIAL_SDV_FORMS = tuple(
    env.list(
        "TRIAL_SDV_FORMS",
        default=["consent", "eligibility", "randomisation", "primary_outcome", "sae", "death"],
    )
)
# Responder analysis of the outcome report: an ODI improvement (baseline minus the primary
# visit) of at least this many points is a response (the minimal clinically important
# difference; Ostelo 2008 give 10 points, or 30% of baseline, for back pain).
TRIAL_ODI_MCID = env.float("TRIAL_ODI_MCID", default=10.0)
if not 0 < TRIAL_ODI_MCID <= 100:
    raise ImproperlyConfigured("TRIAL_ODI_MCID must be a number of ODI points above 0, up to 100.")

# --- Audit trail -------------------------------------------------------------------------
# A reason for a change is free text that users write in full; simple-history's default column
# holds 100 characters and PostgreSQL would refuse a longer reason (a 500, and a lost change).
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

# --- Logging -----------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Patient link tokens in request paths are cut short before any handler writes them
    # (django.request's "Not Found: /q/<token>/", runserver's request lines).
    "filters": {"scrub_tokens": {"()": "trial.logscrub.ScrubTokensFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["scrub_tokens"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        "weasyprint": {"level": "ERROR"},
        "fontTools": {"level": "ERROR"},
    },
}

# --- follow-up ---------------------------------------------------------------------------
# The visit schedule in force: a bundled name (trial/protocol/schedules/<name>.json) or a path
# to a JSON file (ending in .json). A bad value stops the app at startup (trial.apps).
FOLLOWUP_SCHEDULE = env.str("FOLLOWUP_SCHEDULE", default="vertebra")
# Contacts are created this many days before their window opens (the coming week's list).
FOLLOWUP_HORIZON_DAYS = env.int("FOLLOWUP_HORIZON_DAYS", default=7)
# The nightly run also creates (as missed) visits whose window closed up to this many days ago,
# e.g. after an outage; `followup_nightly --catch-up` looks at the whole history.
FOLLOWUP_CATCH_UP_DAYS = env.int("FOLLOWUP_CATCH_UP_DAYS", default=60)
CELERY_BEAT_SCHEDULE["followup-nightly"] = {
    "task": "followup.nightly",
    "schedule": crontab(hour=1, minute=15),
}
# Each nurse's list for the coming week, e-mailed on Monday morning (CELERY_TIMEZONE is
# Europe/Copenhagen, so 06:30 local in summer and winter alike); sent once per nurse and week.
CELERY_BEAT_SCHEDULE["followup-weekly-lists"] = {
    "task": "followup.weekly_lists",
    "schedule": crontab(hour=6, minute=30, day_of_week="mon"),
}

# --- questionnaires ---
# Personal links: baseline links work this many days after they are issued, follow-up links this
# many days after the visit window closes.
QUESTIONNAIRE_LINK_EXPIRY_DAYS = env.int("QUESTIONNAIRE_LINK_EXPIRY_DAYS", default=14)
# One reminder when a link sent by e-mail or text has had no answers for this many days.
QUESTIONNAIRE_REMINDER_AFTER_DAYS = env.int("QUESTIONNAIRE_REMINDER_AFTER_DAYS", default=5)
# ... and, for a follow-up visit, at the latest this many days before its window closes.
QUESTIONNAIRE_REMINDER_BEFORE_CLOSE_DAYS = env.int(
    "QUESTIONNAIRE_REMINDER_BEFORE_CLOSE_DAYS", default=2
)
# Text messages: a class with send_messages(messages); the default only logs
# (questionnaires/sms.py).
SMS_BACKEND = env.str("SMS_BACKEND", default="questionnaires.sms.LoggingSmsBackend")
# Guessing tokens: after this many unknown tokens from one address within the window, every
# token from that address gets the same friendly page with status 429 until the window passes.
QUESTIONNAIRE_TOKEN_THROTTLE_LIMIT = env.int("QUESTIONNAIRE_TOKEN_THROTTLE_LIMIT", default=20)
QUESTIONNAIRE_TOKEN_THROTTLE_WINDOW_SECONDS = env.int(
    "QUESTIONNAIRE_TOKEN_THROTTLE_WINDOW_SECONDS", default=600
)
# Behind a proxy, the request header with the client's address (e.g. HTTP_X_REAL_IP); empty:
# REMOTE_ADDR. The throttle counts per address, so it must not count the proxy's.
QUESTIONNAIRE_CLIENT_IP_HEADER = env.str("QUESTIONNAIRE_CLIENT_IP_HEADER", default="")
# The throttle counts in Django's cache. Several gunicorn workers must share one count, so with
# REDIS_URL set the cache is Redis (CACHE_URL overrides the address); without it (the
# embedded default, one process) a local-memory cache does.
CACHE_URL = env.str("CACHE_URL", default="") or REDIS_URL
if CACHE_URL:
    CACHES = {
        "default": {
            # Redis with a short timeout and a local-memory fallback: the patient pages
            # must answer while Redis is down (trial/cache.py).
            "BACKEND": "trial.cache.FallbackRedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "vertebra",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Clinic tablet: a session nobody touched for this many minutes is over; the patient's page
# then asks to hand the tablet back to staff (answers given so far are kept).
QUESTIONNAIRE_TABLET_IDLE_MINUTES = env.int("QUESTIONNAIRE_TABLET_IDLE_MINUTES", default=30)
for _name in (
    "QUESTIONNAIRE_LINK_EXPIRY_DAYS",
    "QUESTIONNAIRE_REMINDER_AFTER_DAYS",
    "QUESTIONNAIRE_REMINDER_BEFORE_CLOSE_DAYS",
    "QUESTIONNAIRE_TOKEN_THROTTLE_LIMIT",
    "QUESTIONNAIRE_TOKEN_THROTTLE_WINDOW_SECONDS",
    "QUESTIONNAIRE_TABLET_IDLE_MINUTES",
):
    if vars()[_name] < 1:
        raise ImproperlyConfigured(f"{_name} must be at least 1.")
CELERY_BEAT_SCHEDULE["questionnaire-reminders"] = {
    "task": "questionnaires.tasks.link_reminders_send",
    "schedule": 60 * 60,  # hourly; each link gets at most one reminder
}

# --- randomisation -----------------------------------------------------------------------
# Block sizes a new envelope batch is drawn with when the coordinator does not choose others.
RANDOMISATION_BLOCK_SIZES = tuple(env.list("RANDOMISATION_BLOCK_SIZES", cast=int, default=[2, 4]))
# The coordinator is e-mailed once when a site's stock in a stratum falls below this.
RANDOMISATION_STOCK_THRESHOLD = env.int("RANDOMISATION_STOCK_THRESHOLD", default=4)
# Where rendered envelope-batch PDFs (they show unused arms) are kept; never served directly.
RANDOMISATION_PDF_ROOT = env.path(
    "RANDOMISATION_PDF_ROOT", default=Path(str(MEDIA_ROOT)) / "private" / "envelope-batches"
)
# Whether the coordinator may read the allocation list (data managers always may).
RANDOMISATION_COORDINATOR_SEES_ALLOCATIONS = env_bool(
    "RANDOMISATION_COORDINATOR_SEES_ALLOCATIONS", False
)
CELERY_BEAT_SCHEDULE["envelope-stock"] = {
    "task": "randomization.envelope_stock_check",
    "schedule": 24 * 60 * 60,  # nightly safety net; each randomisation also checks its stratum
}

# --- exports -------------------------------------------------------------------
# Where rendered export ZIPs are kept (never served directly: the download view logs each
# download), and how long before the nightly expiry deletes them.
EXPORT_ROOT = Path(env.str("EXPORT_ROOT", default=str(Path(str(MEDIA_ROOT)) / "exports")))
EXPORT_EXPIRY_HOURS = env.int("EXPORT_EXPIRY_HOURS", default=24)
if EXPORT_EXPIRY_HOURS < 1:
    raise ImproperlyConfigured("EXPORT_EXPIRY_HOURS must be at least 1.")
# A site archive's casebooks are laid out by a WeasyPrint child process replaced after this
# many documents, which bounds its memory (trial/monitoring/casebook/render.py).
CASEBOOK_ARCHIVE_BATCH = env.int("CASEBOOK_ARCHIVE_BATCH", default=50)
if CASEBOOK_ARCHIVE_BATCH < 1:
    raise ImproperlyConfigured("CASEBOOK_ARCHIVE_BATCH must be at least 1.")
# The edit checks (trial/protocol/edit_checks.py) run after each save of a participant's data
# and every night for everyone, to catch what no save triggered.
CELERY_BEAT_SCHEDULE["edit-checks-nightly"] = {
    "task": "trial.edit_checks_nightly",
    "schedule": crontab(hour=2, minute=30),
}
# Each site's staff who answer queries get the site's queries not closed by e-mail on Monday
# morning (Copenhagen time, like every crontab here); once per site and week.
CELERY_BEAT_SCHEDULE["query-digest"] = {
    "task": "trial.query_digest_weekly",
    "schedule": crontab(hour=7, minute=0, day_of_week="mon"),
}
CELERY_BEAT_SCHEDULE["exports-expire"] = {
    "task": "trial.exports_expire",
    "schedule": 60 * 60,  # hourly, so a file outlives its expiry by at most an hour
}
CELERY_BEAT_SCHEDULE["casebooks-expire"] = {
    "task": "trial.casebooks_expire",
    "schedule": 60 * 60,  # casebooks and site archives expire like exports
}
# --- end exports ---------------------------------------------------------------

# --- hardening ----------------------------------------------------------------------------
# "Screened before?" look-ups of a CPR number search every site's log: each is recorded
# (trial.screening.lookups) and a user gets at most this many per window, then a 429.
SCREENING_CPR_LOOKUP_LIMIT = env.int("SCREENING_CPR_LOOKUP_LIMIT", default=30)
SCREENING_CPR_LOOKUP_WINDOW_SECONDS = env.int("SCREENING_CPR_LOOKUP_WINDOW_SECONDS", default=3600)
# The shortest reason accepted, after trimming spaces, where a person must say why: a
# correction, an identified export, a staff change (trial.audit.require_reason).
REASON_MIN_LENGTH = env.int("REASON_MIN_LENGTH", default=10)
# The trial's period: dates that configure the trial (a criteria version's "in force from")
# must fall inside it, so that a typo such as year 9999 is refused with a message.
try:
    TRIAL_PERIOD_START = dt.date.fromisoformat(env.str("TRIAL_PERIOD_START", default="2020-01-01"))
    TRIAL_PERIOD_END = dt.date.fromisoformat(env.str("TRIAL_PERIOD_END", default="2040-12-31"))
except ValueError as exc:
    raise ImproperlyConfigured(
        f"TRIAL_PERIOD_START/END must be dates (YYYY-MM-DD): {exc}"
    ) from None
if TRIAL_PERIOD_START >= TRIAL_PERIOD_END:
    raise ImproperlyConfigured("TRIAL_PERIOD_START must be before TRIAL_PERIOD_END.")
for _name in (
    "SCREENING_CPR_LOOKUP_LIMIT",
    "SCREENING_CPR_LOOKUP_WINDOW_SECONDS",
    "REASON_MIN_LENGTH",
):
    if vars()[_name] < 1:
        raise ImproperlyConfigured(f"{_name} must be at least 1.")

# --- web API (trial/api) ------------------------------------------------------------------
# Personal tokens: valid this many days unless their owner picks fewer (at most the maximum).
API_TOKEN_DEFAULT_DAYS = env.int("API_TOKEN_DEFAULT_DAYS", default=90)
API_TOKEN_MAX_DAYS = env.int("API_TOKEN_MAX_DAYS", default=365)
# Requests per token (DRF rate syntax, e.g. "600/min"); over it: 429 with Retry-After.
API_RATE = env.str("API_RATE", default="600/min")
# Participants per page of /api/v1/participants/ and /api/v1/records/ (a client may ask less).
API_PAGE_SIZE = env.int("API_PAGE_SIZE", default=500)
API_MAX_PAGE_SIZE = env.int("API_MAX_PAGE_SIZE", default=2000)
if not 1 <= API_TOKEN_DEFAULT_DAYS <= API_TOKEN_MAX_DAYS:
    raise ImproperlyConfigured("API_TOKEN_DEFAULT_DAYS must be between 1 and API_TOKEN_MAX_DAYS.")
if not 1 <= API_PAGE_SIZE <= API_MAX_PAGE_SIZE:
    raise ImproperlyConfigured("API_PAGE_SIZE must be between 1 and API_MAX_PAGE_SIZE.")
REST_FRAMEWORK = {
    # Tokens only: no session cookie opens the API (trial/api/authentication.py).
    "DEFAULT_AUTHENTICATION_CLASSES": ["trial.api.authentication.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["trial.api.permissions.MatrixPermission"],
    "DEFAULT_THROTTLE_CLASSES": ["trial.api.throttling.TokenRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "trial.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "VERTEBRA API",
    "DESCRIPTION": "Pseudonymised data of the VERTEBRA trial for statisticians and integrations.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # The schema route asks the matrix and wants a token like every other API route.
    "SERVE_PERMISSIONS": ["trial.api.permissions.MatrixPermission"],
    "SERVE_AUTHENTICATION": ["trial.api.authentication.TokenAuthentication"],
}
