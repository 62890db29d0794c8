"""tools/make_hf_fixtures.py — Hugging Face checkpoints and what transformers computes from them.

Writes, under --out (normally tests/fixtures):
  hf_llama2_fp32/     config.json + model.safetensors of a tiny Llama-2-style model
                      (float32, MHA, untied, rope_theta 10000, no scaling, bos 1, eos 2)
  hf_llama32_bf16/    config.json + model-0000K-of-0000N.safetensors + model.safetensors.index.json
                      of a tiny Llama-3.2-style model (bfloat16, GQA, tied, rope_theta 500000,
                      llama3 rope scaling, eos given as a list), sharded into several files
  hf_llama2_fp32.fx, hf_llama32_bf16.fx   for 3 prompts k: prompt{k} (T), logits{k} (T,V) at every
                      prompt position, greedy{k} (32) = generate() greedy new ids,
                      greedy_margin{k} (32) = top1 - top2 logit at each greedy choice (small = a
                      near-tie, where float rounding could flip the choice); meta, eos_ids
  hf_llama3_tiny/, hf_llama3_tiny.fx  (only with --llama3-tokenizer FILE) a Llama 3.2-layout
                      checkpoint with the whole Llama 3 vocabulary and width 4: prompt{k}
                      (BOS + HF tokenizers' ids of "ROMEO:" / "JULIET:\n"), logits_last{k} (V),
                      greedy{k} (64), greedy_margin{k} (64)

The config.json files of the two tiny checkpoints are written in the classic layout that Meta's
downloads use ("rope_theta" and "rope_scaling" at the top level) instead of transformers 5's
"rope_parameters"; hf_llama3_tiny keeps transformers 5's layout, so the C loader is
tested on both. Every reference number is computed by reloading the saved directory with
from_pretrained(dir, dtype=float32): never from the live model, and never by .to(bfloat16) on a
live model (that would also round RoPE's inv_freq buffer).

    python3 tools/make_hf_fixtures.py --out tests/fixtures \
        --llama3-tokenizer data/tokenizers/llama3/tokenizer.json

Needs torch, transformers, safetensors, tokenizers. CPU is enough.
"""
import argparse
import json
import math
import os
import shutil
import struct
import sys
import tempfile

import numpy as np
import torch
import transformers
from transformers import LlamaConfig, LlamaForCausalLM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_io import init_llama_weights, llama_config, write_fixture  # noqa: E402


TINY = {
    "hf_llama2_fp32": dict(
        vocab=256, dim=64, n_layers=2, n_heads=4, n_kv_heads=4, head_dim=16, hidden=172,
        max_pos=128, eps=1e-5, theta=10000.0, scaling=None, tied=False, bos=1, eos=2,
        save_dtype=torch.float32, shard=None, init_std=0.1),
    # original_max_position_embeddings 64 (not 8192) so the scaling matters at these lengths;
    # with head_dim 16 the 8 RoPE wavelengths are 6.3, 32, 167, ... tokens, so with original 64
    # (bands: < 16 kept, 16..64 smoothed, > 64 divided by factor) every branch is used.
    "hf_llama32_bf16": dict(
        vocab=300, dim=64, n_layers=2, n_heads=4, n_kv_heads=2, head_dim=16, hidden=128,
        max_pos=128, eps=1e-5, theta=500000.0, tied=True, bos=256, eos=[257, 258],
        scaling=dict(factor=32.0, low_freq_factor=1.0, high_freq_factor=4.0,
                     original_max_position_embeddings=64),
        save_dtype=torch.bfloat16, shard="40KB", init_std=0.1),
}
# Matrices ~ N(0, init_std) with init_std 0.1, not 0.02: at 0.02 the attention and MLP outputs are
# tiny next to the residual stream, and a tied model's greedy output just repeats its last input
# token (a weak test). RMSNorm weights ~ 1 + 0.1 N(0,1).
PROMPT_LENS = [1, 7, 20]
MIN_MARGIN = 1e-3   # top1 - top2 logit gap demanded at every greedy choice (float error ~1e-6)
MIN_DISTINCT = 4    # distinct ids demanded in a greedy continuation
N_GREEDY = 32


def expected_inv_freq(head_dim, theta, scaling):
    """RoPE inverse frequencies computed here, independently of transformers (Meta's llama3
    apply_scaling), to check that the library honoured the config it loaded."""
    inv = 1.0 / (theta ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim))
    if not scaling:
        return inv
    f, lo, hi, orig = (scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"],
                       scaling["original_max_position_embeddings"])
    out = []
    for fr in inv:
        wl = 2 * math.pi / fr
        if wl < orig / hi:
            out.append(fr)
        elif wl > orig / lo:
            out.append(fr / f)
        else:
            s = (orig / wl - lo) / (hi - lo)
            out.append((1 - s) * fr / f + s * fr)
    return np.array(out)


def rope_ok(model, head_dim, theta, scaling):
    inv = model.model.rotary_emb.inv_freq.detach().double().cpu().numpy()
    exp = expected_inv_freq(head_dim, theta, scaling)
    ok = np.allclose(inv, exp, rtol=1e-6, atol=0)
    print("  inv_freq", inv, "expected match:", ok)
    return ok


def load_fp32(path):
    """from_pretrained in float32 (transformers 5 calls the argument dtype; 4.x torch_dtype)."""
    try:
        m = LlamaForCausalLM.from_pretrained(path, dtype=torch.float32, attn_implementation="eager")
    except TypeError:
        m = LlamaForCausalLM.from_pretrained(path, torch_dtype=torch.float32,
                                             attn_implementation="eager")
    for p in m.parameters():
        assert p.dtype == torch.float32, "loaded parameter is %s, not float32" % p.dtype
    m.eval()
    return m


def safetensors_dtypes(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        hdr = json.loads(f.read(n))
    return {v["dtype"] for k, v in hdr.items() if k != "__metadata__"}


def to_classic_config(path):
    """Rewrite transformers 5's "rope_parameters" as Meta's classic rope_theta + rope_scaling."""
    with open(path) as f:
        cfg = json.load(f)
    if "rope_parameters" not in cfg:
        return cfg
    rp = dict(cfg.pop("rope_parameters"))
    cfg["rope_theta"] = rp.pop("rope_theta")
    cfg["rope_scaling"] = rp if rp.get("rope_type", "default") != "default" else None
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    return cfg


def greedy(model, prompt, n, eos_ids):
    """generate() greedy with EOS suppressed until n tokens (min_new_tokens), then check the ids
    against a full recompute: every generated id must be the plain argmax of the full-sequence
    logits (so EOS suppression never changed a choice). Returns (ids, margins, clean)."""
    ids = torch.tensor([prompt])
    with torch.no_grad():
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
                             max_new_tokens=n, min_new_tokens=n, pad_token_id=eos_ids[0],
                             eos_token_id=eos_ids)
        new = out[0, len(prompt):]
        assert len(new) == n, "generate returned %d new tokens" % len(new)
        full = model(input_ids=out[:, :-1]).logits[0, len(prompt) - 1:]
    top2 = torch.topk(full, 2, dim=-1).values
    margins = (top2[:, 0] - top2[:, 1]).numpy()
    clean = bool(torch.equal(full.argmax(-1), new))
    return new.numpy().astype(np.int32), margins.astype(np.float32), clean


def make_tiny(tag, spec, outdir, seed):
    print("== %s" % tag)
    cfg = llama_config(spec, spec["bos"], spec["eos"])
    torch.manual_seed(seed)
    live = LlamaForCausalLM(cfg).float()
    if spec["tied"] and live.lm_head.weight.data_ptr() != live.model.embed_tokens.weight.data_ptr():
        live.tie_weights()
    init_llama_weights(live, spec["init_std"], seed + 1)
    ref_state = {k: v.detach().clone().to(spec["save_dtype"]).float()
                 for k, v in live.state_dict().items()}

    d = os.path.join(outdir, tag)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    with tempfile.TemporaryDirectory() as tmp:
        # Casting the live model is fine for SAVING (inv_freq is not saved); the reference is
        # computed below from the reloaded files.
        live.to(spec["save_dtype"])
        kw = {"max_shard_size": spec["shard"]} if spec["shard"] else {}
        try:
            live.save_pretrained(tmp, safe_serialization=True, **kw)
        except TypeError:
            live.save_pretrained(tmp, **kw)
        files = sorted(os.listdir(tmp))
        print("  saved:", files)
        for fn in files:
            if fn == "config.json" or fn.endswith(".safetensors") or fn == "model.safetensors.index.json":
                shutil.copy(os.path.join(tmp, fn), d)
    shards = sorted(f for f in os.listdir(d) if f.endswith(".safetensors"))
    if spec["shard"]:
        assert len(shards) >= 2 and os.path.exists(os.path.join(d, "model.safetensors.index.json")), shards
    else:
        assert shards == ["model.safetensors"], shards
    want = {torch.float32: "F32", torch.bfloat16: "BF16"}[spec["save_dtype"]]
    for s in shards:
        assert safetensors_dtypes(os.path.join(d, s)) == {want}, (s, safetensors_dtypes(os.path.join(d, s)))

    cfg_path = os.path.join(d, "config.json")
    with open(cfg_path) as f:
        v5_cfg = f.read()
    to_classic_config(cfg_path)
    model = load_fp32(d)
    if not rope_ok(model, spec["head_dim"], spec["theta"], spec["scaling"]):
        print("  WARNING: classic rope keys not honoured; keeping transformers' own config.json")
        with open(cfg_path, "w") as f:
            f.write(v5_cfg)
        model = load_fp32(d)
        assert rope_ok(model, spec["head_dim"], spec["theta"], spec["scaling"])
    with open(cfg_path) as f:
        print("  config.json:", json.dumps(json.load(f), sort_keys=True))
    # The reloaded weights are exactly the saved ones (bf16-rounded for the bf16 checkpoint).
    st = model.state_dict()
    for k, v in ref_state.items():
        assert torch.equal(st[k], v), "reloaded %s differs" % k
    if spec["tied"]:
        assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()

    eos_ids = spec["eos"] if isinstance(spec["eos"], list) else [spec["eos"]]
    specials = {spec["bos"], *eos_ids}
    pool = np.array([i for i in range(spec["vocab"]) if i not in specials])
    rng = np.random.default_rng(seed + 7)
    fx = {"meta": np.array([spec["vocab"], spec["bos"], eos_ids[0]], dtype=np.int32),
          "eos_ids": np.array(eos_ids, dtype=np.int32)}
    for k, T in enumerate(PROMPT_LENS):
        # Random prompts until the greedy continuation is a good test: every id the plain argmax
        # of a full recompute (EOS suppression changed nothing), no near-ties, some variety.
        best = None
        for attempt in range(30):
            prompt = [spec["bos"]] + [int(x) for x in rng.choice(pool, T - 1)]
            gen, margins, clean = greedy(model, prompt, N_GREEDY, eos_ids)
            distinct = len(set(gen.tolist()))
            good = clean and margins.min() >= MIN_MARGIN and distinct >= MIN_DISTINCT
            score = (clean and margins.min() >= MIN_MARGIN, distinct, margins.min())
            if best is None or score > best[0]:
                best = (score, prompt, gen, margins)
            if good:
                break
            print("  prompt %d attempt %d: clean %s, min margin %.3g, %d distinct; new prompt"
                  % (k, attempt, clean, margins.min(), distinct))
        _, prompt, gen, margins = best
        assert best[0][0], "no prompt with a clean, tie-free greedy continuation"
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([prompt])).logits[0].numpy()
        fx["prompt%d" % k] = np.array(prompt, dtype=np.int32)
        fx["logits%d" % k] = logits
        fx["greedy%d" % k] = gen
        fx["greedy_margin%d" % k] = margins
        print("  prompt%d %s" % (k, prompt))
        print("  greedy%d %s (min margin %.3g)" % (k, gen.tolist(), margins.min()))
    path = os.path.join(outdir, tag + ".fx")
    write_fixture(path, fx)
    print("  wrote", path, os.path.getsize(path), "bytes; dir",
          sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d)), "bytes")


def make_llama3_tiny(tokenizer_json, outdir, seed=4242):
    """A Llama 3.2-layout checkpoint with the full Llama 3 vocabulary (128,256 ids, so its
    tokenizer and chat format are Meta's) and a tiny width, random weights: bf16, two shards and
    an index, tied embeddings, transformers 5's config layout (rope_parameters, llama3 scaling
    with Meta's values). hf_llama3_tiny.fx: for "ROMEO:" and "JULIET:\n", prompt{k} (BOS + HF
    tokenizers' ids), logits_last{k} (V), greedy{k} (64 ids from generate()), greedy_margin{k}."""
    from tokenizers import Tokenizer
    import tokenizers
    print("== hf_llama3_tiny, tokenizers", tokenizers.__version__)
    tok = Tokenizer.from_file(tokenizer_json)
    rope = {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 32.0, "low_freq_factor": 1.0,
            "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}
    cfg = LlamaConfig(
        vocab_size=128256, hidden_size=4, intermediate_size=16, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, head_dim=8, max_position_embeddings=131072,
        rms_norm_eps=1e-5, tie_word_embeddings=True, rope_parameters=rope, attention_dropout=0.0,
        bos_token_id=128000, eos_token_id=[128001, 128008, 128009], pad_token_id=None)
    torch.manual_seed(seed)
    live = LlamaForCausalLM(cfg).float()
    if live.lm_head.weight.data_ptr() != live.model.embed_tokens.weight.data_ptr():
        live.tie_weights()
    # Width 4 keeps the file at 1 MB; matrices ~ N(0, 1) (not 0.02) so that the logits over the
    # 128,256 ids spread out and greedy choices are not near-ties.
    init_llama_weights(live, 1.0, seed + 1)
    d = os.path.join(outdir, "hf_llama3_tiny")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    with tempfile.TemporaryDirectory() as tmp:
        live.to(torch.bfloat16)
        live.save_pretrained(tmp, max_shard_size="1MB")
        for fn in sorted(os.listdir(tmp)):
            if fn == "config.json" or fn.endswith(".safetensors") or fn == "model.safetensors.index.json":
                shutil.copy(os.path.join(tmp, fn), d)
    shards = sorted(f for f in os.listdir(d) if f.endswith(".safetensors"))
    print("  files:", {f: os.path.getsize(os.path.join(d, f)) for f in sorted(os.listdir(d))})
    assert len(shards) == 2 and os.path.exists(os.path.join(d, "model.safetensors.index.json")), shards
    model = load_fp32(d)
    assert rope_ok(model, 8, 500000.0, {k: rope[k] for k in ("factor", "low_freq_factor", "high_freq_factor",
                                                             "original_max_position_embeddings")})
    eos_ids = [128001, 128008, 128009]
    fx = {"meta": np.array([128256, 128000, 128001], dtype=np.int32)}
    for k, text in enumerate(["ROMEO:", "JULIET:\n"]):
        ids = [128000] + tok.encode(text, add_special_tokens=False).ids
        assert tok.decode(ids[1:]) == text
        gen, margins, clean = greedy(model, ids, 64, eos_ids)
        assert clean, "EOS suppression changed a greedy choice"
        assert margins.min() >= MIN_MARGIN, "near-tie in the greedy continuation: %g" % margins.min()
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([ids])).logits[0].numpy()
        fx["prompt%d" % k] = np.array(ids, dtype=np.int32)
        fx["logits_last%d" % k] = logits[-1]
        fx["greedy%d" % k] = gen
        fx["greedy_margin%d" % k] = margins
        print("  prompt%d %r -> ids %s" % (k, text, ids))
        print("  greedy%d %s (min margin %.4g, %d distinct)" % (k, gen.tolist(), margins.min(), len(set(gen.tolist()))))
    path = os.path.join(outdir, "hf_llama3_tiny.fx")
    write_fixture(path, fx)
    print("  wrote", path, os.path.getsize(path), "bytes")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/fixtures")
    ap.add_argument("--llama3-tokenizer", default=None,
                    help="Llama 3 tokenizer.json (data/tokenizers/llama3/): also write hf_llama3_tiny")
    ap.add_argument("--skip-tiny", action="store_true", help="only hf_llama3_tiny")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.use_deterministic_algorithms(True)
    print("torch", torch.__version__, "transformers", transformers.__version__)
    for i, (tag, spec) in enumerate(TINY.items()):
        if args.skip_tiny:
            break
        make_tiny(tag, spec, args.out, seed=777 + 100 * i)
    if args.llama3_tokenizer:
        make_llama3_tiny(args.llama3_tokenizer, args.out)


if __name__ == "__main__":
    main()
