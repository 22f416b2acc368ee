#!/usr/bin/env bash
# Make sure the tests have a Redis, and print its URL (without a database: each test picks its
# own). Used by scripts/test.sh, which exports the URL as TEST_REDIS_URL.
#
# The Redis at TEST_REDIS_URL (default redis://127.0.0.1:6379) is used when it answers.
# Otherwise a private one is started from Debian's redis-server package (installed with
# apt-get when missing and root) on TEST_REDIS_PORT (default 56379), without persistence, and
# left running for the next run, like scripts/throwaway_postgres.sh. When neither answers the
# script fails loudly: the worker and throttle tests must never be silently left out.
set -euo pipefail
cd "$(dirname "$0")/.."
url=${TEST_REDIS_URL:-redis://127.0.0.1:6379}
port=${TEST_REDIS_PORT:-56379}
dir=$PWD/.redis-throwaway

up() { .venv/bin/python - "$1" <<'PY'
import sys, redis
try:
    redis.Redis.from_url(sys.argv[1], socket_connect_timeout=2).ping()
except (redis.RedisError, ValueError) as exc:
    print(f"Redis not reachable at {sys.argv[1]}: {exc}", file=sys.stderr)
    sys.exit(1)
PY
}

if up "$url" 2>/dev/null; then echo "$url"; exit 0; fi
throwaway="redis://127.0.0.1:$port"
if ! up "$throwaway" 2>/dev/null; then
  echo "==> no Redis at $url: starting a throwaway one on port $port" >&2
  if ! command -v redis-server >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq >&2 && apt-get install -y -qq redis-server >/dev/null
    fi
  fi
  mkdir -p "$dir"
  # A configuration it refuses makes redis-server exit at once, before daemonizing; only a
  # started one is waited for (redis-cli ships with it and answers faster than Python starts).
  if command -v redis-server >/dev/null &&
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
      --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/log" >&2; then
    for _ in $(seq 50); do
      [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && break
      sleep 0.2
    done
  fi
fi
if ! up "$throwaway"; then
  cat >&2 <<MSG

!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
!!  Redis is not reachable at $url and none could be started on port $port.
!!  The Celery worker and throttle tests need it. Install Debian's redis-server
!!  package (sudo apt-get install redis-server) or set TEST_REDIS_URL.
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
MSG
  exit 1
fi
echo "$throwaway"
