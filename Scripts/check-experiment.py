#!/usr/bin/env python3
"""Opens an experiment's HDF5 file (ppd-experiment/1: Example-TreeAblation, Example-Speedup, ...)
with h5py and checks the layout ARCHITECTURE.md documents ("Result files").

usage: Scripts/check-experiment.py FILE.h5
Prints one line per method (tau, tokens/s, speedup, identical to the baseline) and exits non-zero
when the layout differs: a missing attribute or dataset, or datasets whose lengths disagree.
"""
import sys

import h5py

ROOT = ["format", "model_sha256", "prompt_tokens_file", "machine", "threads", "arithmetic", "date",
        "git_commit", "command_line"]
METHOD = ["order", "kind", "tokens_per_second", "tau", "mean_rows", "mean_forward_seconds", "speedup",
          "identical_to_baseline"]
RUN = ["run_question", "run_round", "run_prefill_seconds", "run_tokens", "run_stop_reason"]
STEP = ["step_run", "step_rows", "step_nodes", "step_depth", "step_accepted", "step_emitted", "step_seconds",
        "step_forward_seconds", "step_draft_rows", "step_accepted_drafted"]


def check_result(group, label):
    questions = len(group["questions"])
    assert len(group["question_ids"]) == questions and len(group["question_categories"]) == questions, label
    assert len(group["prompt_lengths"]) == questions, label
    assert group["prompt_lengths"][:].sum() == len(group["prompt_tokens"]), label
    methods = sorted(group["runs"].items(), key=lambda item: item[1].attrs["order"])
    assert methods, f"{label}: no methods"
    for name, method in methods:
        for attribute in METHOD:
            assert attribute in method.attrs, f"{label}/{name}: missing attribute {attribute}"
        runs = len(method["run_question"])
        assert all(len(method[d]) == runs for d in RUN), f"{label}/{name}: run datasets differ in length"
        assert method["run_tokens"][:].sum() == len(method["tokens"]), f"{label}/{name}: tokens"
        steps = len(method["step_run"])
        assert all(len(method[d]) == steps for d in STEP), f"{label}/{name}: step datasets differ in length"
        assert steps == 0 or method["step_run"][:].max() < runs, f"{label}/{name}: step_run out of range"
        print(f"{label}{name:40s} tau {method.attrs['tau']:5.2f}  {method.attrs['tokens_per_second']:6.1f} tok/s  "
              f"speedup {method.attrs['speedup']:.2f}  identical {bool(method.attrs['identical_to_baseline'])}")


def main(path):
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "ppd-experiment/1", f.attrs["format"]
        for name in ROOT:
            assert name in f.attrs, f"missing root attribute {name}"
        if "parts" in f:
            for name, part in sorted(f["parts"].items(), key=lambda item: item[1].attrs["order"]):
                check_result(part, f"{name}: ")
        else:
            check_result(f, "")
    print(f"{path}: layout ok")


if __name__ == "__main__":
    main(sys.argv[1])
