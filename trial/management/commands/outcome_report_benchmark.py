"""python manage.py outcome_report_benchmark [--participants N]

Times the outcome report and its PDF on N simulated participants with full follow-up
(trial/reports/benchmark.py); the README quotes the figures. Not a test: nothing asserts a time.
"""

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Time the outcome report and its PDF on simulated participants."

    def add_arguments(self, parser):
        parser.add_argument("--participants", type=int, default=1000)

    def handle(self, *args, participants: int, **options):
        if participants < 2:
            raise CommandError("--participants must be at least 2.")
        from trial.reports import benchmark

        benchmark.run(self.stdout, participants=participants)
