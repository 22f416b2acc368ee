"""Generate a batch of sealed envelopes from the command line (the same service as the page).

python manage.py envelopes_generate --site AAR --stratum A1N --count 40 [--block-sizes 2,4]
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from randomization import blocks, services
from randomization.strata import STRATA
from trial.errors import ServiceError
from trial.models import Site, User


class Command(BaseCommand):
    help = "Generate a batch of sealed envelopes for a site and stratum."

    def add_arguments(self, parser):
        parser.add_argument("--site", required=True, help="site code, e.g. AAR")
        parser.add_argument("--stratum", required=True, help="stratum code: " + ", ".join(STRATA))
        parser.add_argument("--count", type=int, required=True, help="number of envelopes")
        parser.add_argument(
            "--block-sizes", default="", help="even block sizes, e.g. 2,4 (default: setting)"
        )
        parser.add_argument("--note", default="")
        parser.add_argument("--user", default="", help="username recorded as the creator")

    def handle(self, *args, **options):
        site = Site.objects.filter(code=options["site"].upper()).first()
        if site is None:
            raise CommandError(f"No site with code {options['site']!r}.")
        stratum = options["stratum"].upper()
        if stratum not in STRATA:
            raise CommandError(f"Unknown stratum {stratum!r}; known: {', '.join(STRATA)}.")
        sizes = None
        if options["block_sizes"]:
            try:
                sizes = blocks.validate_block_sizes(
                    [int(p) for p in options["block_sizes"].split(",") if p.strip()]
                )
            except ValueError as exc:
                raise CommandError(str(exc)) from None
        user = None
        if options["user"]:
            user = User.objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user {options['user']!r}.")
        try:
            batch = services.envelope_batch_generate(
                site=site,
                stratum=stratum,
                count=options["count"],
                block_sizes=sizes,
                note=options["note"],
                user=user,
            )
        except ServiceError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Batch {batch.pk}: {batch.size} envelopes {batch.serial_range()} "
            f"(blocks of {', '.join(str(s) for s in batch.block_sizes)})."
        )
