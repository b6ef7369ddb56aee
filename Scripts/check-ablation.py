#!/usr/bin/env python3
"""Opens an Example-TreeAblation HDF5 file with h5py and checks the documented layout.

usage: Scripts/check-ablation.py FILE.h5
Prints one line per tree (tau, tokens/s, speedup, identical) and exits non-zero if the layout is
not the one README.md documents (ppd-tree-ablation/1).
"""
import sys

import h5py

REQUIRED_ROOT = ["format", "bench", "max_tokens", "policy", "seed", "model_sha256", "prompt_tokens_file",
                 "machine", "threads", "cost_profile_seconds", "guess_vocabulary", "guess_head_size", "date",
                 "git_commit", "command_line"]
REQUIRED_RUN = ["kind", "size", "tree", "tau", "tokens_per_second", "speedup", "mean_rows",
                "predicted_tokens_per_step", "predicted_speedup", "identical_to_autoregressive", "guess_head"]
DATASETS = ["tokens", "question_tokens", "question_decode_seconds", "step_question", "step_rows",
            "step_depth", "step_accepted", "step_emitted", "step_seconds", "step_forward_seconds"]


def main(path):
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "ppd-tree-ablation/1", f.attrs["format"]
        for name in REQUIRED_ROOT:
            assert name in f.attrs, f"missing root attribute {name}"
        questions = len(f["questions"])
        assert len(f["question_ids"]) == questions
        assert "autoregressive" in f["runs"], "no autoregressive baseline"
        for name, group in f["runs"].items():
            for attribute in REQUIRED_RUN:
                assert attribute in group.attrs, f"{name}: missing attribute {attribute}"
            for dataset in DATASETS:
                assert dataset in group, f"{name}: missing dataset {dataset}"
            assert len(group["question_tokens"]) == questions
            assert group["question_tokens"][:].sum() == len(group["tokens"])
            steps = len(group["step_rows"])
            assert all(len(group[d]) == steps for d in DATASETS if d.startswith("step_")), name
            print(f"{name:26s} tau {group.attrs['tau']:.2f}  {group.attrs['tokens_per_second']:6.1f} tok/s  "
                  f"speedup {group.attrs['speedup']:.2f}  identical {bool(group.attrs['identical_to_autoregressive'])}")
    print(f"{path}: layout ok")


if __name__ == "__main__":
    main(sys.argv[1])
