#!/usr/bin/env python3
"""tools/make_random_hf.py — a Llama-3.2-1B-shaped checkpoint with random bf16 weights, HF layout.

Writes OUT/config.json and OUT/model.safetensors (about 2.5 GB for the default shapes) so that
`make bench` can time decoding at the real 1B shapes without downloading Meta's weights. Only
speed is measured with it: the weights are N(0, std) noise rounded to bf16, RMSNorm weights 1.

The safetensors format, written by hand with numpy (no torch needed): an 8-byte little-endian
header length, a JSON header {name: {"dtype", "shape", "data_offsets": [begin, end]}} (offsets
relative to the end of the header), then the raw little-endian tensor bytes.

Skips the work when OUT already holds a checkpoint of exactly these shapes (same config.json,
model.safetensors of the expected size). Never commit the output (bench/models/ is git-ignored).

usage: tools/make_random_hf.py [--out bench/models/llama-3.2-1b-random] [--seed 0] [--std 0.02]
       [--hidden 2048 --layers 16 --heads 32 --kv-heads 8 --head-dim 64 --intermediate 8192
        --vocab 128256]
"""
import argparse
import json
import os
import sys

import numpy as np


def config_for(a):
    """Llama-3.2-1B's config.json, with the shape fields taken from the arguments."""
    return {
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 128000,
        "eos_token_id": 128001,
        "head_dim": a.head_dim,
        "hidden_act": "silu",
        "hidden_size": a.hidden,
        "initializer_range": a.std,
        "intermediate_size": a.intermediate,
        "max_position_embeddings": 131072,
        "mlp_bias": False,
        "model_type": "llama",
        "num_attention_heads": a.heads,
        "num_hidden_layers": a.layers,
        "num_key_value_heads": a.kv_heads,
        "pretraining_tp": 1,
        "rms_norm_eps": 1e-05,
        "rope_scaling": {
            "factor": 32.0,
            "high_freq_factor": 4.0,
            "low_freq_factor": 1.0,
            "original_max_position_embeddings": 8192,
            "rope_type": "llama3",
        },
        "rope_theta": 500000.0,
        "tie_word_embeddings": True,
        "torch_dtype": "bfloat16",
        "use_cache": True,
        "vocab_size": a.vocab,
    }


def tensor_list(a):
    """(name, shape, kind) in model order; kind 'w' = random matrix, 'norm' = ones. Tied: no lm_head."""
    C, H, q, kv = a.hidden, a.intermediate, a.heads * a.head_dim, a.kv_heads * a.head_dim
    out = [("model.embed_tokens.weight", (a.vocab, C), "w")]
    for i in range(a.layers):
        p = f"model.layers.{i}."
        out += [
            (p + "input_layernorm.weight", (C,), "norm"),
            (p + "self_attn.q_proj.weight", (q, C), "w"),
            (p + "self_attn.k_proj.weight", (kv, C), "w"),
            (p + "self_attn.v_proj.weight", (kv, C), "w"),
            (p + "self_attn.o_proj.weight", (C, q), "w"),
            (p + "post_attention_layernorm.weight", (C,), "norm"),
            (p + "mlp.gate_proj.weight", (H, C), "w"),
            (p + "mlp.up_proj.weight", (H, C), "w"),
            (p + "mlp.down_proj.weight", (C, H), "w"),
        ]
    out.append(("model.norm.weight", (C,), "norm"))
    return out


def header_bytes(tensors):
    header, off = {"__metadata__": {"format": "pt"}}, 0
    for name, shape, _ in tensors:
        n = 2 * int(np.prod(shape))
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [off, off + n]}
        off += n
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)  # pad so the data starts 8-byte aligned (as the format recommends)
    return h, off


def to_bf16(x):
    """float32 -> bf16 bits, round to nearest even (what torch's .to(bfloat16) does)."""
    u = x.view(np.uint32)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="bench/models/llama-3.2-1b-random", help="output folder")
    ap.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    ap.add_argument("--std", type=float, default=0.02, help="weight std (default 0.02)")
    ap.add_argument("--hidden", type=int, default=2048)
    ap.add_argument("--layers", type=int, default=16)
    ap.add_argument("--heads", type=int, default=32)
    ap.add_argument("--kv-heads", type=int, default=8)
    ap.add_argument("--head-dim", type=int, default=64)
    ap.add_argument("--intermediate", type=int, default=8192)
    ap.add_argument("--vocab", type=int, default=128256)
    a = ap.parse_args()

    cfg = config_for(a)
    tensors = tensor_list(a)
    header, data_len = header_bytes(tensors)
    expect = 8 + len(header) + data_len
    cfg_path, st_path = os.path.join(a.out, "config.json"), os.path.join(a.out, "model.safetensors")
    try:
        with open(cfg_path) as f:
            same_cfg = json.load(f) == cfg
        if same_cfg and os.path.getsize(st_path) == expect:
            print(f"make_random_hf: {st_path} already present ({expect / 1e9:.2f} GB), skipping",
                  file=sys.stderr)
            return 0
    except (OSError, ValueError):
        pass

    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    n_params = data_len // 2
    print(f"make_random_hf: writing {st_path}: {n_params / 1e9:.3f} B params, {expect / 1e9:.2f} GB",
          file=sys.stderr)
    tmp = st_path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(len(header).to_bytes(8, "little"))
        f.write(header)
        chunk = 1 << 24  # 16 M elements at a time keeps memory small
        for name, shape, kind in tensors:
            n = int(np.prod(shape))
            if kind == "norm":
                f.write(to_bf16(np.ones(n, dtype=np.float32)).tobytes())
                continue
            for s in range(0, n, chunk):
                x = rng.standard_normal(min(chunk, n - s), dtype=np.float32)
                x *= np.float32(a.std)
                f.write(to_bf16(x).tobytes())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, st_path)
    with open(cfg_path, "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    print(f"make_random_hf: done ({os.path.getsize(st_path)} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
