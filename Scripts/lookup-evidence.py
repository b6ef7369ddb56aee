#!/usr/bin/env python3
"""Prompt lookup's drafts by the length of the n-gram they matched, offline: the greedy reply of
each question is generated once with prompt lookup alone (`ppd generate --ppd --tree none`; greedy,
so it is plain decoding's reply), and the drafter is replayed over it in Python (the library's
rule: n from 3 down to 1, the most recent earlier occurrence, up to --lookup-length tokens). The
replay is checked against the steps the run reported. Prints, per benchmark and matched n-gram
length (0: no match), the share of steps, the mean accepted draft tokens and how often a draft
had none accepted.

Usage: Scripts/lookup-evidence.py [--ppd .build/release/ppd] [--questions 12] [--offset 1]
           [--max-tokens 96] [--lookup-length 6]
"""
import argparse
import collections
import json
import os
import subprocess
import sys

BENCHES = ["mt_bench", "alpaca_eval", "humaneval", "gsm8k"]


def run(args):
    try:
        return subprocess.run(args, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        sys.exit(f"lookup-evidence: `{' '.join(args[:2])} ...` failed: {getattr(error, 'stderr', '') or error}")


def draft(seq, length, sizes=(3, 2, 1)):
    count = len(seq)
    for n in sizes:
        if n >= count:
            continue
        tail = seq[count - n:]
        for end in range(count - 1, n - 1, -1):
            if seq[end - n:end] == tail:
                return n, seq[end:end + min(length, count - end)]
    return 0, []


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ppd", default=".build/release/ppd")
    parser.add_argument("--model", default=os.path.expanduser("~/.cache/ppd/gemma-3-270m-q4_k_m.gguf"))
    parser.add_argument("--questions", type=int, default=12)
    parser.add_argument("--offset", type=int, default=1)
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--lookup-length", type=int, default=6)
    args = parser.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    for bench in BENCHES:
        path = os.path.join(here, "..", "..", "shared", "datasets", bench, "question.jsonl")
        if not os.path.exists(path):
            sys.exit(f"lookup-evidence: no question file at {path}")
        questions = [json.loads(line) for line in open(path)]
        step = max(1, len(questions) // args.questions)
        stats = collections.defaultdict(list)
        for i in range(args.questions):
            text = questions[(args.offset + i * step) % len(questions)]["turns"][0]
            prompt = text if bench == "humaneval" else f"User: {text}\nAssistant:"
            ids = [int(t) for t in run([args.ppd, "tokenize", args.model, prompt, "--ids-only"]).split()]
            result = json.loads(run([args.ppd, "generate", "--model", args.model, "--ppd", "--tree", "none",
                                     "--lookup-length", str(args.lookup_length), "--prompt", prompt,
                                     "--max-tokens", str(args.max_tokens), "--json"]))
            tokens, replayed, position = result["tokens"], [], 1
            while position < len(tokens):
                n, continuation = draft(ids + tokens[:position], args.lookup_length)
                accepted = 0
                while accepted < len(continuation) and position + accepted < len(tokens) \
                        and continuation[accepted] == tokens[position + accepted]:
                    accepted += 1
                stats[n].append(accepted)
                replayed.append(accepted + 1)
                position += accepted + 1
            reported = result["step_tokens"]
            if replayed[:len(reported) - 1] != reported[:len(reported) - 1]:
                sys.exit(f"lookup-evidence: the replay of {bench} question {i} differs from the run's steps")
        total = sum(len(v) for v in stats.values())
        print(f"{bench}: {total} steps")
        for n in sorted(stats):
            v = stats[n]
            print(f"  n-gram {n}: share {len(v) / total:.2f}  mean accepted {sum(v) / len(v):.2f}"
                  f"  none accepted {sum(1 for a in v if a == 0) / len(v):.2f}")


if __name__ == "__main__":
    main()
