#!/usr/bin/env python3
"""GGUF files made by llama.cpp's own converter (convert_hf_to_gguf.py), for the GGUF reader's
tests and for comparisons with llama.cpp.

  python3 tools/make_gguf_fixtures.py --llamacpp DIR --tiny HF_DIR --shakespeare HF_DIR \
      --text FILE --tokenizer-json FILE --out OUT

Needs torch, transformers, sentencepiece, numpy (the device machine has them) and a llama.cpp
checkout in DIR (convert_hf_to_gguf.py and gguf-py/). Writes to OUT:

  tiny_f32.gguf, tiny_f16.gguf, tiny_bf16.gguf  tests/fixtures/hf_llama32_bf16 (2 layers, dim 64,
      vocab 300) with a 300-piece SentencePiece BPE tokenizer trained here on --text lowercased
      and cut down to letters, space and ",.'\n" (tokenizer.ggml.model "llama"): <unk>, <s>,
      </s>, the 256 byte-fallback pieces, the 30 characters, and 11 merges
  tiny_sp.model                                the SentencePiece model itself (the reference for
      the tokenizer read from GGUF)
  tiny_sp_ids.txt                              sentencepiece's ids for the lines of --text's
      first 2000 bytes, one line of ids per line
  shakespeare_bf16.gguf.partN                  the trained shakespeare-llama3-tiny model with the
      Llama 3 tokenizer.json (tokenizer.ggml.model "gpt2"), bf16 as trained, split in pieces
      of 15 MB (cat them in order)

Two adjustments to the configs, both so that this llama.cpp version's converter reads the same
model transformers does: transformers 5 writes "rope_parameters" (theta and the llama3
scaling) where the converter looks for "rope_theta" and "rope_scaling"; and the converter takes
original_max_position_embeddings from the top level of config.json, not from rope_scaling.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys


def fix_config(folder):
    path = os.path.join(folder, "config.json")
    cfg = json.load(open(path))
    rp = cfg.get("rope_parameters")
    if rp:
        cfg["rope_theta"] = rp.get("rope_theta", cfg.get("rope_theta", 10000.0))
        scaling = {k: v for k, v in rp.items() if k != "rope_theta"}
        if scaling.get("rope_type", "default") != "default":
            cfg["rope_scaling"] = scaling
    rs = cfg.get("rope_scaling")
    if rs and "original_max_position_embeddings" in rs:
        cfg["original_max_position_embeddings"] = rs["original_max_position_embeddings"]
    json.dump(cfg, open(path, "w"), indent=2)


def convert(llamacpp, folder, outfile, outtype, pre=None):
    args = [folder, "--outfile", outfile, "--outtype", outtype]
    if pre is None:
        subprocess.run([sys.executable, os.path.join(llamacpp, "convert_hf_to_gguf.py")] + args, check=True)
        return
    # the converter names a BPE pre-tokenizer by hashing its output on a test string; this
    # tokenizer.json is Llama 3's vocabulary, so name it as such should the hash not be listed
    code = ("import sys; sys.path.insert(0, %r); sys.argv = ['convert_hf_to_gguf.py'] + %r; "
            "import convert_hf_to_gguf as c; c.Model.get_vocab_base_pre = lambda self, tok: %r; c.main()"
            % (llamacpp, args, pre))
    subprocess.run([sys.executable, "-c", code], check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llamacpp", required=True)
    ap.add_argument("--tiny", required=True)
    ap.add_argument("--shakespeare", help="leave out to make only the tiny files")
    ap.add_argument("--text", required=True)
    ap.add_argument("--tokenizer-json")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    work = os.path.join(a.out, "..", "gguf_work")
    os.makedirs(work, exist_ok=True)

    # ---- tiny: the HF fixture plus a 300-piece SentencePiece tokenizer ----
    import sentencepiece as spm
    tiny = os.path.join(work, "tiny")
    shutil.copytree(a.tiny, tiny, dirs_exist_ok=True)
    fix_config(tiny)
    vocab = json.load(open(os.path.join(tiny, "config.json")))["vocab_size"]
    small = os.path.join(work, "small.txt")
    keep = set("abcdefghijklmnopqrstuvwxyz ,.'\n")
    text = "".join(ch for ch in open(a.text, encoding="utf-8").read().lower() if ch in keep)
    open(small, "w").write(text)
    spm.SentencePieceTrainer.train(input=small, model_prefix=os.path.join(work, "sp"), vocab_size=vocab,
                                   model_type="bpe", character_coverage=1.0, byte_fallback=True,
                                   max_sentence_length=100000)
    shutil.copy(os.path.join(work, "sp.model"), os.path.join(tiny, "tokenizer.model"))
    shutil.copy(os.path.join(work, "sp.model"), os.path.join(a.out, "tiny_sp.model"))
    sp = spm.SentencePieceProcessor(model_file=os.path.join(work, "sp.model"))
    text = open(a.text, encoding="utf-8").read()[:2000]  # the original text: capitals fall back to bytes
    with open(os.path.join(a.out, "tiny_sp_ids.txt"), "w") as f:
        for line in text.split("\n"):
            if line:
                f.write(" ".join(str(i) for i in sp.encode(line)) + "\n")
    for t in ("f32", "f16", "bf16"):
        convert(a.llamacpp, tiny, os.path.join(a.out, f"tiny_{t}.gguf"), t)

    # ---- shakespeare-llama3-tiny with the Llama 3 tokenizer.json ----
    if not a.shakespeare:
        return
    sh = os.path.join(work, "shakespeare")
    shutil.copytree(a.shakespeare, sh, dirs_exist_ok=True)
    fix_config(sh)
    shutil.copy(a.tokenizer_json, os.path.join(sh, "tokenizer.json"))
    tc = os.path.join(os.path.dirname(a.tokenizer_json), "tokenizer_config.json")
    if os.path.exists(tc):
        shutil.copy(tc, os.path.join(sh, "tokenizer_config.json"))
    big = os.path.join(work, "shakespeare_bf16.gguf")
    try:
        convert(a.llamacpp, sh, big, "bf16")
    except subprocess.CalledProcessError:
        print("pre-tokenizer hash not recognized: writing it as llama-bpe", flush=True)
        convert(a.llamacpp, sh, big, "bf16", pre="llama-bpe")
    data = open(big, "rb").read()
    piece = 15 * 1000 * 1000
    for i in range(0, len(data), piece):
        open(os.path.join(a.out, f"shakespeare_bf16.gguf.part{i // piece}"), "wb").write(data[i:i + piece])
    print("shakespeare_bf16.gguf", len(data), "bytes")


if __name__ == "__main__":
    main()
