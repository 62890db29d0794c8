#!/usr/bin/env python3
"""tools/torch_peer.py — our training step, written in PyTorch, to time side by side with bin/train.

A faithful Llama at the same shapes as a scratchllama preset: token embedding, per layer
RMSNorm -> attention (q/k/v projections, rotate-half RoPE, grouped-query heads, causal softmax,
o projection) -> residual -> RMSNorm -> SwiGLU MLP (down(silu(gate x) * up x)) -> residual; final
RMSNorm, the output head tied to the embedding, mean cross-entropy, backward, optional global-norm
gradient clipping, AdamW. Random tokens: the speed of a step does not depend on the data.

PyTorch gets its best settings on this machine: the thread count we use (torch.set_num_threads),
OMP_WAIT_POLICY=PASSIVE unless the caller set it (OpenMP workers otherwise spin against
OpenBLAS's threads on 2 cores; measured about 2x faster here), and whatever OPENBLAS_CORETYPE the
environment has (never set here). Debian's python3-torch does its float32 matmuls in OpenBLAS.

Prints one JSON object on stdout: tok/s (B*T / median step time), step times, parameters, and the
FLOPs per token by the same count as scripts/bench.sh (docs/performance.md).

usage: /usr/bin/python3 tools/torch_peer.py --dim 128 --n-layers 4 --n-heads 4 --n-kv-heads 4
          --hidden-dim 512 --vocab 1024 --batch 8 --seq 256 --steps 10 --threads 2
"""
import argparse
import json
import math
import os
import sys
import time

# libgomp reads its environment when torch loads it, so this must come before `import torch`.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):  # y = x / sqrt(mean(x^2) + eps) * w
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):  # (x1, x2) -> (-x2, x1) over the two halves of each head
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Attention(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.nh, self.nkv, self.hd = a.n_heads, a.n_kv_heads, a.head_dim
        self.wq = nn.Linear(a.dim, self.nh * self.hd, bias=False)
        self.wk = nn.Linear(a.dim, self.nkv * self.hd, bias=False)
        self.wv = nn.Linear(a.dim, self.nkv * self.hd, bias=False)
        self.wo = nn.Linear(self.nh * self.hd, a.dim, bias=False)
        self.att_drop = nn.Dropout(getattr(a, "att_dropout", 0.0))  # tools/sweep_tiny.py only

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        q = self.wq(x).view(B, T, self.nh, self.hd).transpose(1, 2)   # (B, NH, T, HD)
        k = self.wk(x).view(B, T, self.nkv, self.hd).transpose(1, 2)  # (B, NKV, T, HD)
        v = self.wv(x).view(B, T, self.nkv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if self.nkv != self.nh:  # each kv head serves NH/NKV query heads
            k = k.repeat_interleave(self.nh // self.nkv, dim=1)
            v = v.repeat_interleave(self.nh // self.nkv, dim=1)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.hd))   # (B, NH, T, T)
        att = self.att_drop(att.masked_fill(mask, float("-inf")).softmax(dim=-1))
        y = (att @ v).transpose(1, 2).reshape(B, T, self.nh * self.hd)
        return self.wo(y)


class MLP(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.w1 = nn.Linear(a.dim, a.hidden_dim, bias=False)  # gate
        self.w3 = nn.Linear(a.dim, a.hidden_dim, bias=False)  # up
        self.w2 = nn.Linear(a.hidden_dim, a.dim, bias=False)  # down
        self.drop = nn.Dropout(getattr(a, "ffn_dropout", 0.0))  # tools/sweep_tiny.py only

    def forward(self, x):
        return self.w2(self.drop(F.silu(self.w1(x)) * self.w3(x)))


class Block(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.attn_norm, self.attn = RMSNorm(a.dim, a.norm_eps), Attention(a)
        self.ffn_norm, self.mlp = RMSNorm(a.dim, a.norm_eps), MLP(a)
        self.drop = nn.Dropout(a.dropout)
        self.layer_drop = getattr(a, "layer_drop", 0.0)  # tools/sweep_tiny.py only

    def skip(self, y):  # stochastic depth: drop the whole branch for a row, scale the kept ones
        if not self.training or self.layer_drop == 0.0:
            return y
        keep = (torch.rand(y.shape[0], 1, 1, device=y.device) >= self.layer_drop).to(y.dtype)
        return y * keep / (1.0 - self.layer_drop)

    def forward(self, x, cos, sin, mask):
        x = x + self.skip(self.drop(self.attn(self.attn_norm(x), cos, sin, mask)))
        return x + self.skip(self.drop(self.mlp(self.ffn_norm(x))))


class Llama(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.tok_emb = nn.Embedding(a.vocab, a.dim)
        self.emb_drop = nn.Dropout(getattr(a, "emb_dropout", 0.0))  # tools/sweep_tiny.py only
        self.layers = nn.ModuleList(Block(a) for _ in range(a.n_layers))
        self.norm = RMSNorm(a.dim, a.norm_eps)
        # tools/sweep_tiny.py only: a separate output head instead of the tied embedding
        self.lm_head = nn.Linear(a.dim, a.vocab, bias=False) if getattr(a, "untied", False) else None
        # RoPE tables, rotate-half layout: frequency i serves dims i and i + HD/2
        inv = 1.0 / (a.rope_theta ** (torch.arange(0, a.head_dim, 2).float() / a.head_dim))
        ang = torch.outer(torch.arange(a.seq).float(), inv)
        ang = torch.cat((ang, ang), dim=-1)
        self.register_buffer("cos", ang.cos(), persistent=False)
        self.register_buffer("sin", ang.sin(), persistent=False)
        mask = torch.triu(torch.ones(a.seq, a.seq, dtype=torch.bool), diagonal=1)
        self.register_buffer("mask", mask, persistent=False)
        for n, p in self.named_parameters():  # N(0, 0.02); residual projections / sqrt(2L)
            if p.dim() == 2:
                std0 = getattr(a, "init_std", 0.02)  # tools/sweep_tiny.py may change it
                std = std0 / math.sqrt(2 * a.n_layers) if n.endswith(("wo.weight", "w2.weight")) else std0
                nn.init.normal_(p, 0.0, std)

    def forward(self, idx, targets):
        T = idx.shape[1]
        x = self.emb_drop(self.tok_emb(idx))
        cos, sin, mask = self.cos[:T], self.sin[:T], self.mask[:T, :T]
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        head = self.tok_emb.weight if self.lm_head is None else self.lm_head.weight
        logits = self.norm(x) @ head.t()  # tied output head unless untied
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))


def main():
    ap = argparse.ArgumentParser(description="time a Llama training step in PyTorch")
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--n-layers", type=int, default=4)
    ap.add_argument("--n-heads", type=int, default=4)
    ap.add_argument("--n-kv-heads", type=int, default=0, help="default: n-heads")
    ap.add_argument("--head-dim", type=int, default=0, help="default: dim / n-heads")
    ap.add_argument("--hidden-dim", type=int, default=512)
    ap.add_argument("--vocab", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--steps", type=int, default=10, help="timed steps (median reported)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--grad-clip", type=float, default=1.0, help="0 = off")
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--att-dropout", type=float, default=0.0, help="dropout on the attention probabilities")
    ap.add_argument("--norm-eps", type=float, default=1e-5)
    ap.add_argument("--rope-theta", type=float, default=10000.0)
    ap.add_argument("--seed", type=int, default=1337)
    a = ap.parse_args()
    a.n_kv_heads = a.n_kv_heads or a.n_heads
    a.head_dim = a.head_dim or a.dim // a.n_heads
    if a.n_heads % a.n_kv_heads:
        sys.exit("torch_peer: --n-heads must be a multiple of --n-kv-heads")

    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    model = Llama(a)
    model.train()
    # decoupled weight decay on the matrices only (norm gains are not decayed), as is usual
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": a.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    # foreach=True: one fused multi-tensor update (faster on CPU than the per-tensor loop)
    opt = torch.optim.AdamW(groups, lr=a.lr, betas=(0.9, 0.95), eps=1e-8, foreach=True)

    g = torch.Generator().manual_seed(a.seed)
    data = torch.randint(0, a.vocab, (a.batch, a.seq + 1), generator=g)
    x, y = data[:, :-1].contiguous(), data[:, 1:].contiguous()

    times, losses = [], []
    for step in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = model(x, y)
        loss.backward()
        if a.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), a.grad_clip)
        opt.step()
        dt = time.perf_counter() - t0
        losses.append(loss.item())
        if step >= a.warmup:
            times.append(dt)
    times.sort()
    med = times[len(times) // 2] if len(times) % 2 else 0.5 * (times[len(times) // 2 - 1] + times[len(times) // 2])

    n_params = sum(p.numel() for p in model.parameters())
    # FLOPs per token (docs/performance.md): 6 * params (all of them: tied, the embedding is the
    # output head's matmul) + attention's 12 * L * T * dim
    flops_tok = 6 * n_params + 12 * a.n_layers * a.seq * a.dim
    out = {
        "tok_s": a.batch * a.seq / med,
        "step_ms_median": med * 1e3,
        "step_ms_min": times[0] * 1e3,
        "step_ms_max": times[-1] * 1e3,
        "steps": a.steps,
        "params": n_params,
        "flops_per_token": flops_tok,
        "gflops": flops_tok * a.batch * a.seq / med * 1e-9,
        "first_loss": losses[0],
        "last_loss": losses[-1],
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "openblas_coretype_env": os.environ.get("OPENBLAS_CORETYPE"),
        "config": {k: getattr(a, k) for k in ("dim", "n_layers", "n_heads", "n_kv_heads", "head_dim",
                                               "hidden_dim", "vocab", "batch", "seq", "dropout", "att_dropout", "grad_clip")},
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
