#!/usr/bin/env python3
"""tools/make_lora_fixtures.py — LoRA fine-tuning in transformers + peft, step by step, for
`bin/train --init BASE --lora-init ADAPTER` to reproduce; peft's logits for adapters bin/export
wrote; transformers' AutoTokenizer ids for tokenizer files bin/export wrote.

Two modes.

  python3 tools/make_lora_fixtures.py --shards tests/fixtures/lora
      (no torch needed) writes the token shards train.bin and val.bin (llm.c's uint16 format):
      ids from a fixed linear congruential sequence, the same on every machine.

  python3 tools/make_lora_fixtures.py --out OUT --shards DIR [--export PEFT_DIR [--other-base DIR]
        [--merged DIR]] [--tokenizer NAME=DIR ...]
      writes under OUT:
  base/config.json, base/model.safetensors   a tiny LlamaForCausalLM saved in bfloat16 (untied
        head, GQA, max_position_embeddings 256, no tokenizer), matrices N(0, 0.1) and RMSNorm
        weights 1 + 0.1 N(0, 1) (fixture_io.init_llama_weights)
  adapter/adapter_config.json, adapter/adapter_model.safetensors   a peft LoRA on all seven
        projections (r 4, lora_alpha 8), its lora_A and lora_B set to N(0, 0.2): both non-zero,
        so every gradient is
  reference.fx   i32 `hparams_i` = steps, batch, seq; f32 `hparams_f` = lr, beta1, beta2, eps,
        weight_decay, grad_clip; `losses`, `grad_norms` (steps): the mean cross-entropy of each
        update's batch before it and the adapters' global gradient norm before clipping;
        `grad.<peft tensor name>`: the gradient of each adapter tensor at the first batch;
        with --export: i32 `export_tokens` (12), f32 `export_logits` (12, V): the logits of
        PeftModel.from_pretrained(base, PEFT_DIR) (base in float32) at every position, where
        PEFT_DIR holds adapters bin/export --format peft wrote; `export_logits_other`: the same
        on the base --other-base (the one they were trained on); `merged_logits`:
        LlamaForCausalLM.from_pretrained(--merged) (float32), a folder bin/export --format hf
        wrote from that LoRA checkpoint, adapters merged
  tokenizer_ids.json   with --tokenizer: for each NAME, AutoTokenizer.from_pretrained(DIR)'s ids
        of every text of TEXTS below, with add_special_tokens False ("plain") and True
        ("special"), and HF tokenizers' Tokenizer.from_file(DIR/tokenizer.json).encode(text,
        add_special_tokens=False) ("file") (DIR: a folder bin/export --format hf wrote from a
        model with a tokenizer.json). The two differ where transformers' tokenizer class
        replaces the file's normalizer and pre-tokenizer with its own.
  generate.log   versions and what was computed

How tests/fixtures/lora was made. Here (no torch): the shards; a LoRA checkpoint on
tests/fixtures/hf_init and what bin/export writes from it; two folders whose tokenizer is a
tokenizer.json (scripts/fetch_tokenizers.sh's), exported:

    python3 tools/make_lora_fixtures.py --shards tests/fixtures/lora
    bin/train --init tests/fixtures/hf_init --lora 4 --lora-alpha 8 --lora-targets q,k,v,o,gate,up,down \
        --data tests/fixtures/hf_init/train.bin --val-data tests/fixtures/hf_init/val.bin --steps 30 \
        --batch 2 --seq 16 --lr 3e-2 --warmup 0 --lr-schedule constant --dropout 0 --eval-every 0 \
        --eval-batches 1 --sample-chars 0 --threads 2 --seed 5 --tokenizer "" --ckpt-dir CK
    bin/export CK/model_00000030.bin tests/fixtures/lora/export --format peft
    bin/export CK/model_00000030.bin MERGED --format hf --dtype f32
    for n in llama3:hf_llama3_tiny llama2:hf_llama2_fp32: copy tests/fixtures/<fixture> and
        data/tokenizers/<n>/tokenizer.json, tokenizer_config.json into SRC_<n>, then
        bin/export SRC_<n> TOK_<n> --format hf

Then, where torch, transformers and peft are (the device), with those folders beside it:

    python3 tools/make_lora_fixtures.py --out tests/fixtures/lora --shards tests/fixtures/lora \
        --export tests/fixtures/lora/export --other-base tests/fixtures/hf_init --merged MERGED \
        --tokenizer llama3=TOK_llama3 --tokenizer llama2=TOK_llama2

The training is bin/train's with --shuffle 0 --lr-schedule constant --warmup 0 --dropout 0:
batch k is tokens [k*B*T, k*B*T + B*T] of train.bin (llm.c's sequential loader), loss = mean
cross-entropy over B*T, the adapters' global gradient norm clipped as clip_grad_norm_ does,
torch.optim.AdamW on the adapter parameters only (weight decay on all of them), the base frozen.
CPU, float32 (the bf16 base widened exactly), deterministic.
"""
import argparse
import json
import os
import shutil
import struct
import sys

STEPS, B, T = 6, 2, 16
LR, BETA1, BETA2, EPS, WD, CLIP = 1e-2, 0.9, 0.95, 1e-8, 0.1, 1.0
V, R, ALPHA = 256, 4, 8
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
EXPORT_TOKENS = [1, 17, 200, 5, 99, 42, 7, 250, 3, 128, 64, 31]
# whitespace runs and tabs, leading and trailing spaces, mixed line endings, digits, contractions,
# accents (composed and combining), CJK, emoji (with joiners and skin tones), characters the
# SentencePiece vocabulary lacks (byte fallback), both families' special-token text
TEXTS = [
    "Hello world",
    "   leading spaces and trailing   ",
    "tabs\tand\t\ttwo, then  double  spaces   and    four",
    "line one\r\nline two\rline three\n\n\nfour\n",
    "digits 1234567890 and 3.14159, 2024-12-31, 1,000,000",
    "I'm sure they've said we'll go; don't you think it's the CAT'S?",
    "caf\u00e9 na\u00efve r\u00e9sum\u00e9 and e\u0301 combining",
    "\u4eca\u65e5\u306f\u4e16\u754c \u4f60\u597d\uff0c\u4e16\u754c \ud55c\uad6d\uc5b4",
    "emoji \U0001F600\U0001F44D\U0001F3FD family \U0001F469\u200d\U0001F469\u200d\U0001F467 flag \U0001F1EF\U0001F1F5",
    "rare \u16a0\u16a2\u16a6 \U0001D518\U0001D52B\U0001D526 \u0f00 \uA9C1 symbols",
    "<|begin_of_text|>text with <|eot_id|> and <s> special </s> markers",
    "",
    " ",
    "KING RICHARD III:\nNow is the winter of our discontent\nMade glorious summer by this sun of York;",
]


def lcg_ids(n, seed):
    """n ids in [0, V) from a 64-bit linear congruential sequence (Knuth's MMIX constants)."""
    x, out = seed, []
    for _ in range(n):
        x = (x * 6364136223846793005 + 1442695040888963407) % 2 ** 64
        out.append((x >> 33) % V)
    return out


def write_shard(path, ids):
    with open(path, "wb") as f:
        f.write(struct.pack("<256i", 20240520, 1, len(ids), *([0] * 253)))
        f.write(struct.pack("<%dH" % len(ids), *ids))


def read_shard(path):
    with open(path, "rb") as f:
        hdr = struct.unpack("<256i", f.read(1024))
        return list(struct.unpack("<%dH" % hdr[2], f.read(2 * hdr[2])))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out")
    ap.add_argument("--shards", required=True)
    ap.add_argument("--export")
    ap.add_argument("--other-base")
    ap.add_argument("--merged")
    ap.add_argument("--tokenizer", action="append", default=[])
    a = ap.parse_args()
    if not a.out:
        os.makedirs(a.shards, exist_ok=True)
        write_shard(os.path.join(a.shards, "train.bin"), lcg_ids(STEPS * B * T + 1 + 29, 5))
        write_shard(os.path.join(a.shards, "val.bin"), lcg_ids(4 * B * T + 1, 6))
        print("wrote", a.shards, "train.bin val.bin")
        return

    import numpy as np
    import peft
    import torch
    import transformers
    from peft import LoraConfig, PeftModel, get_peft_model
    sys.path[:0] = [os.path.dirname(os.path.abspath(__file__)), "tools"]
    from fixture_io import load_llama_f32, tiny_llama, train_steps, write_fixture

    log = []

    def say(*x):
        line = " ".join(str(y) for y in x)
        print(line)
        log.append(line)

    say("torch", torch.__version__, "transformers", transformers.__version__, "peft", peft.__version__)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(21)
    live = tiny_llama(False, 22)   # tools/make_init_fixture.py's model, untied
    base_dir = os.path.join(a.out, "base")
    shutil.rmtree(base_dir, ignore_errors=True)
    live.to(torch.bfloat16).save_pretrained(base_dir)
    for fn in os.listdir(base_dir):
        if fn not in ("config.json", "model.safetensors"):
            os.remove(os.path.join(base_dir, fn))

    def load_base(d=base_dir):
        return load_llama_f32(d).eval()

    # the adapter: peft's LoRA on every projection, A and B drawn non-zero
    model = get_peft_model(load_base(), LoraConfig(r=R, lora_alpha=ALPHA, target_modules=TARGETS, lora_dropout=0.0,
                                                   bias="none", task_type="CAUSAL_LM"))
    g = torch.Generator().manual_seed(23)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_" in name:
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
    ad_dir = os.path.join(a.out, "adapter")
    shutil.rmtree(ad_dir, ignore_errors=True)
    model.save_pretrained(ad_dir)
    for fn in os.listdir(ad_dir):
        if fn not in ("adapter_config.json", "adapter_model.safetensors"):
            os.remove(os.path.join(ad_dir, fn))

    # train: reload both from the files (what bin/train reads)
    model = PeftModel.from_pretrained(load_base(), ad_dir, is_trainable=True)
    model.train()
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    say("trainable:", len(params), "tensors,", sum(p.numel() for _, p in params), "parameters")
    opt = torch.optim.AdamW([p for _, p in params], lr=LR, betas=(BETA1, BETA2), eps=EPS, weight_decay=WD)
    train = read_shard(os.path.join(a.shards, "train.bin"))
    fx = {"hparams_i": np.array([STEPS, B, T], dtype=np.int32),
          "hparams_f": np.array([LR, BETA1, BETA2, EPS, WD, CLIP], dtype=np.float32)}

    def keep_grads(k):   # the gradients of the first batch, under peft's saved names (no "default")
        if k == 0:
            for n, p in params:
                fx["grad." + n.replace(".default", "")] = p.grad.detach().clone()

    losses, norms = train_steps(model, opt, [p for _, p in params], train, STEPS, B, T, CLIP, keep_grads, say)
    fx["losses"] = np.array(losses, dtype=np.float32)
    fx["grad_norms"] = np.array(norms, dtype=np.float32)

    def logits_of(m):
        with torch.no_grad():
            return m(torch.tensor([EXPORT_TOKENS])).logits[0]

    if a.export:   # adapters bin/export --format peft wrote, on this base and on their own
        fx["export_tokens"] = np.array(EXPORT_TOKENS, dtype=np.int32)
        for key, d in (("export_logits", base_dir), ("export_logits_other", a.other_base)):
            if not d:
                continue
            pm = PeftModel.from_pretrained(load_base(d), a.export).eval()
            plain = logits_of(load_base(d))
            fx[key] = lg = logits_of(pm)
            say(key, "on", os.path.basename(os.path.normpath(d)), "max |logit| %.4f, adapters move them by up to %.4f"
                % (float(lg.abs().max()), float((lg - plain).abs().max())))
    if a.merged:
        fx["merged_logits"] = lg = logits_of(load_base(a.merged))
        say("merged_logits max |logit| %.4f" % float(lg.abs().max()))
    write_fixture(os.path.join(a.out, "reference.fx"), fx)

    if a.tokenizer:
        from tokenizers import Tokenizer
        from transformers import AutoTokenizer
        texts = TEXTS
        out = {"transformers_version": transformers.__version__, "texts": texts, "ids": {}}
        for spec in a.tokenizer:
            name, d = spec.split("=", 1)
            tok = AutoTokenizer.from_pretrained(d)
            tf = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
            out["ids"][name] = {"plain": [tok(t, add_special_tokens=False).input_ids for t in texts],
                                "special": [tok(t).input_ids for t in texts],
                                "file": [tf.encode(t, add_special_tokens=False).ids for t in texts],
                                "class": type(tok).__name__}
            o = out["ids"][name]
            say("tokenizer", name, type(tok).__name__, [len(i) for i in o["plain"]], "texts where it differs from the file:",
                [k for k in range(len(texts)) if o["plain"][k] != o["file"][k]])
        with open(os.path.join(a.out, "tokenizer_ids.json"), "w") as f:
            json.dump(out, f, ensure_ascii=True)
    with open(os.path.join(a.out, "generate.log"), "w") as f:
        f.write("\n".join(log) + "\n")


if __name__ == "__main__":
    main()
