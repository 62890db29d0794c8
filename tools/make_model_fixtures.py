"""tools/make_model_fixtures.py — whole-model reference fixtures from transformers' LlamaForCausalLM.

Builds two tiny seeded float32 Llama models, runs one fixed batch through them on the CPU, and
writes everything the C tests compare against (tests/fixtures/model_*.fx, format: tests/fixture.h):
weights under our names in HF's (out, in) layout, inputs/targets, logits, loss, every parameter's
gradient, and the losses of 5 AdamW steps (with and without weight decay).

    python3 tools/make_model_fixtures.py --out tests/fixtures

Needs torch and transformers (run it where they are installed; CPU is enough). The loss is
computed here, not by passing labels= to the model: transformers shifts labels by one, while our
model_forward takes targets already aligned with the inputs.
"""
import argparse
import copy
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
import transformers
from transformers import LlamaForCausalLM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_io import init_llama_weights, llama_config, write_fixture  # noqa: E402

B, T = 2, 16
ADAM_STEPS = 5
LR, BETA1, BETA2, EPS = 1e-2, 0.9, 0.95, 1e-8

# Two shapes: GQA + tied head + llama3 rope scaling, and plain MHA + untied head.
# gqa_tied's original_max_position_embeddings is 256 (not 32) on purpose: with head_dim 8 and
# theta 500000 the four RoPE wavelengths are 6.3, 167, 4443, 1.2e5 tokens; with original 256 the
# llama3 bands are "high" < 64 <= "medium" <= 256 < "low", so one frequency falls in each band
# (kept, smoothly interpolated, divided by factor) and all three branches are exercised.
MODELS = {
    "gqa_tied": dict(vocab=64, dim=32, n_layers=2, n_heads=4, n_kv_heads=2, head_dim=8, hidden=64,
                     max_pos=64, eps=1e-5, theta=500000.0, tied=True,
                     scaling=dict(factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
                                  original_max_position_embeddings=256)),
    "mha_untied": dict(vocab=64, dim=32, n_layers=2, n_heads=4, n_kv_heads=4, head_dim=8, hidden=48,
                       max_pos=64, eps=1e-5, theta=10000.0, tied=False, scaling=None),
}


def expected_inv_freq(head_dim, theta, scaling):
    """RoPE inverse frequencies computed independently here (Meta's llama3 apply_scaling), so
    we can check that transformers really honoured the scaling keys we passed."""
    inv = 1.0 / (theta ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim))
    if scaling is None:
        return inv, ["unscaled"] * len(inv)
    f, lo, hi, orig = (scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"],
                       scaling["original_max_position_embeddings"])
    out, bands = [], []
    for fr in inv:
        wavelen = 2 * math.pi / fr
        if wavelen < orig / hi:
            out.append(fr); bands.append("high(kept)")
        elif wavelen > orig / lo:
            out.append(fr / f); bands.append("low(/factor)")
        else:
            s = (orig / wavelen - lo) / (hi - lo)
            out.append((1 - s) * fr / f + s * fr); bands.append("medium(smoothed s=%.3f)" % s)
    return np.array(out), bands


def build(spec, seed):
    cfg = llama_config(spec)
    try:
        cfg._attn_implementation = "eager"  # the plain softmax(QK^T)V path, easiest to trust
    except Exception as e:  # noqa: BLE001
        print("  (could not select eager attention: %s)" % e)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(cfg).float()
    print("  attention implementation:", model.config._attn_implementation)
    if spec["tied"] and model.lm_head.weight.data_ptr() != model.model.embed_tokens.weight.data_ptr():
        model.tie_weights()
    # Explicit init (not relying on the library's _init_weights): every matrix ~ N(0, 0.02),
    # every RMSNorm weight ~ 1 + 0.1 N(0,1) so that norm gradients are non-trivial.
    init_llama_weights(model, cfg.initializer_range, seed + 1)
    if spec["tied"]:
        assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr(), \
            "tie_word_embeddings did not tie lm_head to embed_tokens"
    else:
        assert model.lm_head.weight.data_ptr() != model.model.embed_tokens.weight.data_ptr()
    for p in model.parameters():
        assert p.dtype == torch.float32
    return model


def check_rope(model, spec):
    inv = model.model.rotary_emb.inv_freq.detach().double().numpy()
    exp, bands = expected_inv_freq(spec["head_dim"], spec["theta"], spec["scaling"])
    unscaled, _ = expected_inv_freq(spec["head_dim"], spec["theta"], None)
    print("  inv_freq (transformers):", inv)
    print("  inv_freq (expected)    :", exp, bands)
    assert np.allclose(inv, exp, rtol=1e-6, atol=0), "transformers' inv_freq != expected"
    if spec["scaling"]:
        assert not np.allclose(inv, unscaled), "rope scaling had no effect"
    scale = getattr(model.model.rotary_emb, "attention_scaling", 1.0)
    assert scale == 1.0, "unexpected attention_scaling %r" % scale


def params_by_our_names(model, tied):
    m = model.model
    L = m.layers
    names = {
        "tok_emb": lambda: m.embed_tokens.weight,
        "rms_att": lambda: [l.input_layernorm.weight for l in L],
        "wq": lambda: [l.self_attn.q_proj.weight for l in L],
        "wk": lambda: [l.self_attn.k_proj.weight for l in L],
        "wv": lambda: [l.self_attn.v_proj.weight for l in L],
        "wo": lambda: [l.self_attn.o_proj.weight for l in L],
        "rms_ffn": lambda: [l.post_attention_layernorm.weight for l in L],
        "w1": lambda: [l.mlp.gate_proj.weight for l in L],
        "w2": lambda: [l.mlp.down_proj.weight for l in L],
        "w3": lambda: [l.mlp.up_proj.weight for l in L],
        "rms_final": lambda: m.norm.weight,
    }
    if not tied:
        names["lm_head"] = lambda: model.lm_head.weight
    return names


def collect(names, grad):
    out = {}
    for n, f in names.items():
        v = f()
        if isinstance(v, list):
            v = torch.stack([(p.grad if grad else p).detach().clone() for p in v])
        else:
            v = (v.grad if grad else v).detach().clone()
        out[("grad_" if grad else "") + n] = v.float().numpy()
    return out


def loss_of(model, inputs, targets):
    logits = model(input_ids=inputs).logits
    V = logits.shape[-1]
    return logits, F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))


def adamw_losses(model0, inputs, targets, wd):
    model = copy.deepcopy(model0)
    model.train()
    # torch's AdamW applies decoupled decay p -= lr*wd*p to EVERY parameter in the group, so with
    # one group here the RMSNorm weights and the embedding decay too (the C test must do the same).
    opt = torch.optim.AdamW(model.parameters(), lr=LR, betas=(BETA1, BETA2), eps=EPS,
                            weight_decay=wd, foreach=False)
    losses = []
    for _ in range(ADAM_STEPS):
        opt.zero_grad(set_to_none=True)
        _, loss = loss_of(model, inputs, targets)
        loss.backward()
        losses.append(loss.item())
        opt.step()
    with torch.no_grad():
        _, after = loss_of(model, inputs, targets)
    return np.array(losses, dtype=np.float32), np.array([after.item()], dtype=np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/fixtures")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.use_deterministic_algorithms(True)
    print("torch", torch.__version__, "transformers", transformers.__version__)
    for i, (tag, spec) in enumerate(MODELS.items()):
        print("== model_%s" % tag)
        model = build(spec, seed=1234 + 100 * i)
        check_rope(model, spec)
        model0 = copy.deepcopy(model)  # pristine weights for the AdamW runs
        if spec["tied"]:
            assert model0.lm_head.weight.data_ptr() == model0.model.embed_tokens.weight.data_ptr()
        g = torch.Generator().manual_seed(42 + i)
        inputs = torch.randint(0, spec["vocab"], (B, T), generator=g)
        targets = torch.randint(0, spec["vocab"], (B, T), generator=g)

        model.train()  # dropout is 0; train() only so nothing eval-specific is taken
        logits, loss = loss_of(model, inputs, targets)
        loss.backward()
        names = params_by_our_names(model, spec["tied"])
        fx = {}
        fx["config"] = np.array([spec["dim"], spec["n_layers"], spec["n_heads"], spec["n_kv_heads"],
                                 spec["head_dim"], spec["hidden"], spec["vocab"], spec["max_pos"],
                                 int(spec["tied"])], dtype=np.int32)
        sc = spec["scaling"]
        fx["config_f"] = np.array([spec["eps"], spec["theta"],
                                   sc["factor"] if sc else 0, sc["low_freq_factor"] if sc else 0,
                                   sc["high_freq_factor"] if sc else 0,
                                   sc["original_max_position_embeddings"] if sc else 0],
                                  dtype=np.float32)
        fx.update(collect(names, grad=False))
        fx["inputs"] = inputs.numpy().astype(np.int32)
        fx["targets"] = targets.numpy().astype(np.int32)
        fx["logits"] = logits.detach().numpy()
        fx["loss"] = np.array([loss.item()], dtype=np.float32)
        fx.update(collect(names, grad=True))
        fx["adamw_hparams"] = np.array([LR, BETA1, BETA2, EPS, 0.0], dtype=np.float32)
        fx["adamw_losses"], fx["adamw_loss_after"] = adamw_losses(model0, inputs, targets, 0.0)
        fx["adamw_wd_hparams"] = np.array([LR, BETA1, BETA2, EPS, 0.1], dtype=np.float32)
        fx["adamw_wd_losses"], fx["adamw_wd_loss_after"] = adamw_losses(model0, inputs, targets, 0.1)
        assert abs(fx["adamw_losses"][0] - loss.item()) < 1e-6 * max(1.0, loss.item())

        path = os.path.join(args.out, "model_%s.fx" % tag)
        write_fixture(path, fx)
        print("  loss %.7f (ln V = %.4f)" % (loss.item(), math.log(spec["vocab"])))
        print("  adamw_losses   ", fx["adamw_losses"], "after", fx["adamw_loss_after"])
        print("  adamw_wd_losses", fx["adamw_wd_losses"], "after", fx["adamw_wd_loss_after"])
        for k, v in fx.items():
            extra = ""
            if k.startswith("grad_"):
                extra = " |g|=%.3e" % np.linalg.norm(v)
            print("  %-20s %-6s %s%s" % (k, v.dtype, tuple(v.shape), extra))
        print("  wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
