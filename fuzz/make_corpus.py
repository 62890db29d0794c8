#!/usr/bin/env python3
"""fuzz/make_corpus.py — writes the seed corpus of every fuzz target into fuzz/corpus/<target>/.

Tiny files in each format, made here from the formats' definitions (nothing third-party): the
fuzzer starts from valid inputs and mutates them, so it reaches past the first checks. Our own
formats (model checkpoints, training states) are written by the project's own save functions
through tools/fuzz_corpus.c, which this script builds and runs (after `make`).

    python3 fuzz/make_corpus.py        # from the repository root; rewrites fuzz/corpus/
"""
import base64, json, os, random, struct, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
SEP = b"\n@@@@\n"  # FUZZ_SEP in fuzz/fuzz.h
rng = random.Random(1234)


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def floats(n, scale=0.5):
    return [rng.uniform(-scale, scale) for _ in range(n)]


# ---- tiktoken rank files ----

MERGES = [b" t", b"th", b"he", b" th", b"the", b" the", b"in", b"er", b"an", b"\n\n", b"  ",
          "é".encode(), "日".encode(), "日本".encode(), b"<|", b"|>"]


def rank_file(merges=MERGES, eol=b"\n", order=None):
    toks = [bytes([b]) for b in (order or range(256))] + merges
    return b"".join(base64.b64encode(t) + b" " + str(i).encode() + eol for i, t in enumerate(toks))


def tiktoken_load():
    put("tiktoken_load", "bytes_only", b"\x00" + rank_file([]))
    put("tiktoken_load", "merges_gpt2", b"\x01" + rank_file())
    put("tiktoken_load", "merges_cl100k_crlf", b"\x02" + rank_file(eol=b"\r\n"))
    put("tiktoken_load", "merges_llama3_reversed", b"\x03" + rank_file(order=list(range(255, -1, -1))))
    put("tiktoken_load", "missing_byte", b"\x00" + rank_file([])[:-20])
    put("tiktoken_load", "garbage", b"\x00" + b"not base64!! x\n==== 5\n")


TEXTS = [b"Hello, world! It's a test.", b"ROMEO:\nBut soft, what light through yonder window breaks?\n\n",
         "Привет мир, 日本語のテキスト, مرحبا, नमस्ते, 👋🏽 👨‍👩‍👧".encode(), b"\xff\xfe\x80abc\xc3(\xe2\x82",
         b"<|endoftext|> and <|eot_id|><|begin_of_text|>", b"1234567890 3.14159  \t\r\n  x", b"a" * 300,
         b"don't I'LL we've THEY'RE", b"\x00\x01\x02 nul bytes"]


def tiktoken_roundtrip():
    for i, t in enumerate(TEXTS):
        for enc in range(4):  # 0 = built-in; 1..3 = GPT-2, cl100k, Llama 3 when data/tokenizers/ has them
            put("tiktoken_roundtrip", f"text{i}_enc{enc}", bytes([enc]) + t)


# ---- safetensors ----

DT = {"F32": ("<f", 4), "F16": ("<e", 2)}


def tensor_bytes(vals, dtype):
    if dtype == "BF16":  # the top 16 bits of the float32
        return b"".join(struct.pack("<I", struct.unpack("<I", struct.pack("<f", v))[0])[2:] for v in vals)
    fmt, _ = DT[dtype]
    return b"".join(struct.pack(fmt, v) for v in vals)


def safetensors(tensors, metadata=None):
    """tensors: list of (name, dtype, shape, values)."""
    header, blobs, off = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, vals in tensors:
        b = tensor_bytes(vals, dtype) if dtype in ("F32", "F16", "BF16") else bytes(vals)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def tiny_llama(dtype="F32", tied=True, C=4, H=8, L=1, NH=2, NKV=1, V=16):
    HD = C // NH
    t = [("model.embed_tokens.weight", dtype, [V, C], floats(V * C)),
         ("model.norm.weight", dtype, [C], floats(C, 1))]
    if not tied:
        t.append(("lm_head.weight", dtype, [V, C], floats(V * C)))
    for l in range(L):
        p = f"model.layers.{l}."
        t += [(p + "self_attn.q_proj.weight", dtype, [NH * HD, C], floats(NH * HD * C)),
              (p + "self_attn.k_proj.weight", dtype, [NKV * HD, C], floats(NKV * HD * C)),
              (p + "self_attn.v_proj.weight", dtype, [NKV * HD, C], floats(NKV * HD * C)),
              (p + "self_attn.o_proj.weight", dtype, [C, NH * HD], floats(C * NH * HD)),
              (p + "mlp.gate_proj.weight", dtype, [H, C], floats(H * C)),
              (p + "mlp.down_proj.weight", dtype, [C, H], floats(C * H)),
              (p + "mlp.up_proj.weight", dtype, [H, C], floats(H * C)),
              (p + "input_layernorm.weight", dtype, [C], floats(C, 1)),
              (p + "post_attention_layernorm.weight", dtype, [C], floats(C, 1))]
    return t


def config(tied=True, C=4, H=8, L=1, NH=2, NKV=1, V=16, **extra):
    c = {"architectures": ["LlamaForCausalLM"], "hidden_size": C, "intermediate_size": H,
         "num_hidden_layers": L, "num_attention_heads": NH, "num_key_value_heads": NKV, "vocab_size": V,
         "max_position_embeddings": 8, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "hidden_act": "silu",
         "tie_word_embeddings": tied, "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32"}
    c.update(extra)
    return json.dumps(c, indent=2).encode()


def safetensors_seeds():
    put("safetensors", "empty", safetensors([]))
    put("safetensors", "meta_only", safetensors([], {"format": "pt"}))
    put("safetensors", "three_dtypes", safetensors([("a", "F32", [2, 3], floats(6)), ("b", "BF16", [4], floats(4)),
                                                    ("c", "F16", [1, 1, 2], floats(2))], {"format": "pt"}))
    put("safetensors", "ints_and_empty", safetensors([("i", "I64", [2], list(range(16))), ("z", "F32", [0, 5], []),
                                                      ("u", "U8", [3], [1, 2, 3]), ("s", "F32", [], floats(1))]))
    put("safetensors", "tiny_llama_bf16", safetensors(tiny_llama("BF16")))


def hf_seeds():
    llama3 = {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
              "original_max_position_embeddings": 8192}
    gen = json.dumps({"bos_token_id": 1, "eos_token_id": [2, 3], "do_sample": True}).encode()
    put("hf_config", "f32_tied", config() + SEP + SEP + safetensors(tiny_llama()))
    put("hf_config", "f32_untied_gen", config(tied=False) + SEP + gen + SEP + safetensors(tiny_llama(tied=False)))
    put("hf_config", "bf16_llama3_rope", config(rope_scaling=llama3, rope_theta=500000.0) + SEP + gen + SEP +
        safetensors(tiny_llama("BF16")))
    put("hf_config", "f16_mha_2layers", config(NKV=2, L=2) + SEP + SEP + safetensors(tiny_llama("F16", NKV=2, L=2)))
    put("hf_config", "rope_parameters", config(rope_parameters={"rope_theta": 500000.0, "rope_type": "default"},
                                               head_dim=2) + SEP + SEP + safetensors(tiny_llama()))
    put("hf_config", "config_only", config())

    # hf_index: the fixed config of fuzz/hf_index.c (C 4, H 8, L 1, NH 2, NKV 1, V 16, tied), split in two
    t = tiny_llama("BF16")
    for variant, (a, b) in {"split_half": (t[:5], t[5:]), "all_in_first": (t, [])}.items():
        wm = {name: "model-00001-of-00002.safetensors" for name, *_ in a}
        wm.update({name: "model-00002-of-00002.safetensors" for name, *_ in b})
        index = json.dumps({"metadata": {"total_size": 1234}, "weight_map": wm}, indent=2).encode()
        put("hf_index", variant, index + SEP + safetensors(a) + SEP + safetensors(b))
    wm = {name: "model-00001-of-00002.safetensors" for name, *_ in t}
    put("hf_index", "with_config", json.dumps({"weight_map": wm}).encode() + SEP + safetensors(t) + SEP +
        safetensors([]) + SEP + config(eos_token_id=[2, 3]))


# ---- llama2.c ----

def llama2c(v1=False, shared=True, C=4, H=8, L=1, NH=2, NKV=1, V=16, S=8):
    HD, kvd = C // NH, NKV * (C // NH)
    tok, rms_att, wq, wk, wv, wo = floats(V * C), floats(L * C, 1), floats(L * C * C), floats(L * C * kvd), \
        floats(L * C * kvd), floats(L * C * C)
    rms_ffn, w1, w2, w3, rms_final = floats(L * C, 1), floats(L * H * C), floats(L * C * H), floats(L * H * C), floats(C, 1)
    wcls = [] if shared else floats(V * C)
    f = lambda xs: struct.pack(f"<{len(xs)}f", *xs)
    if v1:
        hdr = struct.pack("<Ii7iB", 0x616B3432, 1, C, H, L, NH, NKV, V, S, 1 if shared else 0)
        hdr += b"\0" * (256 - len(hdr))
        body = [rms_att, rms_ffn, rms_final, tok, wq, wk, wv, wo, w1, w2, w3, wcls]
    else:
        hdr = struct.pack("<7i", C, H, L, NH, NKV, V if shared else -V, S)
        freq = floats(S * (HD // 2))
        body = [tok, rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3, rms_final, freq, freq, wcls]
    return hdr + b"".join(f(x) for x in body)


def llama2c_seeds():
    put("llama2c_bin", "legacy_shared", llama2c())
    put("llama2c_bin", "legacy_unshared", llama2c(shared=False))
    put("llama2c_bin", "v1_shared", llama2c(v1=True))
    put("llama2c_bin", "v1_unshared_mha", llama2c(v1=True, shared=False, NKV=2))
    put("llama2c_bin", "truncated", llama2c()[:100])


def sp_tokenizer(extra):
    pieces = [(0.0, b"<unk>"), (0.0, b"\n<s>\n"), (0.0, b"\n</s>\n")]
    pieces += [(0.0, b"<0x%02X>" % b) for b in range(256)]
    pieces += [(-float(i), p) for i, p in enumerate(extra)]
    max_len = max(len(p) for _, p in pieces)
    return struct.pack("<I", max_len) + b"".join(struct.pack("<fi", s, len(p)) + p for s, p in pieces)


def sp_seeds():
    words = [b" ", b"e", b"h", b"l", b"o", b"w", b"r", b"d", b"he", b"ll", b"hell", b"hello", b" hello", b" w",
             b" wor", b" world", "é".encode(), "日".encode()]
    tok = sp_tokenizer(words)
    put("sp_tokenizer", "hello", tok + SEP + b"hello world")
    put("sp_tokenizer", "utf8_fallback", tok + SEP + "héllo 日本 \xff".encode("utf-8", "surrogateescape"))
    put("sp_tokenizer", "empty_prompt", tok + SEP)
    put("sp_tokenizer", "bytes_only", sp_tokenizer([]) + SEP + b"abc\x80\xff")


# ---- llm.c token shards ----

def shard(tokens, wide=False, extra=(0, 0)):
    hdr = [20240801 if wide else 20240520, 7 if wide else 1, len(tokens), *extra] + [0] * 251
    return struct.pack("<256i", *hdr) + struct.pack(f"<{len(tokens)}{'I' if wide else 'H'}", *tokens)


def shard_seeds():
    toks = [rng.randrange(0, 1000) for _ in range(100)]
    put("shard", "u16", shard(toks))
    put("shard", "u32", shard([t * 100 for t in toks], wide=True))
    put("shard", "u16_position", shard(toks, extra=(1, 7)))
    put("shard", "u32_position", shard(toks[:40], wide=True, extra=(3, 2)))
    put("shard", "short", shard(toks[:3]))
    put("shard", "empty", shard([]))


# ---- GGUF (llama.cpp) ----

def gguf(ttype=0, C=32, H=64, L=1, NH=2, NKV=1, V=260, tokenizer="llama", tied=True, rope_freqs=True, HD=None,
         types=None):
    """A llama GGUF v3 (formats/gguf.h). ttype: the ggml type of the matrices (0 f32, 1 f16,
    8 q8_0, 2 q4_0, 30 bf16, 12 q4_K, 13 q5_K, 14 q6_K), filled with random bytes of the right
    size; types: {name: type} for the matrices whose name starts with name instead. HD: the head
    dimension (llama.attention.key_length; None: C // NH, not written)."""
    types = types or {}
    kl = HD is not None
    HD = HD if kl else C // NH
    gs = lambda x: struct.pack("<Q", len(x.encode())) + x.encode()
    kvs = [("general.architecture", 8, gs("llama")), ("llama.context_length", 4, struct.pack("<I", 64)),
           ("llama.embedding_length", 4, struct.pack("<I", C)), ("llama.block_count", 4, struct.pack("<I", L)),
           ("llama.feed_forward_length", 4, struct.pack("<I", H)),
           ("llama.attention.head_count", 4, struct.pack("<I", NH)),
           ("llama.attention.head_count_kv", 4, struct.pack("<I", NKV)),
           ("llama.rope.freq_base", 6, struct.pack("<f", 500000.0)),
           ("llama.attention.layer_norm_rms_epsilon", 6, struct.pack("<f", 1e-5))]
    if kl:
        kvs.append(("llama.attention.key_length", 4, struct.pack("<I", HD)))
    if tokenizer == "llama":
        toks = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)] + ["\u2581t"]
    else:
        b2u = bytes_to_unicode()  # GPT-2's byte-level alphabet
        toks = [b2u[b] for b in range(256)] + ["Ġt", "he"]
        toks = (toks + ["x%d" % i for i in range(V)])[:V - 1] + ["<|endoftext|>"]
        kvs.append(("tokenizer.ggml.token_type", 9, struct.pack("<IQ", 5, V) + struct.pack(f"<{V}i", *([1] * (V - 1) + [3]))))
    toks = (toks + ["x%d" % i for i in range(V)])[:V]
    kvs += [("tokenizer.ggml.model", 8, gs(tokenizer)),
            ("tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, V) + b"".join(gs(t) for t in toks)),
            ("tokenizer.ggml.scores", 9, struct.pack("<IQ", 6, V) + struct.pack(f"<{V}f", *floats(V))),
            ("tokenizer.ggml.bos_token_id", 4, struct.pack("<I", 1))]
    if tokenizer == "gpt2":
        kvs.append(("tokenizer.ggml.pre", 8, gs("gpt-2")))
    blocks = {0: (1, 4), 1: (1, 2), 30: (1, 2), 8: (32, 34), 2: (32, 18), 12: (256, 144), 13: (256, 176),
              14: (256, 210)}  # elements, bytes per block
    typ = lambda name: next((t for n, t in types.items() if name.startswith(n)), ttype)  # noqa: E731
    tensors = [("token_embd.weight", [C, V], typ("token_embd")), ("output_norm.weight", [C], 0)]
    if not tied:
        tensors.append(("output.weight", [C, V], typ("output.")))
    if rope_freqs:
        tensors.append(("rope_freqs.weight", [HD // 2], 0))
    for l in range(L):
        for n, ne in (("attn_q", [C, NH * HD]), ("attn_k", [C, NKV * HD]), ("attn_v", [C, NKV * HD]),
                      ("attn_output", [NH * HD, C]), ("ffn_gate", [C, H]), ("ffn_up", [C, H]), ("ffn_down", [H, C])):
            tensors.append((f"blk.{l}.{n}.weight", ne, typ(n)))
        tensors += [(f"blk.{l}.attn_norm.weight", [C], 0), (f"blk.{l}.ffn_norm.weight", [C], 0)]
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs))
    head += b"".join(gs(k) + struct.pack("<I", t) + v for k, t, v in kvs)
    data, infos = b"", b""
    for name, ne, t in tensors:
        n = 1
        for d in ne:
            n *= d
        e, b = blocks[t]
        if name.startswith("rope_freqs"):
            raw = struct.pack(f"<{n}f", *[1.0 + i for i in range(n)])
        elif t == 0:
            raw = struct.pack(f"<{n}f", *floats(n))
        else:
            raw = bytes(rng.randrange(256) for _ in range(n // e * b))
            if t in (8, 2):  # sane f16 scales (0x2000 = 2^-7) at the start of each block
                raw = b"".join(b"\x00\x20" + raw[i + 2:i + b] for i in range(0, len(raw), b))
            elif t in (12, 13):  # d and dmin
                raw = b"".join(b"\x00\x20\x00\x20" + raw[i + 4:i + b] for i in range(0, len(raw), b))
            elif t == 14:  # d, at the end of the block
                raw = b"".join(raw[i:i + b - 2] + b"\x00\x20" for i in range(0, len(raw), b))
        infos += gs(name) + struct.pack("<I", len(ne)) + struct.pack(f"<{len(ne)}Q", *ne) + struct.pack("<IQ", t, len(data))
        data += raw + b"\0" * (-len(raw) % 32)
    head += infos
    return head + b"\0" * (-len(head) % 32) + data


def gguf_seeds():
    put("gguf", "f32_sp", gguf())
    put("gguf", "q8_0_untied", gguf(8, tied=False))
    put("gguf", "q4_0_gqa_2layers", gguf(2, L=2, NH=4, NKV=2))
    put("gguf", "f16_gpt2", gguf(1, tokenizer="gpt2", V=261, rope_freqs=False))
    put("gguf", "bf16", gguf(30))
    put("gguf", "truncated", gguf()[:300])


def gguf_kquant_seeds():
    """The K-quants of a llama.cpp Q4_K_M file: rows of 256 where they are used, Q8_0 elsewhere
    (a head dimension of 16 keeps attn_output's and ffn_down's rows short)."""
    put("gguf", "q4_k_m_mix", gguf(8, C=256, H=64, NH=2, NKV=1, HD=16,
                                   types={"token_embd": 12, "attn_q": 12, "attn_k": 12, "attn_v": 14, "ffn_gate": 13,
                                          "ffn_up": 12}))
# ---- Hugging Face tokenizer.json ----

def bytes_to_unicode():
    """GPT-2's byte -> printable stand-in."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def hf_tokenizer_seeds():
    """A byte-level (Llama 3 style) and a SentencePiece-style (Llama 2 style) tokenizer.json."""
    b2u = bytes_to_unicode()
    u = lambda bs: "".join(b2u[b] for b in bs)  # noqa: E731
    vocab = {u(bytes([b])): b for b in range(256)}
    merges = []
    for m in MERGES:
        parts = (m[:1], m[1:]) if len(m) > 1 else None
        if parts and u(m) not in vocab and u(parts[0]) in vocab and u(parts[1]) in vocab:
            vocab[u(m)] = len(vocab)
            merges.append(u(parts[0]) + " " + u(parts[1]))
    n = len(vocab)
    bl = {"version": "1.0", "added_tokens": [
        {"id": n, "content": "<|begin_of_text|>", "special": True, "single_word": False, "lstrip": False,
         "rstrip": False, "normalized": False},
        {"id": n + 1, "content": "<s>", "special": False, "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": False}],
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "(?i:'s|'t)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
             "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "fuse_unk": False, "byte_fallback": False,
                  "ignore_merges": True, "vocab": vocab, "merges": merges}}
    put("hf_tokenizer", "bytelevel", json.dumps(bl).encode() + SEP + "it's the 日本 <|begin_of_text|>é".encode())
    gpt2 = dict(bl, pre_tokenizer={"type": "ByteLevel", "add_prefix_space": True, "use_regex": True})
    gpt2["model"] = dict(bl["model"], ignore_merges=False, merges=[m.split(" ") for m in merges])
    put("hf_tokenizer", "gpt2_style", json.dumps(gpt2).encode() + SEP + b"the  then\n\nthe")

    sp = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        sp["<0x%02X>" % b] = len(sp)
    spm = []
    for a, b in [("▁", "t"), ("h", "e"), ("▁t", "he"), ("▁", "▁"), ("i", "n"), ("▁", "a")]:
        for x in (a, b):
            sp.setdefault(x, len(sp))
        sp.setdefault(a + b, len(sp))
        spm.append(a + " " + b)
    for ch in "abcdefghijklmnopqrstuvwxyz.,!":
        sp.setdefault(ch, len(sp))
    added = [{"id": i, "content": c, "special": True, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False} for c, i in (("<unk>", 0), ("<s>", 1), ("</s>", 2))]
    l2 = {"version": "1.0", "added_tokens": added,
          "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
                                                             {"type": "Replace", "pattern": {"String": " "},
                                                              "content": "▁"}]},
          "pre_tokenizer": None,
          "decoder": {"type": "Sequence", "decoders": [
              {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"},
              {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
          "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "fuse_unk": True, "byte_fallback": True,
                    "vocab": sp, "merges": spm}}
    put("hf_tokenizer", "sentencepiece", json.dumps(l2).encode() + SEP + "the in a 日本 <s>x</s>  ".encode())
    l2u = dict(l2, model=dict(l2["model"], byte_fallback=False))
    put("hf_tokenizer", "unk_fuse", json.dumps(l2u).encode() + SEP + "théé q".encode())
    put("hf_tokenizer", "malformed", json.dumps(l2).encode()[:300])


def ours():
    """model_<N>.bin and state_<N>.bin through the project's own writers (tools/fuzz_corpus.c)."""
    exe = os.path.join(ROOT, "build", "fuzz_corpus")
    libs = subprocess.run(["pkg-config", "--libs", "openblas", "libpcre2-8", "libcjson"], capture_output=True,
                          text=True, check=True).stdout.split()
    cflags = subprocess.run(["pkg-config", "--cflags", "openblas", "libpcre2-8", "libcjson"], capture_output=True,
                            text=True, check=True).stdout.split()
    subprocess.run(["gcc", "-std=c11", "-D_GNU_SOURCE", "-O1", "-fopenmp", "-I" + ROOT, *cflags,
                    os.path.join(ROOT, "tools", "fuzz_corpus.c"), os.path.join(ROOT, "build", "libscratchllama.a"),
                    "-o", exe, *libs, "-lm", "-fopenmp"], check=True)
    subprocess.run([exe, CORPUS], check=True)


if __name__ == "__main__":
    tiktoken_load(); tiktoken_roundtrip(); safetensors_seeds(); hf_seeds(); llama2c_seeds(); sp_seeds()
    shard_seeds(); gguf_seeds(); hf_tokenizer_seeds()
    gguf_kquant_seeds()  # last: the seeds above stay the bytes they were
    if "--no-ours" not in sys.argv:
        ours()
    for t in sorted(os.listdir(CORPUS)):
        files = os.listdir(os.path.join(CORPUS, t))
        print(f"{t}: {len(files)} files, {sum(os.path.getsize(os.path.join(CORPUS, t, f)) for f in files)} bytes")
