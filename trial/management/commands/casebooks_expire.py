from django.core.management.base import BaseCommand

from trial.monitoring.casebook.services import casebooks_expire


class Command(BaseCommand):
    help = (
        "Delete the files of expired casebooks and site archives now (what Celery beat runs "
        "hourly; safe to run again)."
    )

    def handle(self, *args, **options):
        expired = casebooks_expire()
        self.stdout.write(f"{expired} casebooks expired")
