#!/usr/bin/env bash
# Refresh static/vendor from the npm registry at the versions pinned in package.json.
# The copied files are committed, so running the app never needs npm or the network.
#
# A minified file ends with a `sourceMappingURL` comment naming its .map. The production
# storage (ManifestStaticFilesStorage) rewrites that reference to the hashed name and aborts
# collectstatic -- and so the image build -- when the named file is missing. So each file is
# copied together with its map, and a last pass strips the comment from any vendored file
# whose map is still absent (e.g. a package that stops shipping it).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
version() { python3 -c "import json;print(json.load(open('package.json'))['dependencies']['$1'])"; }
fetch() { (cd "$tmp" && npm pack --silent "$1@$(cd - >/dev/null; version "$1")" >/dev/null && tar xzf ./*.tgz && mv package "$1" && rm ./*.tgz); }
# Copies a file and, when the package ships it, the source map beside it.
with_map() { cp "$1" "$2"; if [ -f "$1.map" ]; then cp "$1.map" "$2"; fi; }
fetch bootstrap
fetch chart.js
mkdir -p static/vendor/bootstrap static/vendor/chartjs
with_map "$tmp/bootstrap/dist/css/bootstrap.min.css" static/vendor/bootstrap/
with_map "$tmp/bootstrap/dist/js/bootstrap.bundle.min.js" static/vendor/bootstrap/
cp "$tmp/bootstrap/LICENSE" static/vendor/bootstrap/LICENSE
with_map "$tmp/chart.js/dist/chart.umd.min.js" static/vendor/chartjs/
cp "$tmp/chart.js/LICENSE.md" static/vendor/chartjs/LICENSE.md

# Strip dangling source-map references (see above); map files themselves are not rewritten.
find static/vendor -type f \( -name '*.js' -o -name '*.css' \) -print0 |
  while IFS= read -r -d '' file; do
    map=$(grep -oE 'sourceMappingURL=[^ *]+' "$file" | tail -1 | cut -d= -f2- || true)
    if [ -n "$map" ] && [ ! -f "$(dirname "$file")/$map" ]; then
      echo "stripping the reference to the missing $map from $file"
      sed -i -E '/^\/[*\/]# sourceMappingURL=/d' "$file"
    fi
  done
echo "static/vendor refreshed"
