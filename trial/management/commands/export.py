"""python manage.py export --format <csv|xlsx|stata|odm> --out DIR [--exporter full]

Runs the same code as the export page, synchronously, and logs the run in the export log
under the given user (default: the first active data manager or coordinator). For the embedded
default without a worker, and for scripted extracts.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from trial import access
from trial.exports import services as export_services
from trial.exports.models import ExportFormat, ExportRun, ExportStatus
from trial.models import User


class Command(BaseCommand):
    help = "Export the trial's data to a ZIP in DIR (pseudonymised unless --identified)."

    def add_arguments(self, parser):
        parser.add_argument("--format", required=True, choices=ExportFormat.values)
        parser.add_argument("--out", required=True, help="Directory to write the ZIP to")
        parser.add_argument("--exporter", default="full")
        parser.add_argument("--user", help="Username the export is logged under")
        parser.add_argument("--identified", action="store_true")
        parser.add_argument("--reason", default="")

    def handle(self, *args, format, out, exporter, user, identified, reason, **options):
        if user:
            account = User.objects.filter(username=user, is_active=True).first()
        else:
            account = (
                access.staff_for("export_identified").order_by("id").first()
                or access.staff_for("export_run").order_by("id").first()
            )
        if account is None:
            raise CommandError("No active data manager or coordinator to log the export under.")
        try:
            run = export_services.export_request(
                user=account, exporter=exporter, format=format, identified=identified, reason=reason
            )
        except (PermissionDenied, ValidationError) as exc:
            raise CommandError(str(exc)) from exc
        # Eager Celery has rendered it on commit; with a broker configured, render here.
        export_services.export_run_render(str(run.id))
        run = ExportRun.objects.get(id=run.id)
        if run.status != ExportStatus.DONE:
            raise CommandError(f"Export failed: {run.error}")
        target_dir = Path(out)
        target_dir.mkdir(parents=True, exist_ok=True)
        stamp = run.requested_at.strftime("%Y%m%d-%H%M%S")
        target = target_dir / f"vertebra-{run.exporter}-{run.format}-{stamp}.zip"
        shutil.copyfile(export_services.export_root() / run.file_name, target)
        self.stdout.write(str(target))
