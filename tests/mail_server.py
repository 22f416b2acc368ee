"""A mail server for tests that can be down: the EMAIL_BACKEND of the ``mail_server`` fixture
(tests/conftest.py). It refuses the next ``refusals`` messages as an SMTP server that drops
the connection would, counts every attempt, and otherwise delivers to ``mail.outbox``."""

from __future__ import annotations

import smtplib

from django.core.mail.backends import locmem


class MailServer(locmem.EmailBackend):
    DOWN = 10**6  # refusals enough for any test: down until the test says otherwise
    refusals = 0
    attempts = 0

    def send_messages(self, messages):
        type(self).attempts += 1
        if type(self).refusals > 0:
            type(self).refusals -= 1
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)
