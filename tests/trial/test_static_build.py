"""The production image's static build: ``collectstatic`` with the production storage.

The Dockerfile runs ``collectstatic`` with DEBUG=0, whose storage (a manifest storage) rewrites
every reference a CSS or JS file makes -- source maps included -- and aborts the build when the
referenced file is missing. These tests run it on a copy of the files git knows, as a clean
checkout would hold them, so a file that exists only in a developer's tree cannot hide the gap.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BASE_DIR, production_env, run, settings_in_process

SOURCE_MAP = re.compile(r"[#@] sourceMappingURL=([^\s*]+)")


def clean_tree(dest: Path) -> Path:
    """Copy the files git tracks (plus new ones it does not ignore) into ``dest``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=BASE_DIR,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = BASE_DIR / name
        if source.is_file() and not source.is_symlink():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def collectstatic(tree: Path) -> subprocess.CompletedProcess:
    # The Dockerfile's own values: only what importing the settings needs.
    env = production_env(SECRET_KEY="build-only", ALLOWED_HOSTS=None, DATABASE_URL=None)
    return run([str(tree / "manage.py"), "collectstatic", "--no-input"], env)


def test_the_production_storage_is_a_manifest_storage():
    # Guards the tests below: with a plain storage, collectstatic would not look at references.
    storages = settings_in_process(["STORAGES"], production_env())["STORAGES"]
    assert "Manifest" in storages["staticfiles"]["BACKEND"]


def test_every_vendored_source_map_reference_names_a_vendored_file():
    vendor = BASE_DIR / "static" / "vendor"
    dangling = []
    for path in [*vendor.rglob("*.js"), *vendor.rglob("*.css")]:
        for name in SOURCE_MAP.findall(path.read_text(encoding="utf-8", errors="replace")):
            if not (path.parent / name).is_file():
                dangling.append(f"{path.relative_to(BASE_DIR)} -> {name}")
    assert dangling == []


@pytest.mark.slow  # compresses every file, about 15 s of CPU
def test_collectstatic_with_the_production_storage_succeeds_on_a_clean_checkout(tmp_path):
    tree = clean_tree(tmp_path / "checkout")
    result = collectstatic(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((tree / "staticfiles" / "staticfiles.json").read_text())["paths"]
    assert "vendor/chartjs/chart.umd.min.js" in manifest
    assert "vendor/chartjs/chart.umd.min.js.map" in manifest


@pytest.mark.slow
def test_collectstatic_fails_when_a_vendored_source_map_is_missing(tmp_path):
    # The failure the test above guards against, shown on purpose.
    tree = clean_tree(tmp_path / "checkout")
    (tree / "static" / "vendor" / "chartjs" / "chart.umd.min.js.map").unlink()
    result = collectstatic(tree)
    assert result.returncode != 0
    assert "chart.umd.min.js.map" in result.stdout + result.stderr
