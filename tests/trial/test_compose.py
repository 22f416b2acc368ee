"""docker-compose.yml and the Dockerfile describe a production that can actually start."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.settings_source import READ_BY_SETTINGS, SETTINGS_SOURCE

BASE_DIR = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ["web", "worker", "beat"]
DOCKERFILE = (BASE_DIR / "Dockerfile").read_text()
REQUIRED_IN_PRODUCTION = ["SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS", "EMAIL_URL"]


def _command(service: str) -> str:
    command = SERVICES[service].get("command", "")
    return " ".join(command) if isinstance(command, list) else " ".join(command.split())


def _environment(service: str) -> dict[str, str]:
    env = SERVICES[service].get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def _dockerfile_runs() -> list[str]:
    # Join continuation lines so that each RUN is one string.
    text = re.sub(r"\\\n", " ", DOCKERFILE)
    return [line.strip()[4:] for line in text.splitlines() if line.strip().startswith("RUN ")]


def test_it_has_every_service():
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(SERVICES)


def test_the_web_service_migrates_then_serves_with_gunicorn():
    command = _command("web")
    assert "manage.py migrate" in command
    assert "gunicorn trial.wsgi" in command
    assert command.index("migrate") < command.index("gunicorn")


def test_the_worker_runs_celery_worker():
    assert _command("worker").startswith("celery -A trial worker")


def test_beat_runs_celery_beat():
    assert _command("beat").startswith("celery -A trial beat")


def test_the_web_health_check_asks_healthz():
    test = SERVICES["web"]["healthcheck"]["test"]
    test = " ".join(test) if isinstance(test, list) else test
    assert re.search(r"https?://localhost:8000/healthz\b", test)


def test_the_health_check_host_is_allowed_and_not_redirected_to_https():
    # The container probes plain HTTP on localhost, while production redirects to HTTPS.
    assert _environment("web")["ALLOWED_HOSTS"].split(",")[-1] == "localhost"
    assert 'SECURE_REDIRECT_EXEMPT = [r"^healthz$"]' in SETTINGS_SOURCE


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_services_only_set_variables_the_settings_read(service):
    unknown = set(_environment(service)) - READ_BY_SETTINGS
    assert unknown == set(), f"{service} sets variables trial/settings.py never reads"


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_services_get_every_variable_production_requires(service):
    env = _environment(service)
    missing = [name for name in REQUIRED_IN_PRODUCTION if not env.get(name)]
    assert missing == []
    assert env["DEBUG"] == "0"
    assert env["TRIAL_REQUIRE_2FA"] == "1"
    assert env["DATABASE_URL"].startswith("postgres://")
    assert env["DATABASE_URL"].endswith("@postgres:5432/vertebra")
    assert env["REDIS_URL"].startswith("redis://redis:6379/")


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_services_wait_for_healthy_databases(service):
    depends = SERVICES[service]["depends_on"]
    assert depends["postgres"]["condition"] == "service_healthy"
    assert depends["redis"]["condition"] == "service_healthy"
    assert "healthcheck" in SERVICES["postgres"]
    assert "healthcheck" in SERVICES["redis"]


def test_postgres_keeps_its_data_in_a_named_volume():
    volumes = SERVICES["postgres"]["volumes"]
    assert any(v.split(":")[1] == "/var/lib/postgresql/data" for v in volumes)
    named = [v.split(":")[0] for v in volumes]
    assert set(named) <= set(COMPOSE["volumes"])


def test_postgres_credentials_match_the_app_database_url():
    pg = SERVICES["postgres"]["environment"]
    url = _environment("web")["DATABASE_URL"]
    assert url.startswith(f"postgres://{pg['POSTGRES_USER']}:")
    assert url.endswith(f"/{pg['POSTGRES_DB']}")


def test_beat_keeps_its_schedule_on_a_volume():
    command = _command("beat")
    schedule = re.search(r"--schedule\s+(\S+)", command).group(1)
    mounts = [v.split(":")[1] for v in SERVICES["beat"]["volumes"]]
    assert any(schedule.startswith(m.rstrip("/") + "/") for m in mounts)


def test_the_dockerfile_installs_the_requirements():
    assert (BASE_DIR / "Dockerfile").exists()
    assert re.search(r"^COPY requirements\.txt", DOCKERFILE, re.MULTILINE)
    assert any(re.search(r"pip install .*-r requirements\.txt", run) for run in _dockerfile_runs())


def test_the_dockerfile_does_not_run_as_root():
    users = re.findall(r"^USER\s+(\S+)", DOCKERFILE, re.MULTILINE)
    assert users
    assert users[-1] not in ("root", "0")


def test_the_media_volume_is_writable_by_the_app_user():
    # A named volume mounted where the image has no directory is created owned by root, so the
    # non-root app user could write neither generated files nor beat's schedule. The image
    # must create MEDIA_ROOT and give it to the user that runs the app.
    media_root = _environment("web")["MEDIA_ROOT"]
    user = re.findall(r"^USER\s+(\S+)", DOCKERFILE, re.MULTILINE)[-1]
    runs = " ".join(_dockerfile_runs())
    path = re.escape(media_root)
    created_and_owned = re.search(rf"mkdir -p [^&;]*{path}", runs) and re.search(
        rf"chown [^&;]*{user}[^&;]*{path}", runs
    )
    installed_as_owner = re.search(rf"install -d [^&;]*-o {user}[^&;]*{path}", runs)
    assert created_and_owned or installed_as_owner, (
        f"the Dockerfile must create {media_root} owned by {user}"
    )


def test_the_client_address_comes_from_the_proxy_header(settings, rf):
    """Behind the proxy REMOTE_ADDR is the proxy's: the lock-out and the link throttle must
    count the address the proxy appends, or one attacker locks every user out."""
    from axes.helpers import get_client_ip_address

    header = _environment("web")["QUESTIONNAIRE_CLIENT_IP_HEADER"]
    assert header.startswith("${QUESTIONNAIRE_CLIENT_IP_HEADER:-")
    default = header.removeprefix("${QUESTIONNAIRE_CLIENT_IP_HEADER:-").removesuffix("}")
    assert default == "HTTP_X_FORWARDED_FOR"
    settings.QUESTIONNAIRE_CLIENT_IP_HEADER = default
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 192.0.2.7")
    # django-axes and the questionnaire throttle agree: the entry the proxy appended.
    assert get_client_ip_address(request) == "192.0.2.7"
    from questionnaires.views.patient import _client_ip

    assert _client_ip(request) == "192.0.2.7"
    settings.QUESTIONNAIRE_CLIENT_IP_HEADER = ""
    assert get_client_ip_address(request) == "10.0.0.2"
