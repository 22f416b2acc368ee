#!/usr/bin/env bash
# The quick start: one command runs the demo trial on the embedded default
# (SQLite, Celery tasks eagerly in-process, e-mail to the console, second factor off).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export DEBUG=1 TRIAL_REQUIRE_2FA=0
unset DATABASE_URL REDIS_URL || true
PORT=${PORT:-8000}
.venv/bin/python manage.py migrate --no-input -v 0
.venv/bin/python manage.py seed_demo
# The nights the demo was not running: statuses and missing contacts catch up before serving;
# from then on the development server runs the periodic jobs itself (trial/scheduler.py).
.venv/bin/python manage.py followup_nightly --catch-up
cat <<MSG

  VERTEBRA demo is running at  http://127.0.0.1:${PORT}/
  Log in with one of the accounts above. Stop with Ctrl-C.

MSG
exec .venv/bin/python manage.py runserver "127.0.0.1:${PORT}"
