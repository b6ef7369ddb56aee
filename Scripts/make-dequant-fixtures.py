#!/usr/bin/env python3
"""Writes Tests/KernelsTests/Fixtures/dequant.json: random blocks of every tensor type the
toolkit decodes, with the floats gguf-py (llama.cpp's own Python package, `pip install gguf`)
decodes them to. The Swift tests check that our decoders give the same floats.

    python3 Scripts/make-dequant-fixtures.py
"""
import json
import os

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import quants

rng = np.random.default_rng(20261126)


def half(values):
    return np.asarray(values, dtype=np.float16).view(np.uint8)


def random_blocks(qtype, blocks):
    """Random block bytes with sane f16 scale fields (random bits could be NaN or infinite)."""
    block_size, type_size = quants.GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, size=(blocks, type_size), dtype=np.uint8)
    scale = lambda: half(rng.uniform(0.001, 0.05, size=blocks)).reshape(blocks, 2)
    offset = lambda: half(rng.uniform(-0.5, 0.5, size=blocks)).reshape(blocks, 2)
    if qtype in (T.Q4_0, T.Q5_0, T.Q8_0):
        raw[:, 0:2] = scale()
    elif qtype in (T.Q4_1, T.Q5_1):
        raw[:, 0:2] = scale()
        raw[:, 2:4] = offset()
    elif qtype in (T.Q4_K, T.Q5_K):
        raw[:, 0:2] = scale()
        raw[:, 2:4] = scale()
    elif qtype == T.Q6_K:
        raw[:, 208:210] = scale()
    elif qtype == T.F16:
        raw = half(rng.normal(0, 1, size=blocks)).reshape(blocks, 2)
    elif qtype == T.BF16:
        x = rng.normal(0, 1, size=blocks).astype(np.float32).view(np.uint32) >> 16
        raw = x.astype(np.uint16).view(np.uint8).reshape(blocks, 2)
    return raw


cases = []
for name, qtype, blocks in [
    ("F16", T.F16, 64), ("BF16", T.BF16, 64), ("Q4_0", T.Q4_0, 4), ("Q4_1", T.Q4_1, 4),
    ("Q5_0", T.Q5_0, 4), ("Q5_1", T.Q5_1, 4), ("Q8_0", T.Q8_0, 4),
    ("Q4_K", T.Q4_K, 2), ("Q5_K", T.Q5_K, 2), ("Q6_K", T.Q6_K, 2),
]:
    raw = random_blocks(qtype, blocks)
    values = quants.dequantize(raw.reshape(-1), qtype).astype(np.float32).reshape(-1)
    cases.append({"type": name, "bytes": raw.reshape(-1).tolist(), "values": [float(v) for v in values]})

out = os.path.join(os.path.dirname(__file__), "..", "Tests", "KernelsTests", "Fixtures", "dequant.json")
with open(out, "w") as f:
    json.dump({"generator": "Scripts/make-dequant-fixtures.py with gguf-py", "cases": cases}, f)
print("wrote", os.path.normpath(out))
