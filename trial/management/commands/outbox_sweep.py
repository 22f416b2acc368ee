"""Publish the background tasks the broker refused (the twin of the beat job
``trial.outbox_sweep``; run it by hand or from cron after a broker outage)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from trial.outbox.selectors import pending_summary
from trial.outbox.services import outbox_sweep


class Command(BaseCommand):
    help = "Publish pending outbox tasks that are due (refused by the broker, or lost)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--limit", type=int, default=500)

    def handle(self, *args, limit: int, **options) -> None:
        published = outbox_sweep(limit=limit)
        summary = pending_summary()
        self.stdout.write(
            f"published {published}; pending {summary['pending']}; "
            f"oldest {summary['oldest_pending_seconds']} s"
        )
