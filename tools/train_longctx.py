#!/usr/bin/env python3
"""tools/train_longctx.py — a Llama trained on tiny Shakespeare at a 1024-token context, saved
as a Hugging Face folder that bin/infer loads (docs/kascade.md: the model Kascade is measured on).

transformers' LlamaForCausalLM on a GPU, on our own token shards (bin/prepare with our BPE, so
the vocabulary is make train's): random windows of --seq + 1 tokens from the train split (one of
the BPE-dropout variants per step when --data holds them, as bin/train reads them), AdamW
(0.9, 0.95; weight decay on matrices), linear warmup then cosine to lr/10, bf16 autocast over
float32 weights, residual dropout on the attention and MLP outputs (forward hooks on o_proj and
down_proj: LlamaForCausalLM has no residual dropout of its own). The val split's loss is measured
every --eval-every steps and the best state is kept; training stops at --steps, after --minutes,
or when the val loss has not improved for --patience evaluations.

The best state is saved in float32 with save_pretrained (shards under 16 MB, no BOS/EOS ids: our
tokenizer has none) into OUT/kascade_hf1024/, reloaded from there, and its perplexity on the val
split computed as bin/infer --perplexity does (llama-perplexity's chunking: consecutive chunks of
n_ctx tokens from an empty cache, no BOS, the second half of each chunk scored), float32 with TF32
off, for each of --ppl-ctx; OUT/torch_ppl.json holds those and the training summary.

usage (where torch, transformers and a GPU are):
  python3 tools/train_longctx.py --data DIR --out OUT [--dim 256 --layers 8 --heads 4 --kv-heads 2
      --hidden 640 --seq 1024 --batch 32 --lr 8e-4 --dropout 0.3 --steps 3000 --minutes 2
      --patience 5 --vocab N]
DIR holds val.bin and train.bin or train_bpe_dropout_*.bin (llm.c shards; data/README.md).
--vocab: the embedding's rows (default: the largest id in the shards + 1); bin/train sizes it as
its tokenizer's ids, specials included (1813 for make train's 1792-rank BPE with cl100k's
specials), and bin/infer refuses a tokenizer with more ids than the model has rows.
"""
import argparse
import glob
import json
import math
import os
import shutil
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F
import transformers
from transformers import LlamaConfig, LlamaForCausalLM

from sweep_tiny import read_shard


def make_model(a, vocab):
    cfg = LlamaConfig(
        vocab_size=vocab, hidden_size=a.dim, intermediate_size=a.hidden, num_hidden_layers=a.layers,
        num_attention_heads=a.heads, num_key_value_heads=a.kv_heads, head_dim=a.dim // a.heads,
        max_position_embeddings=a.seq, rms_norm_eps=1e-5, tie_word_embeddings=True,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0}, attention_dropout=0.0,
        initializer_range=0.02, bos_token_id=None, eos_token_id=None, pad_token_id=None)
    torch.manual_seed(a.seed)
    m = LlamaForCausalLM(cfg).float()
    if m.lm_head.weight.data_ptr() != m.model.embed_tokens.weight.data_ptr():
        m.tie_weights()
    return m


def add_residual_dropout(m, p):
    def drop(mod, inputs, out):
        return F.dropout(out, p, mod.training)
    for layer in m.model.layers:
        layer.self_attn.o_proj.register_forward_hook(drop)
        layer.mlp.down_proj.register_forward_hook(drop)


@torch.no_grad()
def val_loss(m, val, T, dev):
    """Mean next-token loss over consecutive windows of T + 1 tokens of the val split."""
    m.eval()
    n = (len(val) - 1) // T
    x = torch.from_numpy(val[: n * T + 1]).to(dev)
    tot = 0.0
    for i in range(0, n, 16):
        rows = torch.stack([x[j * T: j * T + T + 1] for j in range(i, min(n, i + 16))])
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = m(input_ids=rows[:, :-1], use_cache=False).logits
        tot += F.cross_entropy(logits.float().flatten(0, 1), rows[:, 1:].flatten(), reduction="sum").item()
    m.train()
    return tot / (n * T)


@torch.no_grad()
def perplexity(m, tokens, n_ctx, dev):
    """bin/infer --perplexity's number: chunks of n_ctx, positions n_ctx/2 .. n_ctx-2 scored."""
    first, n_chunks, nll, count = n_ctx // 2, len(tokens) // n_ctx, 0.0, 0
    for c in range(n_chunks):
        chunk = torch.from_numpy(tokens[c * n_ctx:(c + 1) * n_ctx]).to(dev)
        logp = torch.log_softmax(m(input_ids=chunk[None], use_cache=False).logits[0].double(), dim=-1)
        pos = torch.arange(first, n_ctx - 1, device=dev)
        nll -= logp[pos, chunk[pos + 1]].sum().item()
        count += len(pos)
    return {"ppl": math.exp(nll / count), "tokens": count, "chunks": n_chunks}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=640)
    ap.add_argument("--seq", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=8e-4)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--dropout", type=float, default=0.3)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--minutes", type=float, default=2.0)
    ap.add_argument("--eval-every", type=int, default=50)
    ap.add_argument("--patience", type=int, default=5)
    ap.add_argument("--ppl-ctx", default="256,512,1024")
    ap.add_argument("--vocab", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    dev = "cuda"
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False

    shards = sorted(glob.glob(os.path.join(a.data, "train_bpe_dropout_*.bin"))) or [os.path.join(a.data, "train.bin")]
    train = [read_shard(p) for p in shards]
    val = read_shard(os.path.join(a.data, "val.bin"))
    vocab = max(a.vocab, int(max(max(t.max() for t in train), val.max())) + 1)
    print(f"torch {torch.__version__}, transformers {transformers.__version__}; {len(shards)} train shard(s) "
          f"of {len(train[0])} tokens, val {len(val)} tokens, vocab {vocab}", flush=True)

    m = make_model(a, vocab).to(dev)
    add_residual_dropout(m, a.dropout)
    n_params = sum(p.numel() for p in m.parameters())
    print(f"model: dim {a.dim}, {a.layers} layers, {a.heads} heads ({a.kv_heads} KV), hidden {a.hidden}, "
          f"{n_params} parameters (tied)", flush=True)
    decay = [p for p in m.parameters() if p.dim() >= 2]
    rest = [p for p in m.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                             {"params": rest, "weight_decay": 0.0}], lr=a.lr, betas=(0.9, 0.95), fused=True)
    rng = np.random.default_rng(a.seed)
    t_start, best, best_step, since, step = time.time(), float("inf"), 0, 0, 0
    best_state = None
    m.train()
    while step < a.steps and time.time() - t_start < 60 * a.minutes:
        lr = a.lr * (step + 1) / a.warmup if step < a.warmup else \
            a.lr * (0.1 + 0.45 * (1 + math.cos(math.pi * (step - a.warmup) / max(1, a.steps - a.warmup))))
        for g in opt.param_groups:
            g["lr"] = lr
        toks = train[step % len(train)] if len(train) > 1 else train[0]
        off = rng.integers(0, len(toks) - a.seq - 1, a.batch)
        rows = torch.from_numpy(toks[off[:, None] + np.arange(a.seq + 1)]).to(dev)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = m(input_ids=rows[:, :-1], use_cache=False).logits
        loss = F.cross_entropy(logits.float().flatten(0, 1), rows[:, 1:].flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        step += 1
        if step % a.eval_every == 0 or step == a.steps:
            v = val_loss(m, val, a.seq, dev)
            print(f"step {step} lr {lr:.2e} train {loss.item():.4f} val {v:.4f} ({time.time() - t_start:.0f} s)",
                  flush=True)
            if v < best:
                best, best_step, since = v, step, 0
                best_state = {k: t.detach().clone() for k, t in m.state_dict().items()}
            else:
                since += 1
                if since >= a.patience:
                    break
    train_s = time.time() - t_start
    print(f"stopped at step {step} after {train_s:.0f} s; best val {best:.4f} nats/token at step {best_step}", flush=True)

    if best_state is None:   # stopped before the first evaluation
        best_state, best = m.state_dict(), val_loss(m, val, a.seq, dev)
    m.load_state_dict(best_state)
    d = os.path.join(a.out, "kascade_hf1024")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    with tempfile.TemporaryDirectory() as tmp:
        m.float().save_pretrained(tmp, max_shard_size="15MB")
        for fn in sorted(os.listdir(tmp)):
            if fn == "config.json" or fn.endswith(".safetensors") or fn == "model.safetensors.index.json":
                shutil.copy(os.path.join(tmp, fn), d)
    print("saved:", {f: os.path.getsize(os.path.join(d, f)) for f in sorted(os.listdir(d))}, flush=True)

    ref = LlamaForCausalLM.from_pretrained(d, dtype=torch.float32, attn_implementation="eager").to(dev).eval()
    for p in ref.parameters():
        assert p.dtype == torch.float32
    ppl = {}
    for n_ctx in [int(x) for x in a.ppl_ctx.split(",")]:
        ppl[str(n_ctx)] = perplexity(ref, val, n_ctx, dev)
        print(f"torch perplexity at ctx {n_ctx}: {ppl[str(n_ctx)]}", flush=True)
    summary = {"args": vars(a), "params": n_params, "steps": step, "best_step": best_step,
               "best_val_loss": best, "train_seconds": train_s, "train_shards": len(shards),
               "torch": torch.__version__, "transformers": transformers.__version__,
               "gpu": torch.cuda.get_device_name(), "perplexity": ppl}
    with open(os.path.join(a.out, "torch_ppl.json"), "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
