"""Print the permission matrix (trial/access_matrix.py) as the Markdown table of the README;
a test keeps the README's copy true."""

from django.core.management.base import BaseCommand

from trial.access import matrix_markdown


class Command(BaseCommand):
    help = "Print the permission matrix as a Markdown table (paste it into README.md)."

    def handle(self, *args, **options):
        self.stdout.write(matrix_markdown())
