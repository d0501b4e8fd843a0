#!/usr/bin/env bash
# Texts/s of vecsync's built-in all-MiniLM-L6-v2 (candle, benches/local_model.rs) next
# to sentence-transformers (PyTorch, CPU) on the same texts, same threads, same batch.
#
# Usage: scripts/bench-local-model.sh   (env: THREADS=2 BATCH=32 JOBS=256 SHORT=2048 REPEAT=3)
# Each side embeds each set REPEAT times and its best run counts (a busy machine
# disturbs best-of-N figures least).
# The baseline runs in a Python venv ($BENCH_VENV, default target/bench-venv) holding
# sentence-transformers, installed with pip on first use (torch pulls a few GB). If it
# cannot be installed, the baseline is the plain numpy forward pass of
# scripts/make-reference-vectors.py, one text at a time, and the output says so.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
THREADS="${THREADS:-2}"
BATCH="${BATCH:-32}"
JOBS="${JOBS:-256}"
SHORT="${SHORT:-2048}"
REPEAT="${REPEAT:-3}"
VENV="${BENCH_VENV:-$root/target/bench-venv}"
bench_args=(--threads "$THREADS" --batch "$BATCH" --jobs "$JOBS" --short "$SHORT" --repeat "$REPEAT")

scripts/fetch-model.sh >&2

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

echo "building and running benches/local_model.rs (release)…" >&2
cargo bench --quiet --bench local_model -- "${bench_args[@]}" --dump-texts "$out/texts.json" >&2
cargo bench --quiet --bench local_model -- "${bench_args[@]}" >"$out/vecsync.json"

baseline="sentence-transformers"
if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import sentence_transformers' 2>/dev/null; then
    echo "installing sentence-transformers into $VENV (large: torch)…" >&2
    if ! { python3 -m venv "$VENV" &&
        "$VENV/bin/pip" install --no-input -q sentence-transformers numpy safetensors tokenizers </dev/null >&2; }; then
        echo "could not install sentence-transformers: falling back to the numpy baseline" >&2
        baseline="numpy"
        python3 -m venv "$VENV" && "$VENV/bin/pip" install --no-input -q numpy safetensors tokenizers </dev/null >&2
    fi
fi

echo "running the $baseline baseline…" >&2
BASELINE="$baseline" THREADS="$THREADS" BATCH="$BATCH" REPEAT="$REPEAT" OUT="$out" \
    OMP_NUM_THREADS="$THREADS" MKL_NUM_THREADS="$THREADS" OPENBLAS_NUM_THREADS="$THREADS" \
    "$VENV/bin/python" - <<'EOF'
import importlib.util, json, os, sys, tempfile, time

sys.dont_write_bytecode = True  # no scripts/__pycache__ from importing the reference script
root = os.getcwd()
spec = importlib.util.spec_from_file_location("ref", os.path.join(root, "scripts/make-reference-vectors.py"))
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)
model_dir = os.path.join(root, "models/all-MiniLM-L6-v2")
out, threads, batch = os.environ["OUT"], int(os.environ["THREADS"]), int(os.environ["BATCH"])
repeat = int(os.environ["REPEAT"])
texts = json.load(open(os.path.join(out, "texts.json")))

if os.environ["BASELINE"] == "sentence-transformers":
    import torch
    torch.set_num_threads(threads)
    work = tempfile.mkdtemp()
    st = ref.sentence_transformer(model_dir, work)
    name = f"sentence-transformers {__import__('sentence_transformers').__version__} / torch {torch.__version__} (CPU)"
    encode = lambda ts: st.encode(ts, batch_size=batch)
else:
    m = ref.NumpyMiniLM(model_dir)
    name = "numpy float64 forward (scripts/make-reference-vectors.py), one text at a time"
    encode = lambda ts: [m.embed(t)[0] for t in ts]

results = {}
for kind, ts in texts.items():
    if os.environ["BASELINE"] == "numpy":
        ts = ts[: max(batch, len(ts) // 16)]  # it is slow: a sample is enough
    encode(ts[:batch])  # warm-up
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        encode(ts)
        runs.append(time.perf_counter() - start)
    results[kind] = {"texts": len(ts), "seconds": min(runs), "runs_seconds": runs,
                     "texts_per_s": len(ts) / min(runs)}

ours = json.load(open(os.path.join(out, "vecsync.json")))
print(json.dumps({"vecsync": ours, "baseline": {"implementation": name, "threads": threads,
                  "batch_size": batch, "results": results}}, indent=2))
print(f"\n{threads} threads, batch {batch}; baseline: {name}", file=sys.stderr)
print(f"{'texts':<8}{'avg tokens':>11}{'vecsync/s':>12}{'baseline/s':>12}{'ratio':>8}", file=sys.stderr)
for kind in texts:
    a = ours["results"][kind]
    b = results[kind]["texts_per_s"]
    print(f"{kind:<8}{a['avg_tokens']:>11.0f}{a['texts_per_s']:>12.1f}{b:>12.1f}"
          f"{a['texts_per_s'] / b:>8.2f}", file=sys.stderr)
EOF
