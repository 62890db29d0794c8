"""tools/make_init_fixture.py — fine-tuning a transformers checkpoint, step by step in PyTorch, for
`bin/train --init HF_DIR` to reproduce.

Writes, under --out (normally tests/fixtures):
  hf_init/config.json, hf_init/model.safetensors   a tiny LlamaForCausalLM (float32, GQA, tied,
        max_position_embeddings 256, attention_dropout 0.0; no tokenizer), N(0, 0.1) matrices
  hf_init/train.bin, hf_init/val.bin               llm.c token shards (uint16): seeded random ids
  hf_init.fx   i32 `hparams_i` = steps, batch, seq; f32 `hparams_f` = lr, beta1, beta2, eps,
        weight_decay, grad_clip; f32 `losses` (steps) = the mean cross-entropy of each update's
        batch before that update; f32 `grad_norms` (steps) = the global gradient norm before
        clipping

The training step is bin/train's with --shuffle 0 --lr-schedule constant --warmup 0 --dropout 0
(the model's attention_dropout, 0, as its default): batch k is tokens [k*B*T, k*B*T + B*T] of
train.bin, row b its b-th window of T inputs and the same shifted by one as targets (llm.c's
sequential loader); loss = mean cross-entropy over B*T; the global gradient norm clipped to
grad_clip as torch.nn.utils.clip_grad_norm_ does; torch.optim.AdamW with weight decay on every
tensor but the RMSNorm weights (bin/train's rule).

    python3 tools/make_init_fixture.py --out tests/fixtures

Needs torch, transformers, safetensors. CPU, float32, deterministic.
"""
import argparse
import os
import shutil
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_io import load_llama_f32, tiny_llama, train_steps, write_fixture  # noqa: E402

STEPS, B, T = 8, 2, 16
LR, BETA1, BETA2, EPS, WD, CLIP = 3e-3, 0.9, 0.95, 1e-8, 0.1, 1.0
V = 256


def write_shard(path, ids):
    hdr = np.zeros(256, dtype=np.int32)
    hdr[0], hdr[1], hdr[2] = 20240520, 1, len(ids)
    with open(path, "wb") as f:
        f.write(hdr.tobytes())
        f.write(np.asarray(ids, dtype=np.uint16).tobytes())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/fixtures")
    args = ap.parse_args()
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(11)
    live = tiny_llama(True, 12)
    d = os.path.join(args.out, "hf_init")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    live.save_pretrained(d)
    for fn in os.listdir(d):
        if fn not in ("config.json", "model.safetensors"):
            os.remove(os.path.join(d, fn))
    rng = np.random.default_rng(13)
    train = rng.integers(0, V, size=STEPS * B * T + 1 + 37)
    val = rng.integers(0, V, size=4 * B * T + 1)
    write_shard(os.path.join(d, "train.bin"), train)
    write_shard(os.path.join(d, "val.bin"), val)

    model = load_llama_f32(d)
    model.train()   # attention_dropout 0: the same as eval
    decay = [p for n, p in model.named_parameters() if not n.endswith("norm.weight")]
    no_decay = [p for n, p in model.named_parameters() if n.endswith("norm.weight")]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WD}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=LR, betas=(BETA1, BETA2), eps=EPS)
    losses, norms = train_steps(model, opt, list(model.parameters()), train, STEPS, B, T, CLIP)
    write_fixture(os.path.join(args.out, "hf_init.fx"), {
        "hparams_i": np.array([STEPS, B, T], dtype=np.int32),
        "hparams_f": np.array([LR, BETA1, BETA2, EPS, WD, CLIP], dtype=np.float32),
        "losses": np.array(losses, dtype=np.float32),
        "grad_norms": np.array(norms, dtype=np.float32)})
    print("wrote", d, sorted(os.listdir(d)))


if __name__ == "__main__":
    main()
