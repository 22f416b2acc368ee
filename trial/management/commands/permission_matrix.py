from django.core.management.base import BaseCommand

from trial.access_matrix import matrix_markdown


class Command(BaseCommand):
    help = "Print the permission matrix (trial/access_matrix.py) as the table in README.md."

    def handle(self, *args, **options):
        self.stdout.write(matrix_markdown())
