#!/usr/bin/env bash
# Vendor front-end assets from the npm registry into crates/web/static/vendor/
# so the Rust binary can embed them (no CDN on government intranets).
#
# Usage:  bash scripts/vendor-assets.sh [TMPDIR]
#
#   TMPDIR  optional scratch directory for the downloaded tarballs. If omitted,
#           a fresh one is created with mktemp and removed on exit. A TMPDIR you
#           pass in is left in place.
#
# Needs: bash, node + npm (only the npm registry has to be reachable), tar, sed,
# openssl, base64.
#
# To upgrade a package: change its version below, run the script once. It stops
# with an integrity mismatch and prints the new hash; check the hash with
# `npm view PKG@VERSION dist.integrity`, paste it into the table, run the script
# again, and update crates/web/static/vendor/README.md.
set -euo pipefail

# name | npm package | version | sha512 integrity of the tarball (as in `npm view PKG@VER dist.integrity`)
PACKAGES=(
  "tabler|@tabler/core|1.6.1|sha512-lgmR9gcxRp5JlLxcmRi9Rz85JrEvH6Bz71KnlcPVSa97wtwQNjgSs3g3fxwbAlulHyRMghhIV04QUuW3pqDsIg=="
  "htmx|htmx.org|2.0.11|sha512-Thx/WtpeOQqSrqBCw/A1cwGJGg4UrVa3+sW0GmrM3p4gJgO89ecH4qtbnyzDDWFvBTqjnIMCgELTNt636dtamA=="
  "swagger-ui|swagger-ui-dist|5.35.0|sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ=="
  "echarts|echarts|6.1.0|sha512-q0yaFPggC9FUdsWH4blavRWFmxdrIodbkoKNAjJudAI6CA9gNPxHtV2RcZNEepZVlk4yvBYkOkbk6HIVpIyHZA=="
  "leaflet|leaflet|1.9.4|sha512-nxS1ynzJOmOlHp+iL3FyWqK89GtNL8U8rvlMOsQdTTssxZwCXh8N2NB3GDQOL+YR3XnWyZAxwQixURb+FA74PA=="
)

# Licence texts of third-party code that is bundled inside the files above but
# whose notice the upstream tarball does not carry.
# vendor dir | npm package | version | integrity | file in package | copied as
THIRD_PARTY_LICENCES=(
  # echarts.min.js bundles zrender (echarts 6.1.0 depends on zrender "6.1.0" exactly)
  "echarts|zrender|6.1.0|sha512-oEGMDB6pOP2S6OwRR4PdVv610zrjnA3Bh+JnSG12fYJlBKjtNAoEb5fSUoCOOINlH96I2fU38/A2UpRKs67xYQ==|LICENSE|LICENSE-zrender"
  # tabler.min.js bundles @popperjs/core 2.11.8 (path visible in dist/js/tabler.js)
  "tabler|@popperjs/core|2.11.8|sha512-P1st0aksCrn9sGZhp8GMYwBnQsbvAWsZAX44oXNNvLHGqAOcoVxmjZiohstwQ7SqKnbR47akdNi+uleWD8+g6A==|LICENSE.md|LICENSE-popper"
)

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENDOR="$REPO_ROOT/crates/web/static/vendor"

if [[ $# -ge 1 ]]; then
  TMP="$1"
  mkdir -p "$TMP"
else
  TMP="$(mktemp -d)"
  trap 'rm -rf "$TMP"' EXIT
fi
TMP="$(cd "$TMP" && pwd)"

die() { echo "vendor-assets: $*" >&2; exit 1; }

# fetch NAME PKG VERSION INTEGRITY -> prints path of the unpacked package dir
fetch() {
  local name="$1" pkg="$2" version="$3" integrity="$4" tgz actual
  tgz="$(cd "$TMP" && npm pack --silent "$pkg@$version" | tail -n 1)"
  [[ -f "$TMP/$tgz" ]] || die "npm pack did not produce a tarball for $pkg@$version"
  actual="sha512-$(openssl dgst -sha512 -binary "$TMP/$tgz" | base64 | tr -d '\n')"
  [[ "$actual" == "$integrity" ]] \
    || die "integrity mismatch for $pkg@$version: expected $integrity, got $actual"
  rm -rf "${TMP:?}/$name"
  mkdir -p "$TMP/$name"
  tar -xzf "$TMP/$tgz" -C "$TMP/$name"
  local got
  got="$(node -p 'require(process.argv[1]).version' "$TMP/$name/package/package.json")"
  [[ "$got" == "$version" ]] || die "$pkg: unpacked version '$got' != pinned '$version'"
  echo "$TMP/$name/package"
}

# put SRC DEST: copy one file, creating the directory
put() {
  [[ -f "$1" ]] || die "missing file in package: $1"
  mkdir -p "$(dirname "$2")"
  cp "$1" "$2"
}

# Drop source-map references (we don't ship .map files). Only whole lines are
# removed: `//# sourceMappingURL=...` (JS) and `/*# sourceMappingURL=... */` (CSS).
strip_sourcemaps() {
  sed -i -E \
    -e '/^[[:space:]]*\/\/[#@][[:space:]]*sourceMappingURL=[^[:space:]]*[[:space:]]*$/d' \
    -e '/^[[:space:]]*\/\*[#@][[:space:]]*sourceMappingURL=[^*]*\*\/[[:space:]]*$/d' \
    "$1"
}

# Remove @import rules that pull from the network (http:, https:, protocol-relative),
# e.g. Google Fonts. Works on minified CSS (rule may sit mid-line); the URL itself
# may contain ';' (fonts.googleapis.com/css2?family=X:wght@400;700), so each
# quoting style is matched up to its closing quote/paren.
strip_remote_imports() {
  local R='[[:space:]]*'
  sed -i -E \
    -e "s#@import${R}url\\(${R}\"(https?:)?//[^\"]*\"${R}\\)[^;]*;##g" \
    -e "s#@import${R}url\\(${R}'(https?:)?//[^']*'${R}\\)[^;]*;##g" \
    -e "s#@import${R}url\\(${R}(https?:)?//[^)\"']*\\)[^;]*;##g" \
    -e "s#@import${R}\"(https?:)?//[^\"]*\"[^;]*;##g" \
    -e "s#@import${R}'(https?:)?//[^']*'[^;]*;##g" \
    "$1"
}

rm_vendor_dir() { rm -rf "${VENDOR:?}/$1"; mkdir -p "$VENDOR/$1"; }

for entry in "${PACKAGES[@]}"; do
  IFS='|' read -r name pkg version integrity <<<"$entry"
  echo "vendor-assets: $pkg@$version -> vendor/$name/" >&2
  src="$(fetch "$name" "$pkg" "$version" "$integrity")"
  out="$VENDOR/$name"
  rm_vendor_dir "$name"

  case "$name" in
    tabler)
      put "$src/dist/css/tabler.min.css" "$out/tabler.min.css"
      put "$src/dist/js/tabler.min.js"   "$out/tabler.min.js"
      strip_remote_imports "$out/tabler.min.css"
      # The npm tarball of @tabler/core has no LICENSE file (only package.json
      # "license": "MIT" and the banner in the dist files). Write the MIT text
      # with the copyright lines taken from the CSS banner.
      copyright="$(sed -n 's/^ *\* *\(Copyright .*\)$/\1/p' "$out/tabler.min.css" | head -n 2)"
      [[ -n "$copyright" ]] || die "tabler: no copyright line found in tabler.min.css banner"
      [[ "$(node -p 'require(process.argv[1]).license' "$src/package.json")" == "MIT" ]] \
        || die "tabler: package.json licence is no longer MIT"
      {
        echo "The MIT License (MIT)"
        echo
        echo "$copyright"
        cat <<'EOF'

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in
all copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN
THE SOFTWARE.

(Generated by scripts/vendor-assets.sh: the @tabler/core npm package ships no
LICENSE file; its package.json declares "MIT" and the dist banners read
"Licensed under MIT (https://github.com/tabler/tabler/blob/master/LICENSE)".)
EOF
      } >"$out/LICENSE"
      ;;
    htmx)
      put "$src/dist/htmx.min.js" "$out/htmx.min.js"
      put "$src/LICENSE"          "$out/LICENSE"
      ;;
    swagger-ui)
      put "$src/swagger-ui.css"       "$out/swagger-ui.css"
      put "$src/swagger-ui-bundle.js" "$out/swagger-ui-bundle.js"
      put "$src/LICENSE"              "$out/LICENSE"
      # Apache-2.0 §4(d): redistribute NOTICE. The bundle's first line points to
      # the third-party licence file next to it.
      put "$src/NOTICE"                          "$out/NOTICE"
      put "$src/swagger-ui-bundle.js.LICENSE.txt" "$out/swagger-ui-bundle.js.LICENSE.txt"
      ;;
    echarts)
      put "$src/dist/echarts.min.js" "$out/echarts.min.js"
      put "$src/LICENSE"             "$out/LICENSE"
      # Apache-2.0 §4(d) NOTICE, and the d3 (BSD-3-Clause) licence that LICENSE refers to.
      put "$src/NOTICE"              "$out/NOTICE"
      put "$src/licenses/LICENSE-d3" "$out/LICENSE-d3"
      ;;
    leaflet)
      put "$src/dist/leaflet.js"  "$out/leaflet.js"
      put "$src/dist/leaflet.css" "$out/leaflet.css"
      put "$src/LICENSE"          "$out/LICENSE"
      shopt -s nullglob
      pngs=("$src"/dist/images/*.png)
      shopt -u nullglob
      [[ ${#pngs[@]} -gt 0 ]] || die "leaflet: no dist/images/*.png"
      mkdir -p "$out/images"
      cp "${pngs[@]}" "$out/images/"
      ;;
    *) die "no copy rule for $name" ;;
  esac

  while IFS= read -r -d '' f; do
    strip_sourcemaps "$f"
  done < <(find "$out" -type f \( -name '*.js' -o -name '*.css' \) -print0)
done

for entry in "${THIRD_PARTY_LICENCES[@]}"; do
  IFS='|' read -r name pkg version integrity file dest <<<"$entry"
  echo "vendor-assets: licence of $pkg@$version -> vendor/$name/$dest" >&2
  src="$(fetch "3rdparty-${pkg//\//_}" "$pkg" "$version" "$integrity")"
  put "$src/$file" "$VENDOR/$name/$dest"
done

# ---- checks -----------------------------------------------------------------
if grep -rl 'sourceMappingURL=' "$VENDOR" --include='*.js' --include='*.css' \
     | xargs -r grep -lE '^[[:space:]]*(//|/\*)[#@][[:space:]]*sourceMappingURL=' ; then
  die "a sourceMappingURL line survived in the files above"
fi
if grep -lE '@import|url\([[:space:]]*["'"'"']?(https?:)?//' "$VENDOR"/*/*.css; then
  die "a vendored stylesheet still has an @import or a remote url() (files above)"
fi
for entry in "${PACKAGES[@]}"; do
  IFS='|' read -r name _ _ _ <<<"$entry"
  [[ -s "$VENDOR/$name/LICENSE" ]] || die "vendor/$name/LICENSE missing"
done

echo "vendor-assets: done. Files:" >&2
(cd "$VENDOR" && find . -type f ! -name README.md | sort | while read -r f; do
  printf '%10s  %s\n' "$(wc -c <"$f")" "${f#./}"
done) >&2
