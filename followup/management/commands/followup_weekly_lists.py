import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from followup import services


class Command(BaseCommand):
    help = (
        "E-mail each nurse the contact list of a week (what Celery beat runs on Monday "
        "morning). Each nurse's list is sent once per week, however often this runs."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--week-of",
            help="Any date of the week (YYYY-MM-DD); default: this week on a Monday, else next.",
        )

    def handle(self, *args, week_of=None, **options):
        try:
            day = dt.date.fromisoformat(week_of) if week_of else None
        except ValueError as exc:
            raise CommandError("--week-of must be YYYY-MM-DD") from exc
        result = services.weekly_lists_send(week_start=day)
        self.stdout.write(
            f"sent {result['sent']} weekly lists, {result['skipped']} already sent elsewhere"
        )
