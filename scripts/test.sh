#!/usr/bin/env bash
# The test command (make test; .ci/run calls it). In order:
#   1. install what the tests need (virtualenv, Chromium for the browser tests);
#   2. ruff, the import contracts, mypy, and a check that no model change lacks its migration;
#   3. the production image's build steps that need no Docker engine (collectstatic with the
#      production storage, compilemessages, check --deploy) on a clean copy of the tree;
#   4. the fast suite on SQLite;
#   5. the whole suite on PostgreSQL (locking, concurrency, Celery worker, browser).
# PostgreSQL is expected at 127.0.0.1:5432 (user postgres, trust). Without it the script tries
# to start a throwaway cluster from Debian's postgresql package, and otherwise says loudly that
# the PostgreSQL suite was skipped and fails, so that a green run always means both suites ran.
# Redis, likewise, is expected at 127.0.0.1:6379 (or TEST_REDIS_URL); without it
# scripts/ensure_redis.sh starts a throwaway one, and the run fails loudly if it cannot.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
PYBIN=.venv/bin/python

banner() { printf '\n==== %s ====\n' "$*"; }

# Chromium for Playwright (playwright install cannot download browsers here), and poppler's
# pdfinfo/pdftotext, with which the tests read the PDFs back.
# redis-server too: a test starts its own to check the throwaway Redis below.
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/pdfinfo ] || ! command -v redis-server >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    banner "installing Debian's chromium, poppler-utils and redis-server for the tests"
    apt-get update -qq && apt-get install -y -qq chromium poppler-utils redis-server >/dev/null
  else
    echo "The tests need Debian's chromium, poppler-utils and redis-server:" >&2
    echo "  sudo apt-get install chromium poppler-utils redis-server" >&2
    exit 1
  fi
fi

banner "ruff"
$PYBIN -m ruff check .
$PYBIN -m ruff format --check .

banner "import contracts (pyproject.toml [tool.importlinter])"
.venv/bin/lint-imports

# Types (django-stubs; [tool.mypy] in pyproject.toml): every app at zero errors, kept there.
banner "mypy"
.venv/bin/mypy trial randomization questionnaires followup

banner "migrations are complete"
DEBUG=1 $PYBIN manage.py makemigrations --check --dry-run

banner "production image build steps"
bash scripts/image_build_check.sh

banner "Redis for the worker and throttle tests"
TEST_REDIS_URL=$(bash scripts/ensure_redis.sh)
export TEST_REDIS_URL
echo "using $TEST_REDIS_URL"

JOBS=${TEST_JOBS:-2}

banner "fast suite on SQLite"
DATABASE_URL="sqlite:///$(mktemp -d)/test.sqlite3" \
  $PYBIN -m pytest -q -n "$JOBS" -m "not postgres and not browser and not celery_worker and not slow" -p no:cacheprovider

PG_URL=${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
pg_up() { $PYBIN - "$PG_URL" <<'PY'
import sys, psycopg2
try:
    psycopg2.connect(sys.argv[1].replace("postgres://", "postgresql://"), connect_timeout=3).close()
except Exception as exc:
    print(f"PostgreSQL not reachable: {exc}".strip())
    sys.exit(1)
PY
}
if ! pg_up; then
  banner "starting a throwaway PostgreSQL"
  bash scripts/throwaway_postgres.sh && PG_URL=$(cat .pg-throwaway/url) || true
fi
if ! pg_up; then
  cat >&2 <<'MSG'

!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
!!  PostgreSQL is not reachable and none could be started: the PostgreSQL suite    !!
!!  (locking, concurrency, Celery worker, browser tests) was SKIPPED.              !!
!!  Install Debian's postgresql package or set TEST_POSTGRES_URL.                   !!
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
MSG
  exit 1
fi

banner "whole suite on PostgreSQL"
DATABASE_URL="$PG_URL" $PYBIN -m pytest -q -n "$JOBS" -p no:cacheprovider
