#!/usr/bin/env python3
"""tools/sweep_tiny.py — choose the `tiny` preset: which shape and regularization reach the lowest
val bits per byte within `make train`'s 10-minute budget on this 2-core machine.

A 10-minute run here is one data point per 10 minutes, so the search runs on a GPU instead: each
candidate is trained in PyTorch (tools/torch_peer.py's Llama, the same architecture as model/)
for the number of steps bin/train would manage in the budget at that candidate's measured speed
here (tok/s, passed in), with bin/train's recipe: the same shards, AdamW (0.9, 0.95, eps 1e-8,
decoupled weight decay on every matrix, the embedding included), linear warmup then cosine to
min_lr reached at the last step, global-norm clipping at 1.0, residual dropout after the
attention and MLP outputs, N(0, 0.02) init with the residual projections / sqrt(2L), the
dataloader's shuffle (a random offset and a permutation of T-token rows per epoch), and val loss
over the whole val shard in B×T windows every 200 steps. Random streams differ (init, dropout
masks, order), so losses agree in trend, not to the digit: the winner is then checked with a real
`make train` here (docs/training.md).

usage (where torch and a GPU are):
  python3 tools/sweep_tiny.py --data DIR --val-bytes N --configs sweep.json --out results.json
DIR/v<vocab>/ (or DIR/<shards>/) holds train.bin and val.bin (llm.c shards: bin/bpe-train, bin/prepare); sweep.json is a list of objects with
the keys of DEFAULTS below plus "tok_s" (bin/train's measured tokens/s for that shape, here).
"""
import argparse
import glob
import json
import math
import multiprocessing as mp
import os
import sys
import time

import numpy as np

DEFAULTS = dict(dim=128, n_layers=4, n_heads=4, n_kv_heads=2, hidden_dim=384, vocab=1024, batch=8,
                seq=256, lr=3e-3, min_lr=3e-4, warmup=100, dropout=0.0, weight_decay=0.1,
                grad_clip=1.0, norm_eps=1e-5, rope_theta=10000.0, seed=1337, budget_s=585.0,
                eval_every=200, schedule="cosine", ema=[], emb_dropout=0.0, beta1=0.9, beta2=0.95,
                untied=False, emb_wd=True, optimizer="adamw", muon_lr=0.02, muon_momentum=0.95,
                muon_wd=0.0, att_dropout=0.0, ffn_dropout=0.0, layer_drop=0.0, drop_start=0.0,
                shards="", init_std=0.02, bpe_variants=False, input_noise=0.0, noise="unigram",
                blank_id=-1, emb_lr=1.0, zero_proj=False, wsd=0.5)
# Options bin/train does not have, tried here first: schedule "linear" (straight from lr to
# min_lr after the warmup), ema (a list of decays d: each keeps e = d*e + (1-d)*p after every
# step, and each is evaluated beside the raw weights), emb_dropout (dropout on the embedding output),
# untied (a separate output head), emb_wd False (no weight decay on the embedding), optimizer
# "muon" (the blocks' matrices step by Muon: Nesterov momentum, then the update orthogonalized by
# five Newton-Schulz iterations, scaled by sqrt(max(1, rows/cols)), decoupled decay muon_wd; the
# embedding and the norm gains stay on AdamW; the schedule scales both learning rates alike),
# att_dropout (dropout on the attention probabilities, as HF's attention_dropout), ffn_dropout
# (dropout on the SwiGLU hidden, before w2), layer_drop (stochastic depth: each block's branches
# dropped whole per batch row), drop_start (every dropout off before this fraction of the steps:
# "late dropout"), shards (the subfolder of --data holding the shards, default v<vocab>: e.g. a BPE
# learned with another pre-tokenizer pattern), init_std (the std of the N(0, std) init), bpe_variants
# (the shards folder holds bin/prepare --variants' train_bpe_dropout_00.bin, _01.bin, ...: the
# train split tokenized K ways with BPE-dropout; epoch e reads variant e mod K, as bin/train does
# with a glob; val stays the deterministic encoding; a number n instead of true: the first n),
# input_noise (data noising, Xie et al. 2017: each input token, never a target, is replaced with
# probability input_noise by a draw from the train split's unigram distribution, noise
# "unigram", or by the unused id blank_id, noise "blank"; training only), emb_lr (the tied
# embedding's lr as a multiple of the others'), zero_proj (wo and w2 start at zero), schedule
# "wsd" (warmup, constant lr, then linear to min_lr over the last wsd fraction of the steps).


def orthogonalize(g, steps=5):
    """Newton-Schulz iteration towards U V^T of g = U S V^T (Muon's quintic, coefficients
    3.4445, -4.7750, 2.0315: pushes every singular value into roughly [0.7, 1.2])."""
    x = g / (g.norm() + 1e-7)
    wide = x.shape[0] <= x.shape[1]
    if not wide:
        x = x.t()
    for _ in range(steps):
        a = x @ x.t()
        x = 3.4445 * x + (-4.7750 * a + 2.0315 * a @ a) @ x
    return x if wide else x.t()


def read_shard(path):
    """llm.c token shard: 256 int32 header (magic, version, count), then uint16/uint32 tokens."""
    with open(path, "rb") as f:
        head = np.frombuffer(f.read(1024), dtype="<i4")
        magic, count = int(head[0]), int(head[2])
        dt = {20240520: "<u2", 20240801: "<u4"}.get(magic)
        if dt is None:
            sys.exit(f"{path}: not a token shard (magic {magic})")
        toks = np.frombuffer(f.read(), dtype=dt)
    if len(toks) != count:
        sys.exit(f"{path}: header says {count} tokens, file holds {len(toks)}")
    return toks.astype(np.int64)


def run_one(job):
    cfg, data_dir, val_bytes = job
    import torch
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from torch_peer import Llama

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    a = argparse.Namespace(**{**DEFAULTS, **cfg})
    a.head_dim = a.dim // a.n_heads
    dev = "cuda"
    data_dir = os.path.join(data_dir, a.shards or f"v{a.vocab}")
    if a.bpe_variants:
        names = sorted(glob.glob(os.path.join(data_dir, "train_bpe_dropout_*.bin")))
        if a.bpe_variants is not True:
            names = names[:a.bpe_variants]
        if not names:
            sys.exit(f"{data_dir}: no train_bpe_dropout_*.bin (bin/prepare --variants)")
        variants = [torch.from_numpy(read_shard(n)).to(dev) for n in names]
    else:
        variants = [torch.from_numpy(read_shard(os.path.join(data_dir, "train.bin"))).to(dev)]
    train, epoch = variants[0], 0
    unigram = torch.bincount(variants[0], minlength=a.vocab).float()
    gen = torch.Generator(device=dev)
    gen.manual_seed(a.seed + 7)
    val = torch.from_numpy(read_shard(os.path.join(data_dir, "val.bin"))).to(dev)
    B, T = a.batch, a.seq
    steps = max(a.warmup + 1, int(a.tok_s * a.budget_s / (B * T)))

    torch.manual_seed(a.seed)
    model = Llama(a).to(dev)
    decays = lambda n, p: p.dim() >= 2 and (a.emb_wd or n != "tok_emb.weight")  # noqa: E731
    muon = [p for n, p in model.named_parameters()
            if a.optimizer == "muon" and n.startswith("layers.") and p.dim() == 2]
    if a.zero_proj:
        with torch.no_grad():
            for n, p in model.named_parameters():
                if n.endswith(("wo.weight", "w2.weight")):
                    p.zero_()
    emb = [p for n, p in model.named_parameters() if n == "tok_emb.weight" and a.emb_lr != 1.0]
    decay = [p for n, p in model.named_parameters()
             if decays(n, p) and not any(p is q for q in muon + emb)]
    no_decay = [p for n, p in model.named_parameters() if not decays(n, p)]
    groups = [{"params": decay, "weight_decay": a.weight_decay, "mult": 1.0},
              {"params": no_decay, "weight_decay": 0.0, "mult": 1.0}]
    if emb:  # decoupled decay is lr * wd: keep the embedding's per-step decay as the others'
        groups.append({"params": emb, "weight_decay": a.weight_decay / a.emb_lr, "mult": a.emb_lr})
    opt = torch.optim.AdamW(groups, lr=a.lr, betas=(a.beta1, a.beta2), eps=1e-8)
    bufs = [torch.zeros_like(p) for p in muon]

    @torch.no_grad()
    def muon_step(lr):
        for p, buf in zip(muon, bufs):
            buf.mul_(a.muon_momentum).add_(p.grad)
            u = orthogonalize(p.grad + a.muon_momentum * buf)  # Nesterov
            p.mul_(1.0 - lr * a.muon_wd)
            p.add_(u, alpha=-lr * max(1.0, p.shape[0] / p.shape[1]) ** 0.5)

    def lr_at(s):  # train/schedule.c lr_at
        if s < a.warmup:
            return a.lr * (s + 1) / a.warmup
        span = max(1, steps - 1 - a.warmup)
        f = min(1.0, (s - a.warmup) / span)
        if a.schedule == "linear":
            return a.lr + (a.min_lr - a.lr) * f
        if a.schedule == "wsd":
            g = max(0.0, (f - (1.0 - a.wsd)) / a.wsd)
            return a.lr + (a.min_lr - a.lr) * g
        return a.min_lr + (a.lr - a.min_lr) * 0.5 * (1 + math.cos(math.pi * f))

    nval = (len(val) - 1) // (B * T)
    vx = val[: nval * B * T].view(nval, B, T)
    vy = val[1: nval * B * T + 1].view(nval, B, T)

    params = list(model.parameters())
    drops = [(mod, mod.p) for mod in model.modules() if isinstance(mod, torch.nn.Dropout)]
    emas = [[p.detach().clone() for p in params] for _ in a.ema]

    @torch.no_grad()
    def evaluate(weights=None):
        if weights is not None:  # swap the averaged weights in for the evaluation
            saved = [p.detach().clone() for p in params]
            for p, w in zip(params, weights):
                p.copy_(w)
        model.eval()
        tot = sum(model(vx[i], vy[i]).item() for i in range(nval)) / nval
        model.train()
        if weights is not None:
            for p, w in zip(params, saved):
                p.copy_(w)
        return tot

    tokens_per_byte = (len(val)) / val_bytes
    # data order as data/dataloader.c shuffles: each epoch a random offset in [0, T) and a
    # permutation of the T-token rows from there; an epoch ends when a full batch no longer fits
    rng = np.random.default_rng(a.seed)
    rows, pos = None, 0
    hist = []
    t0 = time.time()
    for s in range(steps):
        if a.eval_every and s % a.eval_every == 0:
            hist.append((s, evaluate()))
        if rows is None or pos + B > len(rows):
            if rows is not None:
                epoch += 1
                train = variants[epoch % len(variants)]
            offset = int(rng.integers(T))
            rows = offset + T * rng.permutation((len(train) - 1 - offset) // T)
            pos = 0
        off = torch.from_numpy(rows[pos:pos + B]).to(dev)
        pos += B
        idx = off[:, None] + torch.arange(T + 1, device=dev)[None, :]
        chunk = train[idx]
        for grp in opt.param_groups:
            grp["lr"] = lr_at(s) * grp["mult"]
        for mod, p in drops:
            mod.p = p if s >= a.drop_start * steps else 0.0
        x = chunk[:, :-1].clone()
        if a.input_noise > 0:
            hit = torch.rand(x.shape, device=dev, generator=gen) < a.input_noise
            if a.noise == "blank":
                fill = torch.full_like(x, a.blank_id)
            else:
                fill = torch.multinomial(unigram, x.numel(), replacement=True, generator=gen).view_as(x)
            x = torch.where(hit, fill, x)
        loss = model(x, chunk[:, 1:].contiguous())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if a.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), a.grad_clip)
        opt.step()
        if muon:
            muon_step(a.muon_lr * lr_at(s) / a.lr)
        with torch.no_grad():
            for d, e in zip(a.ema, emas):
                torch._foreach_lerp_(e, [p.detach() for p in params], 1.0 - d)
    hist.append((steps, evaluate()))
    ema_final = {str(d): round(evaluate(e) / math.log(2) * tokens_per_byte, 4) for d, e in zip(a.ema, emas)}
    bpb = lambda nats: nats / math.log(2) * tokens_per_byte  # noqa: E731
    best = min(hist, key=lambda h: h[1])
    return dict(cfg=cfg, steps=steps, params=sum(p.numel() for p in model.parameters()),
                final_bpb=bpb(hist[-1][1]), ema_final_bpb=ema_final, best_bpb=bpb(best[1]), best_step=best[0],
                curve=[(s, round(bpb(v), 4)) for s, v in hist], seconds=time.time() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--val-bytes", type=int, required=True, help="bytes of the text val.bin holds")
    ap.add_argument("--configs", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--procs", type=int, default=6)
    a = ap.parse_args()
    cfgs = json.load(open(a.configs))
    ctx = mp.get_context("spawn")
    with ctx.Pool(a.procs) as pool:
        results = []
        for r in pool.imap_unordered(run_one, [(c, a.data, a.val_bytes) for c in cfgs]):
            results.append(r)
            print(json.dumps({k: v for k, v in r.items() if k != "curve"}), flush=True)
    results.sort(key=lambda r: r["final_bpb"])
    json.dump(results, open(a.out, "w"), indent=1)
    print("\nbest final val bits/byte:")
    for r in results[:10]:
        print(f"  {r['final_bpb']:.4f} (best {r['best_bpb']:.4f} @ {r['best_step']}/{r['steps']})  {r['cfg']}")


if __name__ == "__main__":
    main()
