#!/usr/bin/env bash
# Peak resident memory side by side: plain `ppd generate`, `ppd generate --ppd`, the float32
# arithmetic, and llama.cpp's `llama-simple` on the same GGUF and prompt, in alternating rounds
# (`/usr/bin/time -f %M`). Prints each run and the median of each command in "MB" meaning
# 1000 KiB (the KiB /usr/bin/time reports, divided by 1000: the unit of every peak-RSS figure in
# README.md and Experiments/README.md).
#
#   Scripts/compare-memory.sh PATH/TO/llama-simple [ROUNDS=3] [TOKENS=32]
#
# llama-simple is not part of this repository: ../shared/tools/build-llama-cpp.sh builds it.
set -euo pipefail
llama_simple="${1:?usage: $0 PATH/TO/llama-simple [ROUNDS] [TOKENS]}"
rounds="${2:-3}"
tokens="${3:-32}"
model="${PPD_MODEL:-$HOME/.cache/ppd/gemma-3-270m-q4_k_m.gguf}"
prompt="${PPD_PROMPT:-Write a short note to a colleague explaining why the meeting moved to Thursday.}"
cd "$(dirname "$0")/.."
swift build -c release --product ppd >/dev/null 2>&1
ppd=.build/release/ppd
export LD_LIBRARY_PATH="$(dirname "$llama_simple")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

names=("ppd generate" "ppd generate --ppd" "ppd generate --arithmetic float32" "llama-simple")
commands=(
  "$ppd generate --model $model --max-tokens $tokens --prompt"
  "$ppd generate --model $model --ppd --max-tokens $tokens --prompt"
  "$ppd generate --model $model --arithmetic float32 --max-tokens $tokens --prompt"
  "$llama_simple -m $model -n $tokens"
)
declare -A results
measured="$(mktemp)"
trap 'rm -f "$measured"' EXIT
for round in $(seq 1 "$rounds"); do
  for i in "${!commands[@]}"; do
    /usr/bin/time -f "%M" -o "$measured" ${commands[$i]} "$prompt" >/dev/null 2>&1
    kb=$(tail -1 "$measured")
    results[$i]+="$kb "
    printf "round %d  %-36s %8.1f MB\n" "$round" "${names[$i]}" "$(awk -v k="$kb" 'BEGIN {print k / 1000}')"
  done
done
median() { printf '%s\n' $1 | sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
echo "median peak RSS (MB), $rounds rounds, $tokens tokens, $(date -u +%F):"
for i in "${!commands[@]}"; do
  printf "  %-36s %8.1f\n" "${names[$i]}" "$(awk -v k="$(median "${results[$i]}")" 'BEGIN {print k / 1000}')"
done
