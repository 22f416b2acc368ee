"""python manage.py benchmark <app or alias> [--participants N]

Runs the benchmark module of an app (``<app>/benchmark.py`` with ``run(stdout, **options)``)
and prints its figures; the README quotes them. Not a test: nothing here asserts a time.
``exports`` is the benchmark of the full export, trial/exports/benchmark.py; ``casebook`` the
site archive of casebooks, trial/monitoring/casebook/benchmark.py.
"""

import importlib

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError

# Benchmarks that are not an app's own: the name given, and the module that runs it. "trial"
# still names the export benchmark, which lived at trial/benchmark.py before trial/exports/.
ALIASES = {
    "exports": "trial.exports.benchmark",
    "trial": "trial.exports.benchmark",
    "casebook": "trial.monitoring.casebook.benchmark",
    "api": "trial.api.benchmark",  # also `manage.py api_benchmark`
}


class Command(BaseCommand):
    help = "Measure an app's heavy paths on generated data, e.g. `benchmark followup`."

    def add_arguments(self, parser):
        parser.add_argument("app", help="App whose benchmark to run: followup, exports or casebook")
        parser.add_argument("--participants", type=int, default=100_000)
        parser.add_argument(
            "--formats",
            nargs="+",
            choices=["csv", "stata", "odm", "xlsx"],
            help="Export formats to measure (exports benchmark; default: all four).",
        )

    def handle(self, *args, app: str, participants: int, formats=None, **options):
        if app in ALIASES:
            module_name = ALIASES[app]
        elif apps.is_installed(app):
            module_name = f"{app}.benchmark"
        else:
            raise CommandError(f"No installed app called {app!r}.")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            raise CommandError(f"The app {app!r} has no benchmark.") from exc
        extra = {"formats": formats} if formats else {}
        module.run(self.stdout, participants=participants, **extra)
