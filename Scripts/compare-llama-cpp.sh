#!/usr/bin/env bash
# Side-by-side decode speed: our `ppd bench` against llama.cpp's `llama-bench` on the same GGUF,
# same thread count, alternating runs so that both see the same machine load. Prints each
# round and the medians and their ratio.
#
#   Scripts/compare-llama-cpp.sh PATH/TO/llama-bench [ROUNDS=7] [THREADS=2]
#
# llama-bench is not part of this repository: build it from llama.cpp (for example the copy
# vendored in the llama-cpp-python sdist on PyPI), see README.md.
set -euo pipefail
llama_bench="${1:?usage: $0 PATH/TO/llama-bench [ROUNDS] [THREADS]}"
rounds="${2:-7}"
threads="${3:-2}"
model="${PPD_MODEL:-$HOME/.cache/ppd/gemma-3-270m-q4_k_m.gguf}"
cd "$(dirname "$0")/.."
swift build -c release --product ppd >/dev/null
ppd=.build/release/ppd

ours=(); theirs=()
echo "round  ppd_decode_tok/s  llama.cpp_tg64_tok/s"
for i in $(seq 1 "$rounds"); do
  a=$("$ppd" bench "$model" --runs 1 --sizes 1 --context 16 --decode-steps 64 --threads "$threads" 2>/dev/null \
      | awk '/^decode:/ {print $2}')
  b=$("$llama_bench" -m "$model" -t "$threads" -p 0 -n 64 -r 1 -o csv 2>/dev/null | tail -1 \
      | awk -F'","' '{print $(NF-1)}' | tr -d '"')
  ours+=("$a"); theirs+=("$b")
  printf "%5d  %16s  %20s\n" "$i" "$a" "$b"
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
m1=$(median "${ours[@]}"); m2=$(median "${theirs[@]}")
echo "median: ppd $m1 tok/s, llama.cpp $m2 tok/s, ratio $(awk -v a="$m1" -v b="$m2" 'BEGIN {printf "%.2f", a / b}')"
