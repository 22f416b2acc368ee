from django.core.management.base import BaseCommand

from questionnaires import links, selectors


class Command(BaseCommand):
    help = (
        "Send now the one reminder of every questionnaire link left unused (what Celery beat "
        "runs hourly; safe to run again: each link gets at most one reminder)."
    )

    def handle(self, *args, **options):
        # The beat task enqueues one task per link; here the same service runs in this process.
        due = selectors.links_due_for_reminder()
        sent = sum(links.link_remind(link_id=link_id) for link_id in due)
        self.stdout.write(f"{sent} reminders sent ({len(due)} links were due)")
