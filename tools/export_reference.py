#!/usr/bin/env python3
"""tools/export_reference.py — transformers' logits for folders bin/export wrote.

For each folder: LlamaForCausalLM.from_pretrained(folder, torch_dtype=float32), a forward over
the prompt ids below, and the logits after the last one written as little-endian float32 to
OUT/<folder name>.f32 (the layout of bin/infer --dump-logits). tests/export_test.sh compares
bin/infer on the same folders with these.

    python3 tools/export_reference.py --out tests/fixtures/export DIR...
"""
import argparse
import os

import numpy as np
import torch
from transformers import LlamaForCausalLM

IDS = [1, 17, 200, 5, 99, 42, 7, 250]  # also in tests/export_test.sh


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("dirs", nargs="+")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for d in a.dirs:
        m = LlamaForCausalLM.from_pretrained(d, torch_dtype=torch.float32)
        m.eval()
        with torch.no_grad():
            logits = m(torch.tensor([IDS])).logits[0, -1]
        name = os.path.basename(os.path.normpath(d))
        np.asarray(logits, dtype="<f4").tofile(os.path.join(a.out, name + ".f32"))
        print(name, logits.shape[0], float(logits.abs().max()))


if __name__ == "__main__":
    main()
