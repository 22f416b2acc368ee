import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from trial.monitoring.digest import query_digests_queue


class Command(BaseCommand):
    help = (
        "E-mail each site's staff who answer queries the site's queries not closed (what "
        "Celery beat runs on Monday morning). Each site's digest goes once per week, however "
        "often this runs; a site without queries not closed gets none."
    )

    def add_arguments(self, parser):
        parser.add_argument("--week-of", help="Any date of the week (YYYY-MM-DD); default: today.")

    def handle(self, *args, week_of=None, **options):
        try:
            day = dt.date.fromisoformat(week_of) if week_of else None
        except ValueError as exc:
            raise CommandError("--week-of must be YYYY-MM-DD") from exc
        result = query_digests_queue(today=day)
        self.stdout.write(
            f"{result['sites']} sites with queries not closed: "
            f"{result['queued']} digests queued, the others were sent this week already"
        )
