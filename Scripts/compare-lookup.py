#!/usr/bin/env python3
"""Our `ppd generate --ppd` (default flags) against llama.cpp's `llama-lookup` (prompt-lookup
drafting, training-free), side by side on the MT-Bench questions `compare-ppd.py` uses.

Usage: Scripts/compare-lookup.py PATH/TO/llama-lookup [--questions 8] [--rounds 2] [--max-tokens 96]
                                 [--draft 3] [--threads 2] [-- PPD FLAGS...]

For each question (every tenth of Experiments/data/mt_bench/question.jsonl, first turn, in the
template "User: {q}\\nAssistant:"), runs plain greedy decoding, our PPD and llama-lookup (greedy,
`--spec-draft-n-max DRAFT`) alternately, `rounds` times, and prints the median decode tokens/s
of each per question (llama-lookup's "decoded ... speed" line; its draft acceptance too), then
the medians over the questions and the ratios. llama-lookup is not part of this repository: see
README.md for how to build the llama.cpp peer.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time


def ppd(binary, prompt, max_tokens, extra):
    command = [binary, "generate", "--prompt", prompt, "--max-tokens", str(max_tokens), "--json"] + extra
    out = subprocess.run(command, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{out.stderr[-2000:]}")
    return json.loads(out.stdout)["decode_tokens_per_second"]


def lookup(binary, model, prompt, max_tokens, draft, threads):
    env = dict(os.environ, LD_LIBRARY_PATH=os.path.dirname(os.path.abspath(binary)))
    command = [binary, "-m", model, "-t", str(threads), "-p", prompt, "-n", str(max_tokens), "--temp", "0",
               "--spec-draft-n-max", str(draft)]
    out = subprocess.run(command, capture_output=True, text=True, env=env)
    speed = re.search(r"decoded\s+\d+ tokens in\s+[\d.]+ seconds, speed:\s+([\d.]+) t/s", out.stderr)
    accept = re.search(r"accept\s+=\s+([\d.]+)%", out.stderr)
    if out.returncode != 0 or not speed:
        sys.exit(f"failed: {' '.join(command)}\n{out.stderr[-2000:]}")
    return float(speed.group(1)), float(accept.group(1)) if accept else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("llama_lookup")
    parser.add_argument("--ppd-binary", default=".build/release/ppd")
    parser.add_argument("--model", default=os.environ.get("PPD_MODEL", os.path.expanduser("~/.cache/ppd/gemma-3-270m-q4_k_m.gguf")))
    parser.add_argument("--questions", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--draft", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", default="Experiments/data/mt_bench/question.jsonl")
    parser.add_argument("ppd_flags", nargs="*", help="flags for the PPD runs (after --)")
    args = parser.parse_args()

    questions = [json.loads(line) for line in open(args.data)][::10][: args.questions]
    threads = ["--threads", str(args.threads)]
    medians = {"plain": [], "ppd": [], "lookup": []}
    accepts = []
    started = time.time()
    print(f"PPD flags: --ppd {' '.join(args.ppd_flags)}; llama-lookup --spec-draft-n-max {args.draft}; "
          f"{args.rounds} alternating rounds, {args.max_tokens} tokens, {args.threads} threads")
    for index, question in enumerate(questions):
        prompt = f"User: {question['turns'][0]}\nAssistant:"
        runs = {"plain": [], "ppd": [], "lookup": []}
        for _ in range(args.rounds):
            runs["plain"].append(ppd(args.ppd_binary, prompt, args.max_tokens, threads))
            runs["ppd"].append(ppd(args.ppd_binary, prompt, args.max_tokens, ["--ppd"] + threads + args.ppd_flags))
            speed, accept = lookup(args.llama_lookup, args.model, prompt, args.max_tokens, args.draft, args.threads)
            runs["lookup"].append(speed)
            accepts.append(accept)
        for name in medians:
            medians[name].append(statistics.median(runs[name]))
        elapsed = time.time() - started
        eta = elapsed / (index + 1) * (len(questions) - index - 1)
        print(f"[{index + 1}/{len(questions)}, {elapsed:.0f} s, ETA {eta:.0f} s] {question['category']:<10} "
              f"plain {medians['plain'][-1]:.1f}, ppd {medians['ppd'][-1]:.1f}, llama-lookup {medians['lookup'][-1]:.1f} tok/s "
              f"(accept {accepts[-1]:.0f}%)", flush=True)
    m = {name: statistics.median(values) for name, values in medians.items()}
    ratios = [p / l for p, l in zip(medians["ppd"], medians["lookup"])]
    print(f"median over {len(questions)} questions: plain {m['plain']:.1f}, ppd {m['ppd']:.1f}, llama-lookup {m['lookup']:.1f} tok/s; "
          f"ppd/llama-lookup {statistics.median(ratios):.2f} (per-question median), ppd/plain {m['ppd'] / m['plain']:.2f}")


if __name__ == "__main__":
    main()
