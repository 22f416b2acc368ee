from django.core.management.base import BaseCommand, CommandError

from trial.demo import seed_demo
from trial.errors import ServiceError
from trial.staff.demo import DEMO_PASSWORD


class Command(BaseCommand):
    help = "Create the demo trial (idempotent); --participants N adds N more participants."

    def add_arguments(self, parser):
        parser.add_argument(
            "--participants",
            type=int,
            default=0,
            help="Add N participants spread over every state, with fake identifying data.",
        )

    def handle(self, *args, participants: int, **options):
        if participants < 0:
            raise CommandError("--participants must be 0 or more.")
        try:
            result = seed_demo(participants=participants)
        except ServiceError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Demo trial ready: {result['sites']} sites, "
            f"{result['base_participants']} demo participants created now, "
            f"{result['added']} added."
        )
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for user in result["users"]:
            sites = ", ".join(m.site.code for m in user.memberships.select_related("site"))
            self.stdout.write(
                f"  {user.username:<18} {user.get_role_display():<16} {sites or 'all sites'}"
            )
