"""No application module grows past about 600 lines: a longer one mixes responsibilities and
should be split by them (as trial/access.py and access_matrix.py, or the outcome report's
data, CONSORT flow and tables were). Migrations are generated and exempt."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("trial", "randomization", "questionnaires", "followup")
MAX_LINES = 600


def _application_modules():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            yield path


def _line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_the_scan_sees_every_application():
    seen = {path.relative_to(ROOT).parts[0] for path in _application_modules()}
    assert seen == set(APPS)


def test_the_scan_skips_migrations_only():
    names = {path.relative_to(ROOT).as_posix() for path in _application_modules()}
    assert "trial/access.py" in names
    assert "questionnaires/views/patient.py" in names
    assert not any("/migrations/" in name for name in names)


def test_no_application_module_is_over_600_lines():
    offenders = [
        f"{path.relative_to(ROOT).as_posix()}: {lines} lines"
        for path in _application_modules()
        if (lines := _line_count(path)) > MAX_LINES
    ]
    assert offenders == [], (
        f"Split these modules by responsibility (at most {MAX_LINES} lines each):\n"
        + "\n".join(offenders)
    )
