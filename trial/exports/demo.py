"""Demo step of ``seed_demo``: one finished export in the log (idempotent).

The coordinator's export page then shows what an export looks like, a ZIP ready to download
and a line in the log, before anyone has started one. The export is made through the same
service a user's request goes through, and rendered at once (not left to a worker).
"""

from __future__ import annotations

import logging

from trial.exports import services as export_services
from trial.exports.models import ExportRun

logger = logging.getLogger(__name__)


def seed_export(context: dict) -> None:
    user = context["users"].get("coordinator")
    if user is None or ExportRun.objects.filter(requested_by=user).exists():
        return
    run = export_services.export_request(user=user, exporter="full", format="csv")
    export_services.export_run_render(str(run.id))
    run.refresh_from_db()
    logger.info("demo export %s: %s", run.id, run.status)
