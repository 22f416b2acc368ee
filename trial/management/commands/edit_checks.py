from django.core.management.base import BaseCommand

from trial.monitoring.checks import edit_checks_run_all


class Command(BaseCommand):
    help = (
        "Run every edit check for every participant now (what Celery beat runs nightly): "
        "open a query for each new failure, close those that pass. Safe to run again."
    )

    def handle(self, *args, **options):
        result = edit_checks_run_all()
        self.stdout.write(
            "{participants} participants checked: {opened} queries opened, {closed} closed".format(
                **result
            )
        )
