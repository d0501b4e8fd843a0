#!/usr/bin/env bash
# Texts/s of vecsync's built-in all-MiniLM-L6-v2 (onnxruntime, float32 and int8:
# benches/local_model.rs, the whole embedder: tokenization, batching, pooling) next to
# sentence-transformers (PyTorch, CPU) and to onnxruntime's Python API running the same
# graphs, on the same texts, same threads, same batch size, in one run.
#
# Usage: scripts/bench-local-model.sh   (env: THREADS=2 BATCH=32 JOBS=256 SHORT=2048 REPEAT=3)
# Each side embeds each set REPEAT times and its best run counts (a busy machine
# disturbs best-of-N figures least). The Python sides run in a venv ($BENCH_VENV,
# default target/bench-venv) holding sentence-transformers and onnxruntime, installed
# with pip on first use (torch from the package index brings CUDA libraries: a few GB).
# If sentence-transformers cannot be installed, the torch column is missing and the
# output says so; ratios are then to onnxruntime's Python API.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
THREADS="${THREADS:-2}"
BATCH="${BATCH:-32}"
JOBS="${JOBS:-256}"
SHORT="${SHORT:-2048}"
REPEAT="${REPEAT:-3}"
VENV="${BENCH_VENV:-$root/target/bench-venv}"
ORT_VERSION="1.32.0" # as scripts/fetch-model.sh
bench_args=(--threads "$THREADS" --batch "$BATCH" --jobs "$JOBS" --short "$SHORT" --repeat "$REPEAT")

scripts/fetch-model.sh >&2

# onnxruntime picks its kernels from these at run time (AVX-512 / VNNI int8 dot products).
simd=""
for flag in avx2 avx512f avx512_vnni avx_vnni; do
    if grep -qw "$flag" /proc/cpuinfo 2>/dev/null; then simd+="$flag=yes "; else simd+="$flag=no "; fi
done
cpu="$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')"
echo "CPU: ${cpu:-unknown}, $(nproc) threads; SIMD: $simd" >&2

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

echo "building and running benches/local_model.rs (release)…" >&2
cargo bench --quiet --bench local_model -- "${bench_args[@]}" --dump-texts "$out/texts.json" >&2
for q in none int8; do
    cargo bench --quiet --bench local_model -- "${bench_args[@]}" --quantize "$q" >"$out/vecsync-$q.json"
done

if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import onnxruntime, tokenizers' 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --no-input -q numpy safetensors tokenizers "onnxruntime==$ORT_VERSION" </dev/null >&2
fi
if ! "$VENV/bin/python" -c 'import sentence_transformers' 2>/dev/null; then
    echo "installing sentence-transformers into $VENV (large: torch)…" >&2
    "$VENV/bin/pip" install --no-input -q sentence-transformers </dev/null >&2 ||
        echo "could not install sentence-transformers: no torch baseline" >&2
fi

echo "running the Python sides…" >&2
SIMD="$simd" THREADS="$THREADS" BATCH="$BATCH" REPEAT="$REPEAT" OUT="$out" \
    OMP_NUM_THREADS="$THREADS" MKL_NUM_THREADS="$THREADS" OPENBLAS_NUM_THREADS="$THREADS" \
    "$VENV/bin/python" - <<'EOF'
import importlib.util, json, os, sys, tempfile, time

import numpy as np

sys.dont_write_bytecode = True  # no scripts/__pycache__ from importing the reference script
root = os.getcwd()
model_dir = os.path.join(root, "models/all-MiniLM-L6-v2")
out, threads, batch = os.environ["OUT"], int(os.environ["THREADS"]), int(os.environ["BATCH"])
repeat = int(os.environ["REPEAT"])
texts = json.load(open(os.path.join(out, "texts.json")))


def best_of(encode, ts):
    encode(ts[:batch])  # warm-up
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        encode(ts)
        runs.append(time.perf_counter() - start)
    return {"texts": len(ts), "seconds": min(runs), "runs_seconds": runs, "texts_per_s": len(ts) / min(runs)}


def onnxruntime_side(graph):
    """The graph vecsync runs, through onnxruntime's Python API, batched as vecsync does
    (sorted by length, `batch` texts and at most 4,096 padded tokens per run)."""
    import onnxruntime as ort
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    tok.enable_truncation(256)
    tok.no_padding()
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
    session = ort.InferenceSession(os.path.join(model_dir, graph), so, providers=["CPUExecutionProvider"])

    def encode(ts):
        ids = [e.ids for e in tok.encode_batch(ts)]
        order = sorted(range(len(ts)), key=lambda i: -len(ids[i]))
        out, k = [None] * len(ts), 0
        while k < len(order):
            longest = len(ids[order[k]])
            part = order[k:k + min(batch, max(1, 4096 // longest))]
            k += len(part)
            x = np.zeros((len(part), longest), np.int32)
            mask = np.zeros_like(x)
            for r, i in enumerate(part):
                x[r, :len(ids[i])] = ids[i]
                mask[r, :len(ids[i])] = 1
            h = session.run(None, {"input_ids": x, "attention_mask": mask})[0]
            pooled = (h * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            for r, i in enumerate(part):
                out[i] = pooled[r]
        return out

    return f"onnxruntime {ort.__version__} Python API, {graph}", encode


def torch_side():
    import torch

    torch.set_num_threads(threads)
    spec = importlib.util.spec_from_file_location("ref", os.path.join(root, "scripts/make-reference-vectors.py"))
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    st = ref.sentence_transformer(model_dir, tempfile.mkdtemp())
    name = f"sentence-transformers {__import__('sentence_transformers').__version__} / torch {torch.__version__} (CPU)"
    return name, lambda ts: st.encode(ts, batch_size=batch)


sides = {}
for key, ours in (("vecsync fp32", "none"), ("vecsync int8", "int8")):
    report = json.load(open(os.path.join(out, f"vecsync-{ours}.json")))
    sides[key] = (report["implementation"], report["results"])
for key, make in (("ort-py fp32", lambda: onnxruntime_side("model.onnx")),
                  ("ort-py int8", lambda: onnxruntime_side("model-int8.onnx")), ("torch", torch_side)):
    try:
        name, encode = make()
    except ImportError as e:
        print(f"{key}: not available ({e})", file=sys.stderr)
        continue
    sides[key] = (name, {kind: best_of(encode, ts) for kind, ts in texts.items()})

base = "torch" if "torch" in sides else "ort-py fp32"
print(json.dumps({"threads": threads, "batch_size": batch, "simd": os.environ["SIMD"].split(),
                  "sides": {k: {"implementation": n, "results": r} for k, (n, r) in sides.items()}}, indent=2))
print(f"\n{threads} threads, batch {batch}, best of {repeat}; SIMD: {os.environ['SIMD']}", file=sys.stderr)
for key, (name, _) in sides.items():
    print(f"  {key:<13} {name}", file=sys.stderr)
avg = {kind: sides["vecsync fp32"][1][kind]["avg_tokens"] for kind in texts}
print(f"{'texts/s':<14}" + "".join(f"{kind + f' ({avg[kind]:.0f} tok)':>22}" for kind in texts), file=sys.stderr)
for key, (_, results) in sides.items():
    cells = "".join(f"{results[k]['texts_per_s']:>12.1f} ({results[k]['texts_per_s'] / sides[base][1][k]['texts_per_s']:4.2f}x)"
                    for k in texts)
    print(f"{key:<14}{cells}", file=sys.stderr)
print(f"(ratios to {base})", file=sys.stderr)
EOF
