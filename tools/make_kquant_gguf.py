#!/usr/bin/env python3
"""tools/make_kquant_gguf.py — a random float32 Llama GGUF whose every row length is a multiple
of 256, so that llama-quantize can make all of its matrices K-quants (a row it cannot make one
falls back to another type). tools/make_kquant_reference.sh quantizes it to Q4_K_M.

    python3 tools/make_kquant_gguf.py OUT.gguf

dim 256, 1 layer, 4 heads of 64, 1 KV head, hidden 256, tied embeddings, context 256; the
300-piece SentencePiece tokenizer (every tokenizer.* key) of tests/fixtures/gguf/tiny_f32.gguf.
Weights seeded N(0, std): the embedding 0.15 (logits of std about 2.4 after the final norm),
the other matrices 1/sqrt(fan in), RMSNorm weights 1. Python's standard library alone.
"""
import math
import random
import struct
import sys

SRC = "tests/fixtures/gguf/tiny_f32.gguf"
C, L, NH, NKV, HD, H, CTX = 256, 1, 4, 1, 64, 256, 256
ALIGN = 32

SCALAR = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}  # GGUF value type -> bytes


def skip_value(b, p, t):
    """The offset past one value of GGUF type t at b[p:]."""
    if t == 8:  # string: u64 length + bytes
        return p + 8 + struct.unpack_from("<Q", b, p)[0]
    if t == 9:  # array: u32 type, u64 count, the values
        et, n = struct.unpack_from("<IQ", b, p)
        p += 12
        if et in SCALAR:
            return p + n * SCALAR[et]
        for _ in range(n):
            p = skip_value(b, p, et)
        return p
    return p + SCALAR[t]


def tokenizer_kvs(path):
    """(count, raw bytes) of the key-values of path whose key starts with tokenizer."""
    b = open(path, "rb").read()
    assert b[:4] == b"GGUF" and struct.unpack_from("<I", b, 4)[0] == 3
    n_kv = struct.unpack_from("<Q", b, 16)[0]
    p, n, raw = 24, 0, b""
    for _ in range(n_kv):
        start = p
        klen = struct.unpack_from("<Q", b, p)[0]
        key = b[p + 8:p + 8 + klen].decode()
        p += 8 + klen
        t = struct.unpack_from("<I", b, p)[0]
        p = skip_value(b, p + 4, t)
        if key.startswith("tokenizer."):
            n, raw = n + 1, raw + b[start:p]
    return n, raw


def gs(s):
    return struct.pack("<Q", len(s.encode())) + s.encode()


def main():
    out = sys.argv[1]
    n_tok, tok = tokenizer_kvs(SRC)
    V = 300
    kvs = [("general.architecture", 8, gs("llama")), ("general.name", 8, gs("kquant-random")),
           ("general.file_type", 4, struct.pack("<I", 0)),
           ("llama.context_length", 4, struct.pack("<I", CTX)), ("llama.embedding_length", 4, struct.pack("<I", C)),
           ("llama.block_count", 4, struct.pack("<I", L)), ("llama.feed_forward_length", 4, struct.pack("<I", H)),
           ("llama.attention.head_count", 4, struct.pack("<I", NH)),
           ("llama.attention.head_count_kv", 4, struct.pack("<I", NKV)),
           ("llama.attention.key_length", 4, struct.pack("<I", HD)),
           ("llama.attention.value_length", 4, struct.pack("<I", HD)),
           ("llama.rope.dimension_count", 4, struct.pack("<I", HD)),
           ("llama.rope.freq_base", 6, struct.pack("<f", 10000.0)),
           ("llama.attention.layer_norm_rms_epsilon", 6, struct.pack("<f", 1e-5)),
           ("llama.vocab_size", 4, struct.pack("<I", V))]
    rng = random.Random(256)
    tensors = [("token_embd.weight", [C, V], 0.15), ("output_norm.weight", [C], None)]
    for l in range(L):
        for n, ne in (("attn_q", [C, NH * HD]), ("attn_k", [C, NKV * HD]), ("attn_v", [C, NKV * HD]),
                      ("attn_output", [NH * HD, C]), ("ffn_gate", [C, H]), ("ffn_up", [C, H]), ("ffn_down", [H, C])):
            tensors.append((f"blk.{l}.{n}.weight", ne, 1 / math.sqrt(ne[0])))
        tensors += [(f"blk.{l}.attn_norm.weight", [C], None), (f"blk.{l}.ffn_norm.weight", [C], None)]
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs) + n_tok)
    head += b"".join(gs(k) + struct.pack("<I", t) + v for k, t, v in kvs) + tok
    infos, data = b"", b""
    for name, ne, std in tensors:
        n = math.prod(ne)
        vals = [1.0] * n if std is None else [rng.gauss(0.0, std) for _ in range(n)]
        raw = struct.pack(f"<{n}f", *vals)
        infos += gs(name) + struct.pack("<I", len(ne)) + struct.pack(f"<{len(ne)}Q", *ne) + struct.pack("<IQ", 0, len(data))
        data += raw + b"\0" * (-len(raw) % ALIGN)
    head += infos
    with open(out, "wb") as f:
        f.write(head + b"\0" * (-len(head) % ALIGN) + data)
    print(f"{out}: {len(tensors)} tensors, {len(head) + len(data)} bytes")


if __name__ == "__main__":
    main()
