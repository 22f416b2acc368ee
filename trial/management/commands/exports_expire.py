from django.core.management.base import BaseCommand

from trial.exports.services import exports_expire


class Command(BaseCommand):
    help = (
        "Delete the files of expired exports now (what Celery beat runs hourly; safe to run again)."
    )

    def handle(self, *args, **options):
        expired = exports_expire()
        self.stdout.write(f"{expired} exports expired")
