"""Exports: the exporter registry, the export formats and the export log.

- ``registry``: what an exporter is and the list of them (every app registers its own from
  ``<app>/exports.py``); ``trial_exporters`` and ``treatment_exporters`` are the trial's.
- ``tables``, ``formats``, ``codebook``, ``writer``: what an export holds, and its ZIP.
- ``sql`` (PostgreSQL's COPY for the long CSV) and ``stata_writer`` (the streaming .dta).
- ``models``, ``services``, ``views``, ``tasks``: the export log, its writes, pages and task.

This module imports nothing at import time: trial.models imports ``trial.exports.models``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trial.registry import Registry


def register(registry: Registry) -> None:
    """Wire the exports into the trial app; called once from ``TrialConfig.ready``."""
    from django.utils.translation import gettext_lazy as _

    # The trial's own exporters register themselves when imported; the task module is
    # imported so that a worker knows the export tasks.
    from trial.exports import demo, tasks, treatment_exporters, trial_exporters  # noqa: F401
    from trial.monitoring import exports as monitoring_exports  # noqa: F401
    from trial.registry import DemoStep, NavItem

    registry.add_nav(NavItem("trial:export_list", _("Exports"), order=75))
    # Last, so that the demo export holds everything the other steps made.
    registry.add_demo_step(DemoStep("export", demo.seed_export, order=200))
