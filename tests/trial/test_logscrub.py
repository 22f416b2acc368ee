"""Patient link tokens are cut short in the access log (gunicorn) and Django's request logs."""

from __future__ import annotations

import datetime as dt
import logging
import runpy
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from gunicorn.config import Config

from questionnaires.tokens import token_new
from trial.logscrub import ScrubTokensFilter, scrub

BASE_DIR = Path(__file__).resolve().parents[2]
TOKEN = "Xk3v9QeRtY7uI1oP2aS4dF6gH8jK0lZ_xC5vB-nM3qW"  # 43 characters, like a real one


def test_scrub_keeps_a_prefix_and_drops_the_rest():
    assert scrub(f"GET /q/{TOKEN}/ HTTP/1.1") == "GET /q/Xk3v…/ HTTP/1.1"
    assert scrub(f"https://vertebra.example.dk/q/{TOKEN}/?x=1") == (
        "https://vertebra.example.dk/q/Xk3v…/?x=1"
    )
    real = token_new()
    assert real not in scrub(f"/q/{real}/") and real[:4] in scrub(f"/q/{real}/")
    # The token-less patient pages and other paths stay as they are.
    for path in ("/q/", "/q/submit/", "/q/vas/1/", "/participants/AAR-001/", "/tablet/odi/2/"):
        assert scrub(path) == path


def test_the_logging_filter_scrubs_message_and_arguments():
    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "Not Found: %s", (f"/q/{TOKEN}/",), None
    )
    assert ScrubTokensFilter().filter(record) is True
    assert record.getMessage() == "Not Found: /q/Xk3v…/"
    assert TOKEN not in record.getMessage()


def test_logging_settings_put_the_filter_on_every_handler():
    for name, handler in settings.LOGGING["handlers"].items():
        assert "scrub_tokens" in handler.get("filters", []), name
    assert settings.LOGGING["filters"]["scrub_tokens"]["()"] == "trial.logscrub.ScrubTokensFilter"
    # And the configured handler really scrubs: Django's 404 warning for a token's address.
    console = next(
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, ScrubTokensFilter) for f in h.filters)
    )
    record = logging.LogRecord(
        "django.request", 30, __file__, 1, "Not Found: %s", (f"/q/{TOKEN}/",), None
    )
    console.filter(record)
    assert TOKEN not in record.getMessage()


def _gunicorn_config() -> Config:
    """gunicorn's own Config, loaded from gunicorn.conf.py the way gunicorn does."""
    cfg = Config()
    for key, value in runpy.run_path(str(BASE_DIR / "gunicorn.conf.py")).items():
        if key in cfg.settings:
            cfg.set(key, value)
    return cfg


def test_gunicorn_config_uses_the_scrubbing_logger(capsys):
    cfg = _gunicorn_config()
    assert cfg.accesslog == "-"
    logger = cfg.logger_class(cfg)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/q/{TOKEN}/",
        "PATH_INFO": f"/q/{TOKEN}/",
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "192.0.2.7",
        "HTTP_REFERER": f"https://vertebra.example.dk/q/{TOKEN}/",
    }
    response = SimpleNamespace(status="302 Found", sent=0, headers=[])
    request = SimpleNamespace(headers=[("REFERER", f"https://x/q/{TOKEN}/")])
    logger.access(response, request, environ, dt.timedelta(seconds=0))
    for handler in logger.access_log.handlers:
        handler.flush()
    written = capsys.readouterr().out
    assert "GET /q/Xk3v…/ HTTP/1.1" in written
    assert TOKEN not in written


@pytest.mark.parametrize("source", ["Dockerfile", "docker-compose.yml"])
def test_the_web_server_is_started_with_the_config(source):
    assert "--config gunicorn.conf.py" in (BASE_DIR / source).read_text().replace('", "', " ")


def test_a_token_in_printed_groups_is_scrubbed_too():
    from questionnaires import links, tokens

    token = tokens.token_new()
    path = links.link_url(token).split("://", 1)[-1]
    line = f'"GET /{path.split("/", 1)[1]} HTTP/1.1" 302'
    scrubbed = scrub(line)
    assert token[:4] in scrubbed
    for group in tokens.link_text(token).split("-")[1:]:
        assert group not in scrubbed
