"""How the exports package is wired into the trial app: the export log's models still belong to
the trial app, the Celery tasks keep their names, the registry imports no models (so the models
may import it), and the export benchmark is still found by name."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import CommandError, call_command

from trial import models
from trial.exports import models as export_models


def test_export_log_models_belong_to_the_trial_app():
    assert apps.get_model("trial", "ExportRun") is export_models.ExportRun
    assert export_models.ExportRun._meta.app_label == "trial"
    assert export_models.ExportRun._meta.db_table == "trial_exportrun"
    # trial.models re-exports them, so older imports and the migrations' state agree.
    assert models.ExportRun is export_models.ExportRun
    assert models.ExportFormat is export_models.ExportFormat
    assert models.ExportStatus is export_models.ExportStatus


def test_export_tasks_keep_their_names_for_queued_messages_and_beat():
    from trial.celery import app
    from trial.exports import tasks

    assert tasks.export_render.name == "trial.export_render"
    assert tasks.exports_expire.name == "trial.exports_expire"
    assert settings.CELERY_BEAT_SCHEDULE["exports-expire"]["task"] == "trial.exports_expire"
    assert {"trial.export_render", "trial.exports_expire"} <= set(app.tasks)


def test_the_registry_imports_no_models():
    # A fresh interpreter: in this one every module is loaded already.
    code = (
        "import sys\n"
        "import trial.exports.registry\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('trial.'))\n"
        "assert 'trial.models' not in loaded, loaded\n"
        "assert 'trial.exports.trial_exporters' not in loaded, loaded\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_the_trial_and_treatment_exporters_are_registered_once_wired():
    from trial.exports.registry import exporters

    identifiers = {e.identifier for e in exporters.exporters(identified=True)}
    assert {"participants", "screening_log", "identity", "deaths"} <= identifiers
    assert {"procedures", "procedure_levels", "adverse_events"} <= identifiers


@pytest.mark.parametrize("name", ["exports", "trial"])
def test_the_benchmark_command_finds_the_export_benchmark(name):
    from trial.management.commands.benchmark import ALIASES

    module = importlib.import_module(ALIASES[name])
    assert module.__name__ == "trial.exports.benchmark"
    assert callable(module.run)


def test_the_benchmark_command_refuses_an_unknown_name():
    with pytest.raises(CommandError, match="No installed app"):
        call_command("benchmark", "nosuchapp")
