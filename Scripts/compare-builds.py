#!/usr/bin/env python3
"""Two builds of `ppd` side by side: the same generations with each, alternating, to check that
a change costs no speed.

Usage: Scripts/compare-builds.py OLD_PPD NEW_PPD [--bench mt_bench] [--questions 8] [--offset 1]
           [--rounds 3] [--max-tokens 96] [--flags '--ppd'] [--flags '']

For every question (every k-th from --offset, first turn, "User: {q}\\nAssistant:") and round,
runs each --flags configuration with both builds in an order that rotates; prints per
configuration the median decode tokens/s of each build and the median of the per-question
ratios new / old, and whether both builds gave the same tokens.
"""
import argparse
import json
import statistics
import subprocess
import sys


def run(binary, prompt, max_tokens, flags):
    command = [binary, "generate", "--prompt", prompt, "--max-tokens", str(max_tokens), "--json"] + flags
    out = subprocess.run(command, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{out.stderr[-2000:]}")
    report = json.loads(out.stdout)
    return report["decode_tokens_per_second"], report["tokens"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--bench", default="mt_bench")
    parser.add_argument("--questions", type=int, default=8)
    parser.add_argument("--offset", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--flags", action="append", help="a configuration's flags (repeatable; default: '' and '--ppd')")
    args = parser.parse_args()
    configs = args.flags or ["", "--ppd"]
    questions = [json.loads(line) for line in open(f"Experiments/data/{args.bench}/question.jsonl")]
    step = max(1, len(questions) // args.questions)
    questions = questions[args.offset::step][: args.questions]
    print(f"old {args.old}, new {args.new}; {args.bench}, {len(questions)} questions (every {step}th from {args.offset}), "
          f"{args.rounds} rounds, {args.max_tokens} tokens", flush=True)
    for flags in configs:
        ratios, olds, news, same = [], [], [], 0
        for index, question in enumerate(questions):
            prompt = f"User: {question['turns'][0]}\nAssistant:"
            speeds = {"old": [], "new": []}
            tokens = {}
            for round_index in range(args.rounds):
                order = ["old", "new"] if (index + round_index) % 2 == 0 else ["new", "old"]
                for name in order:
                    speed, toks = run(getattr(args, name), prompt, args.max_tokens, flags.split())
                    speeds[name].append(speed)
                    tokens[name] = toks
            old, new = statistics.median(speeds["old"]), statistics.median(speeds["new"])
            olds.append(old)
            news.append(new)
            ratios.append(new / old)
            same += tokens["old"] == tokens["new"]
            print(f"  '{flags}' q{question['question_id']}: old {old:.1f}, new {new:.1f} tok/s", flush=True)
        print(f"'{flags}': old {statistics.median(olds):.1f}, new {statistics.median(news):.1f} tok/s, "
              f"new / old {statistics.median(ratios):.3f} (median of per-question ratios), same tokens {same}/{len(questions)}", flush=True)


if __name__ == "__main__":
    main()
