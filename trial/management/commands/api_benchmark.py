"""python manage.py api_benchmark [--participants N] [--page-size P]

The web API's benchmark (trial/api/benchmark.py): a full pull of the long records through
HTTP, its time, the server's peak RSS, and the ratio to the CSV export of the same rows. The
README quotes its figures. Needs PostgreSQL.
"""

from django.core.management.base import BaseCommand

from trial.api import benchmark


class Command(BaseCommand):
    help = "Measure a full pull of the long records through the web API against the CSV export."

    def add_arguments(self, parser):
        parser.add_argument("--participants", type=int, default=10_000)
        parser.add_argument("--page-size", type=int, default=None)

    def handle(self, *args, participants: int, page_size: int | None, **options):
        benchmark.run(self.stdout, participants=participants, page_size=page_size)
