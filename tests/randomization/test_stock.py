"""The low-stock e-mail: once per crossing of the threshold, not on every run."""

from __future__ import annotations

import smtplib

import pytest

from randomization import oversight, services
from randomization.models import StratumStock
from randomization.tasks import envelope_stock_check
from tests.randomization.conftest import make_batch, make_ready


def _alerts(mailoutbox):
    return [m for m in mailoutbox if "envelopes left" in m.subject]


def test_the_coordinator_is_told_once_per_crossing(
    world, hematologist, coordinator, mailoutbox, settings
):
    settings.RANDOMISATION_STOCK_THRESHOLD = 4
    make_batch(world.own, "A1N", 5)
    envelope_stock_check()
    assert _alerts(mailoutbox) == []  # 5 left: above the threshold

    # 5 -> 4 -> 3: the fall below 4 sends one e-mail (the task runs after each commit).
    for _ in range(2):
        services.participant_randomize(
            participant=make_ready(world.own, hematologist), user=hematologist
        )
    envelope_stock_check()
    envelope_stock_check()
    alerts = _alerts(mailoutbox)
    assert len(alerts) == 1
    assert coordinator.email in alerts[0].to
    assert "AAR" in alerts[0].subject and "A1N" in alerts[0].subject
    assert "3" in alerts[0].subject

    # Still low after another randomisation: no new e-mail.
    services.participant_randomize(
        participant=make_ready(world.own, hematologist), user=hematologist
    )
    envelope_stock_check()
    assert len(_alerts(mailoutbox)) == 1

    # A new batch lifts the stock above the threshold; the next fall is a new crossing.
    make_batch(world.own, "A1N", 4, seed=9)  # 2 + 4 = 6
    assert StratumStock.objects.get(site=world.own, stratum="A1N").low_stock_alerted_at is None
    envelope_stock_check()
    assert len(_alerts(mailoutbox)) == 1
    for _ in range(3):  # 6 -> 3
        services.participant_randomize(
            participant=make_ready(world.own, hematologist), user=hematologist
        )
    envelope_stock_check()
    assert len(_alerts(mailoutbox)) == 2


def test_the_nightly_check_is_scheduled(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["envelope-stock"]
    assert entry["task"] == "randomization.envelope_stock_check"


def test_an_alert_the_mail_server_refused_stays_pending_and_goes_out_once_later(
    world, coordinator, mail_server, mailoutbox, settings
):
    settings.RANDOMISATION_STOCK_THRESHOLD = 4
    make_batch(world.own, "A1N", 3)

    # The mail server is down: the run fails loudly and the alert is not marked sent.
    with pytest.raises(smtplib.SMTPException):
        oversight.envelope_stock_alerts_send()
    assert StratumStock.objects.get(site=world.own, stratum="A1N").low_stock_alerted_at is None
    assert _alerts(mailoutbox) == []

    # The task retries (at once when eager; a worker waits for the backoff) and the alert
    # goes out when the server takes it again.
    mail_server.refusals = 1
    assert envelope_stock_check.apply(throw=False).get() == 1
    assert mail_server.attempts == 3
    assert len(_alerts(mailoutbox)) == 1
    assert StratumStock.objects.get(site=world.own, stratum="A1N").low_stock_alerted_at

    # Later runs find it sent: one e-mail in all.
    assert oversight.envelope_stock_alerts_send() == 0
    assert envelope_stock_check.apply().get() == 0
    assert len(_alerts(mailoutbox)) == 1
