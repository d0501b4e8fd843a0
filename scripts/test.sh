#!/usr/bin/env bash
# The whole test suite on a fresh machine: model files, a private PostgreSQL + pgvector on
# 127.0.0.1, formatting and lints, then every test. Used by `make test` and `.ci/run`.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/fetch-model.sh
VECSYNC_TEST_DATABASE_URL="$(scripts/start-postgres.sh)"
export VECSYNC_TEST_DATABASE_URL
export VECSYNC_MODEL_DIR="$PWD/models/all-MiniLM-L6-v2"
mkdir -p test-output

cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
# Benches are not run here (`make bench`); tests share two cores, so keep threads modest.
cargo test -- --test-threads "${VECSYNC_TEST_THREADS:-4}"
