from django.core.management.base import BaseCommand

from randomization import oversight


class Command(BaseCommand):
    help = (
        "E-mail the coordinator about envelope stock below the threshold now (what Celery beat "
        "runs nightly; safe to run again: one e-mail per fall below the threshold)."
    )

    def handle(self, *args, **options):
        sent = oversight.envelope_stock_alerts_send()
        self.stdout.write(f"{sent} low-stock alerts sent")
