#!/usr/bin/env python3
"""Drafters side by side: plain decoding, PPD, prompt lookup, PPD + prompt lookup (and, when
given, llama.cpp's `llama-lookup`), alternating on one benchmark's questions.

Usage: Scripts/compare-drafters.py [--bench mt_bench] [--questions 8] [--offset 0] [--rounds 2]
           [--max-tokens 96] [--llama-lookup PATH] [--config NAME='FLAGS' ...]

Questions: every k-th of Experiments/data/BENCH/question.jsonl starting at --offset (k spreads
--questions over the file), first turn, in the template "User: {q}\\nAssistant:" (HumanEval: the
code prompt itself). Each round runs every configuration once per question, in an order that
rotates with the question and the round, so noise on this shared machine hits all of them alike. Prints per question the median decode tokens/s
of each configuration and whether its tokens equal plain decoding's, then the median over
questions, tau and the ratio to plain (the per-question median of ratios). Configurations
default to plain, --ppd, --ppd --tree none --lookup, --ppd --lookup; --config replaces them.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

DEFAULT_CONFIGS = [
    ("plain", ""),
    ("ppd", "--ppd"),
    ("lookup", "--ppd --tree none --lookup"),
    ("ppd+lookup", "--ppd --lookup"),
]


def ours(binary, prompt, max_tokens, flags):
    command = [binary, "generate", "--prompt", prompt, "--max-tokens", str(max_tokens), "--json"] + flags
    out = subprocess.run(command, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{out.stderr[-2000:]}")
    report = json.loads(out.stdout)
    return report["decode_tokens_per_second"], report.get("mean_accepted_length", 1.0), report["tokens"]


def llama_lookup(binary, model, prompt, max_tokens, draft, threads):
    env = dict(os.environ, LD_LIBRARY_PATH=os.path.dirname(os.path.abspath(binary)))
    command = [binary, "-m", model, "-t", str(threads), "-p", prompt, "-n", str(max_tokens), "--temp", "0",
               "--spec-draft-n-max", str(draft)]
    out = subprocess.run(command, capture_output=True, text=True, env=env)
    speed = re.search(r"decoded\s+\d+ tokens in\s+[\d.]+ seconds, speed:\s+([\d.]+) t/s", out.stderr)
    if out.returncode != 0 or not speed:
        sys.exit(f"failed: {' '.join(command)}\n{out.stderr[-2000:]}")
    return float(speed.group(1)), float("nan"), None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ppd-binary", default=".build/release/ppd")
    parser.add_argument("--model", default=os.environ.get("PPD_MODEL", os.path.expanduser("~/.cache/ppd/gemma-3-270m-q4_k_m.gguf")))
    parser.add_argument("--bench", default="mt_bench", choices=["mt_bench", "alpaca_eval", "humaneval", "gsm8k"])
    parser.add_argument("--questions", type=int, default=8)
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--llama-lookup", help="path to llama.cpp's llama-lookup binary (a peer, not built here)")
    parser.add_argument("--lookup-draft", type=int, default=3, help="llama-lookup's --spec-draft-n-max")
    parser.add_argument("--config", action="append", default=[], help="NAME='FLAGS' (repeatable)")
    args = parser.parse_args()

    configs = [tuple(c.split("=", 1)) for c in args.config] if args.config else list(DEFAULT_CONFIGS)
    if any(len(c) != 2 for c in configs):
        sys.exit("--config takes NAME='FLAGS'")
    if configs[0][1].strip():
        configs.insert(0, ("plain", ""))
    names = [name for name, _ in configs] + (["llama-lookup"] if args.llama_lookup else [])
    questions = [json.loads(line) for line in open(f"Experiments/data/{args.bench}/question.jsonl")]
    step = max(1, len(questions) // args.questions)
    questions = questions[args.offset::step][: args.questions]
    threads = ["--threads", str(args.threads)]

    print(f"bench {args.bench}, {len(questions)} questions (every {step}th from {args.offset}), {args.rounds} alternating rounds, "
          f"{args.max_tokens} tokens, {args.threads} threads; configurations: "
          + "; ".join(f"{n} = '{f}'" for n, f in configs) + (f"; llama-lookup --spec-draft-n-max {args.lookup_draft}" if args.llama_lookup else ""))
    speeds = {n: [] for n in names}
    taus = {n: [] for n in names}
    equal = {n: 0 for n in names}
    started = time.time()
    for index, question in enumerate(questions):
        text = question["turns"][0]
        prompt = text if args.bench == "humaneval" else f"User: {text}\nAssistant:"
        runs = {n: [] for n in names}
        tokens = {}
        for round_index in range(args.rounds):
            # The order rotates with the question and the round, so no configuration always runs
            # right after the same other one (a fixed order measured a few percent of bias).
            shift = (index + round_index) % len(configs)
            for name, flags in configs[shift:] + configs[:shift]:
                speed, tau, toks = ours(args.ppd_binary, prompt, args.max_tokens, flags.split() + threads)
                runs[name].append((speed, tau))
                tokens[name] = toks
            if args.llama_lookup:
                runs["llama-lookup"].append(llama_lookup(args.llama_lookup, args.model, prompt, args.max_tokens, args.lookup_draft, args.threads)[:2])
        for name in names:
            speeds[name].append(statistics.median(s for s, _ in runs[name]))
            taus[name].append(statistics.median(t for _, t in runs[name]))
            if tokens.get(name) == tokens["plain"]:
                equal[name] += 1
        elapsed = time.time() - started
        eta = elapsed / (index + 1) * (len(questions) - index - 1)
        row = ", ".join(f"{n} {speeds[n][-1]:.1f}" + ("" if n == "plain" or n not in tokens or tokens[n] == tokens["plain"] else " (DIFFERS)") for n in names)
        print(f"[{index + 1}/{len(questions)}, {elapsed:.0f} s, ETA {eta:.0f} s] q{question['question_id']}: {row} tok/s", flush=True)
    print(f"\nmedian over {len(questions)} questions ({args.bench}, {time.strftime('%Y-%m-%d')}):")
    print(f"{'configuration':<14} {'tok/s':>7} {'tau':>6} {'x plain':>8}  identical to plain")
    for name in names:
        ratio = statistics.median(s / p for s, p in zip(speeds[name], speeds["plain"]))
        same = "-" if name == "llama-lookup" else f"{equal[name]}/{len(questions)}"
        print(f"{name:<14} {statistics.median(speeds[name]):7.1f} {statistics.median(taus[name]):6.2f} {ratio:8.2f}  {same}")


if __name__ == "__main__":
    main()
