#!/usr/bin/env python3
"""PPD vs autoregressive decoding, side by side, on MT-Bench questions.

Usage: Scripts/compare-ppd.py [--ppd-binary .build/release/ppd] [--questions 4] [--rounds 3]
                              [--max-tokens 64] [--template "User: {q}\\nAssistant:"] [-- PPD FLAGS...]

For each question (every tenth of Experiments/data/mt_bench/question.jsonl, first turn, in the
template), runs `ppd generate --json` plain and with `--ppd FLAGS` alternately, `rounds` times,
and prints per question: tau (mean tokens per verification step), median decode tokens/s of each,
their ratio, and whether the greedy outputs are equal; then the medians over all questions.
The same binary, machine and thread count serve both, so the ratio is the comparable number on a
noisy shared machine.
"""
import argparse
import json
import statistics
import subprocess
import sys
import time


def run(binary, prompt, max_tokens, extra):
    command = [binary, "generate", "--prompt", prompt, "--max-tokens", str(max_tokens), "--json"] + extra
    out = subprocess.run(command, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{out.stderr[-2000:]}")
    return json.loads(out.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ppd-binary", default=".build/release/ppd")
    parser.add_argument("--questions", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--template", default="User: {q}\nAssistant:")
    parser.add_argument("--data", default="Experiments/data/mt_bench/question.jsonl")
    parser.add_argument("ppd_flags", nargs="*", help="flags for the PPD runs (after --)")
    args = parser.parse_args()

    questions = [json.loads(line) for line in open(args.data)]
    chosen = questions[:: 10][: args.questions]
    ppd_flags = ["--ppd"] + args.ppd_flags
    taus, ratios, plain_speeds, ppd_speeds = [], [], [], []
    started = time.time()
    print(f"PPD flags: {' '.join(ppd_flags)}; {args.rounds} alternating rounds, {args.max_tokens} tokens, template {args.template!r}")
    for index, question in enumerate(chosen):
        prompt = args.template.format(q=question["turns"][0])
        plain, ppd = [], []
        for _ in range(args.rounds):
            plain.append(run(args.ppd_binary, prompt, args.max_tokens, []))
            ppd.append(run(args.ppd_binary, prompt, args.max_tokens, ppd_flags))
        plain_speed = statistics.median(r["decode_tokens_per_second"] for r in plain)
        ppd_speed = statistics.median(r["decode_tokens_per_second"] for r in ppd)
        tau = ppd[0]["mean_accepted_length"]
        rows = statistics.mean(ppd[0]["step_rows"]) if ppd[0]["step_rows"] else 0
        same = ppd[0]["tokens"] == plain[0]["tokens"]
        taus.append(tau)
        ratios.append(ppd_speed / plain_speed)
        plain_speeds.append(plain_speed)
        ppd_speeds.append(ppd_speed)
        elapsed = time.time() - started
        eta = elapsed / (index + 1) * (len(chosen) - index - 1)
        print(
            f"[{index + 1}/{len(chosen)}, {elapsed:.0f} s, ETA {eta:.0f} s] {question['category']:<10} tau {tau:.2f}, "
            f"rows/step {rows:.1f}, AR {plain_speed:.1f} tok/s, PPD {ppd_speed:.1f} tok/s, ratio {ppd_speed / plain_speed:.2f}, "
            f"same output: {same}", flush=True)
    print(
        f"median over {len(chosen)} questions: tau {statistics.median(taus):.2f}, AR {statistics.median(plain_speeds):.1f} tok/s, "
        f"PPD {statistics.median(ppd_speeds):.1f} tok/s, PPD/AR {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
