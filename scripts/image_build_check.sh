#!/usr/bin/env bash
# The production image's build steps that need no Docker engine, run by scripts/test.sh so that
# a change breaking `docker build` fails `make test`. They run in a copy of the files git knows
# (tracked, plus new files not ignored): what a clean checkout holds, without the developer's
# .env, staticfiles/ or compiled messages, which would hide a missing file.
#   1. collectstatic with the production storage (DEBUG=0: hashed, compressed, manifest),
#   2. compilemessages, both exactly as the Dockerfile runs them;
#   3. check --deploy under a production-like environment, failing on warnings too.
set -euo pipefail
cd "$(dirname "$0")/.."
PYBIN=$PWD/.venv/bin/python
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\0' "$f"; done |
  xargs -0 cp --parents -t "$tree"
cd "$tree"
# Only PATH and HOME: nothing the test process or a developer's shell set may leak in.
build() { env -i PATH="$PATH" HOME="$tree" SECRET_KEY=build-only DEBUG=0 "$PYBIN" manage.py "$@"; }
build collectstatic --no-input >/dev/null
build compilemessages --ignore '.venv/*' >/dev/null
secret=$("$PYBIN" -c 'import secrets; print(secrets.token_urlsafe(50))')
env -i PATH="$PATH" HOME="$tree" SECRET_KEY="$secret" DEBUG=0 ALLOWED_HOSTS=vertebra.example.dk \
  "$PYBIN" manage.py check --deploy --fail-level WARNING
echo "image build steps: collectstatic, compilemessages and check --deploy passed"
