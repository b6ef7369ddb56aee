#!/usr/bin/env python3
"""PPD against plain decoding through a running `ppd serve`, alternating per question.

Usage: Scripts/bench-serve.py [--url http://127.0.0.1:8080] [--bench mt_bench] [--questions 20]
           [--offset 2] [--rounds 2] [--max-tokens 96]

Start the server first (`ppd serve --ppd`). Questions: every k-th of
Experiments/data/BENCH/question.jsonl from --offset, first turn, as "User: {q}\\nAssistant:",
sent to /v1/completions greedily with "decoding": "ppd" and "plain" in an order that rotates
with the question and the round. Reports per question and as medians: the server's decode
tokens/s (its per-step clock), the client's end-to-end tokens/s (completion tokens over the
request's wall time, HTTP and prefill included), tau, and whether PPD's text equals plain's.
"""
import argparse
import json
import statistics
import sys
import time

import httpx


def complete(client, url, prompt, max_tokens, decoding):
    body = {"prompt": prompt, "max_tokens": max_tokens, "temperature": 0, "decoding": decoding}
    start = time.perf_counter()
    response = client.post(url + "/v1/completions", json=body)
    wall = time.perf_counter() - start
    if response.status_code != 200:
        sys.exit(f"{decoding}: {response.status_code} {response.text[:500]}")
    done = response.json()
    report = done["ppd"]
    tokens = done["usage"]["completion_tokens"]
    return {"server": report["decode_tokens_per_second"], "client": tokens / wall, "tau": report["tokens_per_step"],
            "text": done["choices"][0]["text"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--bench", default="mt_bench", choices=["mt_bench", "alpaca_eval", "humaneval", "gsm8k"])
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--offset", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=96)
    args = parser.parse_args()

    questions = [json.loads(line) for line in open(f"Experiments/data/{args.bench}/question.jsonl")]
    step = max(1, len(questions) // args.questions)
    questions = questions[args.offset::step][: args.questions]
    client = httpx.Client(timeout=600)
    health = client.get(args.url + "/health").json()
    print(f"server {args.url}: {health['model']}, {health['prompt_tokens']} prompt tokens, drafter {health['drafter']}; "
          f"bench {args.bench}, {len(questions)} questions (every {step}th from {args.offset}), {args.rounds} alternating rounds, "
          f"{args.max_tokens} tokens, {time.strftime('%Y-%m-%d %H:%M')}", flush=True)
    modes = ["plain", "ppd"]
    rows = []
    started = time.time()
    for index, question in enumerate(questions):
        prompt = question["turns"][0] if args.bench == "humaneval" else f"User: {question['turns'][0]}\nAssistant:"
        runs = {m: [] for m in modes}
        for round_index in range(args.rounds):
            shift = (index + round_index) % len(modes)
            for mode in modes[shift:] + modes[:shift]:
                runs[mode].append(complete(client, args.url, prompt, args.max_tokens, mode))
        row = {m: {k: statistics.median(r[k] for r in runs[m]) for k in ("server", "client", "tau")} for m in modes}
        row["same"] = all(r["text"] == runs["plain"][0]["text"] for m in modes for r in runs[m])
        rows.append(row)
        elapsed = time.time() - started
        print(f"[{index + 1}/{len(questions)}, {elapsed:.0f} s, ETA {elapsed / (index + 1) * (len(questions) - index - 1):.0f} s] "
              f"q{question['question_id']}: plain {row['plain']['server']:.1f} / ppd {row['ppd']['server']:.1f} tok/s (server), "
              f"plain {row['plain']['client']:.1f} / ppd {row['ppd']['client']:.1f} (client), tau {row['ppd']['tau']:.2f}"
              + ("" if row["same"] else " TEXT DIFFERS"), flush=True)
    print(f"\nmedian over {len(rows)} questions:")
    print(f"{'decoding':<8} {'server tok/s':>12} {'client tok/s':>12} {'tau':>6}")
    for mode in modes:
        print(f"{mode:<8} {statistics.median(r[mode]['server'] for r in rows):12.1f} "
              f"{statistics.median(r[mode]['client'] for r in rows):12.1f} {statistics.median(r[mode]['tau'] for r in rows):6.2f}")
    for clock in ("server", "client"):
        ratio = statistics.median(r["ppd"][clock] / r["plain"][clock] for r in rows)
        print(f"ppd / plain ({clock} clock, median of per-question ratios): {ratio:.2f}")
    print(f"PPD text identical to plain: {sum(r['same'] for r in rows)}/{len(rows)}")


if __name__ == "__main__":
    main()
