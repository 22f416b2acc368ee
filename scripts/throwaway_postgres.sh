#!/usr/bin/env bash
# Start a private PostgreSQL cluster from Debian's postgresql package, for machines where
# no server runs. Writes its URL to .pg-throwaway/url. Used only by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bindir" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
    bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  else
    echo "Debian's postgresql package is not installed." >&2; exit 1
  fi
fi
dir=$PWD/.pg-throwaway
port=55432
mkdir -p "$dir"
run() { if [ "$(id -u)" = 0 ]; then chown -R postgres "$dir"; su postgres -c "$*"; else eval "$*"; fi; }
[ -f "$dir/data/PG_VERSION" ] || run "$bindir/initdb -D $dir/data -U postgres --auth=trust >/dev/null"
run "$bindir/pg_ctl -D $dir/data -o '-p $port -k $dir -c listen_addresses=127.0.0.1' -l $dir/log -w start" >/dev/null
echo "postgres://postgres@127.0.0.1:$port/postgres" > "$dir/url"
