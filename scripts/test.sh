#!/usr/bin/env bash
# The whole test suite. Set TEST_DATABASE_URL=postgres://… to run it against PostgreSQL;
# without it every store and HTTP test runs on temporary SQLite files.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
engine="sqlite"
case "${TEST_DATABASE_URL:-}" in postgres*) engine="postgres" ;; esac
echo "running the test suite on $engine"
# The S3 attachment test runs against moto (a local S3-compatible server) when moto_server is on
# PATH, and is skipped with a note otherwise. Install it when missing — into a private virtualenv,
# which works where the system Python refuses pip (PEP 668). A failed install (no network, no
# Python) must not stop the rest of the suite.
moto_venv="${XDG_CACHE_HOME:-$HOME/.cache}/linli-moto"
export PATH="$moto_venv/bin:$PATH"
if ! command -v moto_server >/dev/null 2>&1; then
  if command -v python3 >/dev/null 2>&1 &&
    { [ -x "$moto_venv/bin/pip" ] || python3 -m venv "$moto_venv"; } &&
    "$moto_venv/bin/pip" install --quiet --disable-pip-version-check 'moto[server]'; then
    echo "installed moto for the S3 attachment test"
  else
    echo "WARNING: could not install moto[server]; the S3 attachment test will be skipped" >&2
  fi
fi
# The Open311 conformance suite drives the real third-party client `georeport` (PyPI) against a
# live server; it runs with the Python of a private virtualenv, installed here the same way. The
# test is skipped with a note when the client is missing, unless LINLI_REQUIRE_GEOREPORT=1 (CI).
georeport_venv="${XDG_CACHE_HOME:-$HOME/.cache}/linli-georeport"
if ! "$georeport_venv/bin/python" -c 'import georeport' >/dev/null 2>&1; then
  if command -v python3 >/dev/null 2>&1 &&
    { [ -x "$georeport_venv/bin/pip" ] || python3 -m venv "$georeport_venv"; } &&
    "$georeport_venv/bin/pip" install --quiet --disable-pip-version-check 'georeport==0.3.1'; then
    echo "installed georeport for the Open311 client check"
  else
    echo "WARNING: could not install georeport; the Open311 client check will be skipped" >&2
  fi
fi
if [ -x "$georeport_venv/bin/python" ]; then
  export LINLI_GEOREPORT_PYTHON="$georeport_venv/bin/python"
fi
# The resident portal's browser test drives Debian's Chromium through playwright-core (npm) on a
# phone-sized viewport. Install both when missing (Chromium only where apt may be used); the
# test is skipped with a note when they are missing, unless LINLI_REQUIRE_BROWSER=1 (CI).
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null 2>&1; }; then
    echo "installed chromium for the portal browser test"
  else
    echo "WARNING: could not install chromium; the portal browser test will be skipped" >&2
  fi
fi
playwright_dir="${XDG_CACHE_HOME:-$HOME/.cache}/linli-playwright"
if [ ! -d "$playwright_dir/node_modules/playwright-core" ] && command -v npm >/dev/null 2>&1; then
  mkdir -p "$playwright_dir"
  if (cd "$playwright_dir" && { [ -f package.json ] || echo '{"private":true}' >package.json; } &&
    npm install --silent --no-audit --no-fund playwright-core@1 >/dev/null 2>&1); then
    echo "installed playwright-core for the portal browser test"
  else
    echo "WARNING: could not install playwright-core; the portal browser test will be skipped" >&2
  fi
fi
export LINLI_PLAYWRIGHT_DIR="$playwright_dir"
cargo test --workspace --locked
