#!/usr/bin/env python3
"""Two builds of `ppd` side by side: plain decoding and the default `--ppd` with each binary on
the same benchmark questions, alternating which binary runs first per question and round, so the
noise of a shared machine lands on both alike. Prints the median decode tokens/s of each binary
and configuration, the median of the per-run new/old ratios, and whether every output was the
same across binaries and configurations (greedy: it must be).

Usage: Scripts/ab-binaries.py --old /tmp/ppd-old --new .build/release/ppd [--bench mt_bench]
           [--questions 8] [--offset 9] [--rounds 2] [--max-tokens 96]

Questions: every k-th of ../shared/datasets/BENCH/question.jsonl from --offset (k spreads
--questions over the file), first turn, in the template "User: {q}\\nAssistant:" (HumanEval:
the code prompt itself). Keep an old binary with `cp .build/release/ppd /tmp/ppd-old` before
rebuilding.
"""
import argparse
import json
import os
import statistics
import subprocess

CONFIGS = {"plain": [], "ppd": ["--ppd"]}


def prompts(bench, count, offset):
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "..", "shared", "datasets", bench, "question.jsonl")
    questions = [json.loads(line) for line in open(path)]
    step = max(1, len(questions) // count)
    texts = [questions[(offset + i * step) % len(questions)]["turns"][0] for i in range(count)]
    return [t if bench == "humaneval" else f"User: {t}\nAssistant:" for t in texts]


def generate(binary, prompt, max_tokens, flags):
    out = subprocess.run([binary, "generate", "--prompt", prompt, "--max-tokens", str(max_tokens), "--json"] + flags,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", required=True)
    parser.add_argument("--new", required=True)
    parser.add_argument("--bench", default="mt_bench")
    parser.add_argument("--questions", type=int, default=8)
    parser.add_argument("--offset", type=int, default=9)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=96)
    args = parser.parse_args()
    binaries = {"old": args.old, "new": args.new}
    speeds = {(b, c): [] for b in binaries for c in CONFIGS}
    same = True
    texts = prompts(args.bench, args.questions, args.offset)
    for r in range(args.rounds):
        for i, prompt in enumerate(texts):
            order = ["old", "new"] if (i + r) % 2 == 0 else ["new", "old"]
            tokens = set()
            for config, flags in CONFIGS.items():
                for b in order:
                    result = generate(binaries[b], prompt, args.max_tokens, flags)
                    speeds[(b, config)].append(result["decode_tokens_per_second"])
                    tokens.add(tuple(result["tokens"]))
            same = same and len(tokens) == 1
            print(f"round {r + 1} question {i + 1}/{len(texts)} done", flush=True)
    print(f"{args.questions} {args.bench} questions (offset {args.offset}), {args.max_tokens} tokens, {args.rounds} rounds")
    for config in CONFIGS:
        ratios = [n / o for n, o in zip(speeds[("new", config)], speeds[("old", config)])]
        print(f"{config:6s} old {statistics.median(speeds[('old', config)]):7.1f} tok/s  "
              f"new {statistics.median(speeds[('new', config)]):7.1f} tok/s  new/old median ratio {statistics.median(ratios):.3f}")
    print("all outputs identical across binaries and configs:", same)


if __name__ == "__main__":
    main()
