#!/usr/bin/env python3
"""Batched generation side by side: `ppd generate --prompts FILE --batch B` for several B on the
same prompts, in alternating rounds (the order rotates per round), reporting replies per second,
generated tokens per second, the speedup over B = 1 (the one-at-a-time path) and whether every
batch size gave every prompt the same tokens.

Usage: Scripts/bench-batch.py [--bench alpaca_eval] [--prompts 32] [--offset 100] [--max-tokens 64]
           [--batches 1,4,8,16,32] [--rounds 2] [--ppd .build/release/ppd]

Prompts: every k-th question of Experiments/data/BENCH/question.jsonl from --offset (k spreads
--prompts over the file), first turn, as "User: {q}\\nAssistant:".
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", default="alpaca_eval")
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--offset", type=int, default=100)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--batches", default="1,4,8,16,32")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--ppd", default=".build/release/ppd")
    args = parser.parse_args()
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    with open(os.path.join(root, "Experiments", "data", args.bench, "question.jsonl")) as f:
        questions = [json.loads(line)["turns"][0] for line in f if line.strip()]
    step = max(1, (len(questions) - args.offset) // args.prompts)
    chosen = questions[args.offset::step][: args.prompts]
    batches = [int(b) for b in args.batches.split(",")]
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for q in chosen:
            f.write(json.dumps({"prompt": f"User: {q}\nAssistant:"}) + "\n")
        prompt_file = f.name
    seconds = {b: [] for b in batches}
    tokens = {}
    generated = {}
    try:
        for r in range(args.rounds):
            order = batches[r % len(batches):] + batches[: r % len(batches)]
            for b in order:
                start = time.monotonic()
                out = subprocess.run([args.ppd, "generate", "--prompts", prompt_file, "--batch", str(b),
                                      "--max-tokens", str(args.max_tokens)], capture_output=True, text=True)
                elapsed = time.monotonic() - start
                if out.returncode != 0:
                    sys.exit(f"batch {b} failed:\n{out.stderr[-2000:]}")
                lines = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
                replies = {line["index"]: line["tokens"] for line in lines}
                tokens.setdefault(b, replies)
                generated[b] = sum(len(t) for t in replies.values())
                seconds[b].append(elapsed)
                print(f"round {r + 1} batch {b:3d}: {elapsed:6.1f} s, {len(replies) / elapsed:5.2f} replies/s", flush=True)
    finally:
        os.unlink(prompt_file)
    base = statistics.median(seconds[batches[0]])
    print(f"\n{args.prompts} {args.bench} prompts (every {step}th from {args.offset}), {args.max_tokens} tokens, "
          f"{args.rounds} rounds, wall time per run (model load included), {time.strftime('%Y-%m-%d')}:")
    print("batch  seconds  replies/s  tokens/s  x batch %d  same tokens as batch %d" % (batches[0], batches[0]))
    for b in batches:
        s = statistics.median(seconds[b])
        same = all(tokens[b][i] == tokens[batches[0]][i] for i in tokens[batches[0]])
        print(f"{b:5d}  {s:7.1f}  {args.prompts / s:9.2f}  {generated[b] / s:8.1f}  {base / s:9.2f}  {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
