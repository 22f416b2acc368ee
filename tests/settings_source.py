"""What trial/settings.py reads from the environment, parsed from its source for the tests."""

import re
from pathlib import Path

SETTINGS_SOURCE = (Path(__file__).resolve().parents[1] / "trial" / "settings.py").read_text()
# e.g. env.int("SESSION_IDLE_MINUTES", ...) or env_bool("DEBUG", ...)
READ_BY_SETTINGS = set(
    re.findall(r"env(?:\.\w+|_bool)\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']", SETTINGS_SOURCE)
)
