# Two entry points for a fresh machine: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: demo test lint model postgres build bench

# The model download and the build run side by side (-j2): on a fresh machine the build
# is the long part and the download needs no CPU to speak of.
demo:
	$(MAKE) --no-print-directory -j2 model build
	./target/release/vecsync demo

# Everything CI runs: model files, PostgreSQL + pgvector, lints, all tests.
test: model
	scripts/test.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

model:
	scripts/fetch-model.sh

postgres:
	scripts/start-postgres.sh

build:
	$(CARGO) build --release

bench: model
	scripts/bench-local-model.sh
	$(CARGO) bench --bench write_path
	$(CARGO) bench --bench status
	$(CARGO) bench --bench openai_backfill
	$(CARGO) bench --bench serve
	$(CARGO) bench --bench sync_latency
