#!/usr/bin/env bash
# Refresh static/vendor from the npm registry at the versions pinned in package.json.
# The copied files are committed, so running the app never needs npm or the network.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
version() { python3 -c "import json;print(json.load(open('package.json'))['dependencies']['$1'])"; }
fetch() { (cd "$tmp" && npm pack --silent "$1@$(cd - >/dev/null; version "$1")" >/dev/null && tar xzf ./*.tgz && mv package "$1" && rm ./*.tgz); }
fetch bootstrap
fetch chart.js
mkdir -p static/vendor/bootstrap static/vendor/chartjs
cp "$tmp/bootstrap/dist/css/bootstrap.min.css" "$tmp/bootstrap/dist/css/bootstrap.min.css.map" static/vendor/bootstrap/
cp "$tmp/bootstrap/dist/js/bootstrap.bundle.min.js" "$tmp/bootstrap/dist/js/bootstrap.bundle.min.js.map" static/vendor/bootstrap/
cp "$tmp/bootstrap/LICENSE" static/vendor/bootstrap/LICENSE
cp "$tmp/chart.js/dist/chart.umd.min.js" static/vendor/chartjs/ 2>/dev/null || cp "$tmp/chart.js/dist/chart.umd.js" static/vendor/chartjs/chart.umd.min.js
cp "$tmp/chart.js/LICENSE.md" static/vendor/chartjs/LICENSE.md
echo "static/vendor refreshed"
