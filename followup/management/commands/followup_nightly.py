import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from followup import links, services


class Command(BaseCommand):
    help = (
        "Run the nightly follow-up job now: create due contacts, mark due/missed ones, complete "
        "the follow-up of participants whose last window has closed and send the links of "
        "visits whose window opened (what Celery beat runs at 01:15; safe to run again)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--today", help="Pretend it is this date (YYYY-MM-DD).")
        parser.add_argument(
            "--catch-up",
            action="store_true",
            help="Create contacts for every visit since randomisation, however long ago.",
        )

    def handle(self, *args, today=None, catch_up=False, **options):
        try:
            day = dt.date.fromisoformat(today) if today else None
        except ValueError as exc:
            raise CommandError("--today must be YYYY-MM-DD") from exc
        created = services.contacts_create_due(today=day, catch_up_days=-1 if catch_up else None)
        updated = services.contacts_update_status(today=day)
        completed = services.participants_complete(today=day)
        sent = links.visit_links_send_due(today=day)
        self.stdout.write(
            f"created {created} contacts, {updated['due']} now due, {updated['missed']} missed, "
            f"{completed} follow-ups completed, {sent} links sent"
        )
