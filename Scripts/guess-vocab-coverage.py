#!/usr/bin/env python3
"""How much of the model's own text a guess vocabulary covers.

usage: Scripts/guess-vocab-coverage.py VOCAB.json EXAMPLES.json [--held-out 40]

VOCAB.json: a ppd-guess-vocab/1 file (`ppd guess-vocab`). EXAMPLES.json: prepared training
examples (`ppd train --examples FILE`), whose replies are the model's own greedy continuations;
the last --held-out examples are the held-out ones. Prints, for the 4,096 ... 65,536 most frequent
tokens, the fraction of held-out reply tokens they cover, and for comparison the fraction the
same number of lowest token ids covers.
"""
import argparse
import json


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("vocab")
    parser.add_argument("examples")
    parser.add_argument("--held-out", type=int, default=40)
    args = parser.parse_args()
    with open(args.vocab) as f:
        vocab = json.load(f)
    assert vocab.get("format") == "ppd-guess-vocab/1", f"{args.vocab}: not a ppd-guess-vocab/1 file"
    with open(args.examples) as f:
        examples = json.load(f)["examples"]
    replies = [t for e in examples[-args.held_out:] for t in e["tokens"][e["replyStart"]:]]
    rank = {token: i for i, token in enumerate(vocab["tokens"])}
    print(f"{len(replies)} held-out reply tokens of {args.held_out} examples")
    for size in [4096, 8192, 16384, 32768, 65536]:
        by_frequency = sum(rank.get(t, len(rank)) < size for t in replies) / len(replies)
        by_id = sum(t < size for t in replies) / len(replies)
        print(f"{size:6d} most frequent: {by_frequency:.3f}   lowest ids: {by_id:.3f}")


if __name__ == "__main__":
    main()
