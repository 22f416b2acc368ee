"""Text messages: a small backend interface, so that a provider can be plugged in by setting.

``SMS_BACKEND`` names a class with ``send_messages(messages) -> int``; the default logs each
message instead of sending it (demo and tests). A provider's backend lives in its own module
and is named in the setting, e.g. ``SMS_BACKEND=mycompany.sms.GatewayBackend``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmsMessage:
    to: str
    body: str


class BaseSmsBackend:
    def send_messages(self, messages: list[SmsMessage]) -> int:
        """Send the messages; return how many were sent. Raise on a failure to retry."""
        raise NotImplementedError


class LoggingSmsBackend(BaseSmsBackend):
    """Writes each message to the log (phone number masked but for the last two digits)."""

    def send_messages(self, messages: list[SmsMessage]) -> int:
        for message in messages:
            logger.info("SMS to ***%s: %s", message.to[-2:], message.body)
        return len(messages)


class LocmemSmsBackend(BaseSmsBackend):
    """Keeps messages in ``outbox`` (tests)."""

    outbox: list[SmsMessage] = []

    def send_messages(self, messages: list[SmsMessage]) -> int:
        LocmemSmsBackend.outbox.extend(messages)
        return len(messages)


def get_backend() -> BaseSmsBackend:
    return import_string(settings.SMS_BACKEND)()


def send_sms(to: str, body: str) -> int:
    return get_backend().send_messages([SmsMessage(to=to, body=body)])
