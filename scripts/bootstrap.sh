#!/usr/bin/env bash
# Create .venv with Python 3.11 and install the pinned requirements, only when they changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
if ! command -v "$PY" >/dev/null 2>&1; then
  PY=python3
fi
if ! "$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "VERTEBRA needs Python 3.11 (found: $("$PY" --version 2>&1)). Set PYTHON=/path/to/python3.11." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "==> installing requirements into .venv"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r requirements-dev.txt
  echo "$want" > "$stamp"
fi
# A developer checkout runs manage.py in development mode; production passes real variables
# (and .dockerignore keeps this file out of the image).
if [ ! -f .env ]; then
  printf '# Written by scripts/bootstrap.sh for local development. Never deploy this file.\nDEBUG=1\n' > .env
fi
# WeasyPrint needs Pango from the system.
if ! ldconfig -p 2>/dev/null | grep -q 'libpango-1.0.so'; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing Pango for WeasyPrint (apt-get)"
    apt-get update -qq && apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core >/dev/null
  else
    echo "WeasyPrint needs Pango: run 'sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0'." >&2
    exit 1
  fi
fi
# Translations are compiled from the committed .po files.
if command -v msgfmt >/dev/null 2>&1; then
  for po in locale/*/LC_MESSAGES/*.po; do
    [ -e "$po" ] || continue
    mo="${po%.po}.mo"
    if [ ! -f "$mo" ] || [ "$po" -nt "$mo" ]; then msgfmt --check -o "$mo" "$po"; fi
  done
else
  echo "msgfmt (Debian package gettext) is missing: the interface will be English only." >&2
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq gettext >/dev/null && exec "$0" "$@"
  fi
fi
