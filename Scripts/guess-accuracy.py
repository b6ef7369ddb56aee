#!/usr/bin/env python3
"""Guess accuracy of prompt tokens by (distance, rank), from ppd-trace/1 HDF5 files.

Usage: Scripts/guess-accuracy.py TRACE.h5 [TRACE.h5 ...] [--top-k 10] [--json OUT.json]

The traces must hold top-k logits for every row (`ppd generate --ppd --trace F --trace-logits 10`)
and one virtual token per prompt token. A prompt row at absolute position P guesses the token at
P + 1; it is scored when the token row it hangs under is accepted (its context is then the true
sequence). Distance = prompt index + 1. Prints, per distance, the fraction of scored guesses whose
true token is at rank r (r = 0..k-1) and within the top r + 1 (cumulative).
"""
import argparse
import json
import sys

import h5py
import numpy as np


def score(path, top_k, hits, totals):
    f = h5py.File(path, "r")
    if int(f.attrs.get("virtual_tokens", 1)) != 1:
        sys.exit(f"{path}: only one virtual token per prompt token is supported")
    if "logits/ids" not in f:
        sys.exit(f"{path}: no top-k logits in the trace (use --trace-logits 10)")
    sequence = np.concatenate([f["prompt"][:], f["tokens"][:]])
    prompt_length = len(f["prompt"])
    emitted = f["steps/emitted"][:]
    before = np.concatenate([[0], np.cumsum(emitted)])  # tokens emitted before step s
    rows = {name: f["rows/" + name][:] for name in f["rows"]}
    ids = f["logits/ids"][:]
    logit_index = {(int(s), int(r)): i for i, (s, r) in enumerate(zip(f["logits/step"][:], f["logits/slot"][:]))}
    by_step = {}
    for i, s in enumerate(rows["step"]):
        by_step.setdefault(int(s), []).append(i)
    for step, members in by_step.items():
        table = {int(rows["row"][i]): i for i in members}
        start = 0 if step == 0 else prompt_length + int(before[step]) - 1
        for i in members:
            if rows["kind"][i] != 3:
                continue
            node = i
            while rows["kind"][node] == 3:
                node = table[int(rows["parent_row"][node])]
            if rows["accepted"][node] != 1:
                continue
            position = start + int(rows["position_offset"][i])
            target = position + 1
            if target >= len(sequence):
                continue
            key = (step, int(rows["row"][i]))
            if key not in logit_index:
                continue
            guesses = list(ids[logit_index[key]][:top_k])
            distance = int(rows["prompt_index"][i]) + 1
            totals[distance] = totals.get(distance, 0) + 1
            if sequence[target] in guesses:
                rank = guesses.index(sequence[target])
                hits.setdefault(distance, [0] * top_k)[rank] += 1
            else:
                hits.setdefault(distance, [0] * top_k)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("traces", nargs="+")
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument("--json", help="write {distance: [accuracy at rank r]} here")
    args = parser.parse_args()
    hits, totals = {}, {}
    for path in args.traces:
        score(path, args.top_k, hits, totals)
    table = {}
    for distance in sorted(totals):
        rates = [h / totals[distance] for h in hits[distance]]
        table[distance] = rates
        cumulative = np.cumsum(rates)
        print(f"distance {distance}: {totals[distance]} guesses scored")
        print("  at rank   " + " ".join(f"{r:6.3f}" for r in rates))
        print("  top-(r+1) " + " ".join(f"{c:6.3f}" for c in cumulative))
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"top_k": args.top_k, "accuracy": table}, out, indent=1)


if __name__ == "__main__":
    main()
