from django.core.management.base import BaseCommand

from trial.access import matrix_markdown


class Command(BaseCommand):
    help = "Print the permission matrix (trial/access.py) as the Markdown table in README.md."

    def handle(self, *args, **options):
        self.stdout.write(matrix_markdown())
