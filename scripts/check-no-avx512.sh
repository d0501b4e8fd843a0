#!/usr/bin/env bash
# Runs the release binary's local model on a CPU without AVX-512 (emulated by
# qemu-user) and checks its vectors against tests/data/reference_vectors.json, float32
# and int8: onnxruntime picks its kernels from the CPU's features at run time, so the
# AVX2 paths are only exercised on such a CPU. Speed is not measured (emulation is
# ~100x slower); an instruction the CPU lacks would show as SIGILL. qemu's TCG has no
# AVX-512 at all, so the CPUID the binary sees never offers it.
#
# Usage: scripts/check-no-avx512.sh   (env: CPU=Haswell, or e.g. EPYC-Rome; TEXTS=6 reference texts;
#        VECSYNC_MODEL_DIR, default models/all-MiniLM-L6-v2; VECSYNC_BIN, default
#        target/release/vecsync, built if missing). Needs qemu-user (Debian: apt-get
#        install qemu-user) and python3.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cpu="${CPU:-Haswell}"
texts="${TEXTS:-6}"
export VECSYNC_MODEL_DIR="${VECSYNC_MODEL_DIR:-$root/models/all-MiniLM-L6-v2}"
bin="${VECSYNC_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/vecsync}"

if ! command -v qemu-x86_64 >/dev/null 2>&1; then
    echo "error: qemu-x86_64 not found: install qemu-user (Debian: apt-get install qemu-user)" >&2
    exit 1
fi
if [[ "$(uname -m)" != x86_64 ]]; then
    echo "error: this check emulates an x86_64 CPU on an x86_64 host, not $(uname -m)" >&2
    exit 1
fi
[[ -x "$bin" ]] || (cd "$root" && cargo build --release --quiet)
"$root/scripts/fetch-model.sh" "$VECSYNC_MODEL_DIR" >&2

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 - "$root/tests/data/reference_vectors.json" "$texts" >"$tmp/texts.txt" <<'EOF'
import json, sys
sys.stdout.reconfigure(newline="\n")
# One text per line on vecsync's stdin: the one-line reference texts.
refs = [r for r in json.load(open(sys.argv[1])) if r["text"] and not set("\r\n") & set(r["text"])]
for r in refs[: int(sys.argv[2])]:
    print(r["text"])
EOF

for quantize in none int8; do
    printf '[embedder]\nquantize = "%s"\nthreads = 2\n' "$quantize" >"$tmp/vecsync.toml"
    start=$SECONDS
    # qemu warns about every CPU feature its emulator lacks (virtualisation features): not ours.
    status=0
    qemu-x86_64 -cpu "$cpu" "$bin" --config "$tmp/vecsync.toml" embed <"$tmp/texts.txt" \
        >"$tmp/vectors-$quantize.jsonl" 2>"$tmp/stderr" || status=$?
    grep -v "^qemu-x86_64: warning: TCG doesn't support requested feature" "$tmp/stderr" >&2 || true
    if [[ $status -ne 0 ]]; then
        echo "error: vecsync embed failed under qemu -cpu $cpu ($quantize), exit status $status" \
            "(132 = SIGILL: an instruction this CPU lacks)" >&2
        exit 1
    fi
    echo "$cpu ($quantize): embedded $(wc -l <"$tmp/texts.txt") texts in $((SECONDS - start)) s under qemu" >&2
    min_cosine=$([[ $quantize == none ]] && echo 0.9999 || echo 0.999)
    python3 - "$root/tests/data/reference_vectors.json" "$tmp/texts.txt" "$tmp/vectors-$quantize.jsonl" \
        "$min_cosine" "$cpu ($quantize)" <<'EOF'
import json, math, sys
refs = {r["text"]: r["vector"] for r in json.load(open(sys.argv[1]))}
texts = open(sys.argv[2], newline="").read().split("\n")[:-1]  # as vecsync splits stdin
vectors = [json.loads(line) for line in open(sys.argv[3])]
assert len(vectors) == len(texts), f"{len(vectors)} vectors for {len(texts)} texts"
def cos(a, b):
    return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))
worst = min((cos(v, refs[t]), t) for t, v in zip(texts, vectors))
print(f"{sys.argv[5]}: min cosine to the reference vectors {worst[0]:.6f} ({worst[1][:40]!r})", file=sys.stderr)
if worst[0] < float(sys.argv[4]):
    sys.exit(f"error: cosine {worst[0]:.6f} < {sys.argv[4]} for {worst[1]!r}")
EOF
done
echo "ok: the local model runs without AVX-512 ($cpu) and matches the reference vectors" >&2
