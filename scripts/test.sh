#!/usr/bin/env bash
# The whole test suite. Set TEST_DATABASE_URL=postgres://… to run it against PostgreSQL;
# without it every store and HTTP test runs on temporary SQLite files.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
engine="sqlite"
case "${TEST_DATABASE_URL:-}" in postgres*) engine="postgres" ;; esac
echo "running the test suite on $engine"
cargo test --workspace --locked
