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
# Debian packages the tests drive: headless Chromium against the status page
# (tests/it/browser.rs), pgbouncer in transaction mode in front of the test server
# (tests/it/doctor.rs, tests/it/pooler.rs, and TLS for tests/it/tls.rs with a certificate
# made by the openssl CLI; tests/it/common/pgbouncer.rs), and qemu-user to run the local
# model as a CPU without AVX-512 (tests/it/local_model.rs).
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v pgbouncer >/dev/null 2>&1 || [[ -x /usr/sbin/pgbouncer ]] || missing+=(pgbouncer)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v qemu-x86_64 >/dev/null 2>&1 || missing+=(qemu-user)
if ((${#missing[@]})); then
    if [[ $(id -u) == 0 ]]; then
        # A fresh machine may have no package lists yet.
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
    else
        echo "test.sh: the tests need ${missing[*]}: sudo apt-get install -y ${missing[*]}" >&2
    fi
fi
# tests/it/server.rs drives the official `openai` Python client against /v1/embeddings.
python3 -c "import openai" 2>/dev/null || python3 -m pip install --quiet openai

cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
# Benches are not run here (`make bench`); tests share two cores, so keep threads modest.
cargo test --no-fail-fast -- --test-threads "${VECSYNC_TEST_THREADS:-4}"
