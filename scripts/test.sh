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
cargo test --workspace --locked
