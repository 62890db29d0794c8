"""tools/make_tiktoken_fixtures.py — expected token ids from Python tiktoken, for tests/test_tiktoken.c.

Builds the three encodings offline from the rank files (no network): GPT-2 (r50k_base) and cl100k_base
with the pattern and special tokens of tiktoken's own constructors in tiktoken_ext.openai_public (their
rank loader is swapped for a local read), and Llama 3 with the pattern and the 256 special tokens of
Meta's tokenizer.py (meta-llama/llama-models, models/llama3_1/api/tokenizer.py). Then it encodes

  * a broad list of cases (tests/fixtures/tiktoken/cases.json): each case's UTF-8 bytes in base64, and
    per encoding the ids of encode_ordinary(text) and of encode(text, allowed_special="all");
  * the whole tiny Shakespeare corpus per encoding (tests/fixtures/tiktoken/corpus.json): the token
    count, FNV-1a 64 of the ids as little-endian int32 (easy to recompute in C, unlike sha256), the
    first 4096 ids and the last 1024 ids.

Usage (where tiktoken is installed):
  python3 tools/make_tiktoken_fixtures.py --tokenizers data/tokenizers --corpus data/tinyshakespeare.txt \
      --out tests/fixtures/tiktoken
"""
import argparse
import base64
import json
import os
import random
import struct
import sys
import time

import tiktoken

# Meta's Llama 3 pattern (tokenizer.py); also the pattern of tiktoken's cl100k before tiktoken rewrote
# it with possessive quantifiers.
LLAMA3_PAT = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"  # noqa: E501
# Fallbacks only if tiktoken_ext.openai_public cannot be used (recorded in the output as "fallback").
GPT2_PAT_FALLBACK = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
CL100K_PAT_FALLBACK = LLAMA3_PAT


def load_ranks(path):
    """The tiktoken rank-file format: one 'base64(token bytes) rank' per line."""
    ranks = {}
    with open(path, "rb") as f:
        for line in f.read().splitlines():
            if line:
                tok, rank = line.split()
                ranks[base64.b64decode(tok)] = int(rank)
    return ranks


def llama3_specials(n_base):
    names = [
        "<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
        "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|step_id|>",
        "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>",
    ]
    names += [f"<|reserved_special_token_{2 + i}|>" for i in range(256 - len(names))]
    return {name: n_base + i for i, name in enumerate(names)}


def openai_definition(ctor_name, ranks, log):
    """tiktoken's own constructor dict (pat_str, special_tokens...), its rank download replaced."""
    try:
        import tiktoken_ext.openai_public as op
        op.load_tiktoken_bpe = lambda *a, **k: ranks
        return getattr(op, ctor_name)(), "tiktoken_ext.openai_public." + ctor_name
    except Exception as e:  # noqa: BLE001
        log(f"WARNING: {ctor_name} constructor failed ({e!r}); using fallback pattern")
    if ctor_name == "r50k_base":
        return {"pat_str": GPT2_PAT_FALLBACK, "special_tokens": {"<|endoftext|>": 50256},
                "explicit_n_vocab": 50257}, "fallback"
    return {"pat_str": CL100K_PAT_FALLBACK, "special_tokens": {
        "<|endoftext|>": 100257, "<|fim_prefix|>": 100258, "<|fim_middle|>": 100259,
        "<|fim_suffix|>": 100260, "<|endofprompt|>": 100276}}, "fallback"


def openai_encoding(ctor_name, ranks, log):
    """The Encoding tiktoken's constructor describes, built from local ranks."""
    d, src = openai_definition(ctor_name, ranks, log)
    enc = tiktoken.Encoding(name=ctor_name, pat_str=d["pat_str"], mergeable_ranks=ranks,
                            special_tokens=d["special_tokens"],
                            explicit_n_vocab=d.get("explicit_n_vocab"))
    return enc, src


def cases():
    rnd = random.Random(1234)
    letters = "abcdefghijklmnopqrstuvwxyz"
    c = [
        ("empty", ""),
        ("ascii", "Hello, World! The quick brown fox jumps over the lazy dog."),
        ("contractions", "I'm you're we've they'll she'd it's don't can't"),
        ("contractions_upper", "I'M YOU'RE WE'VE THEY'LL SHE'D IT'S DON'T"),
        ("contractions_mixed", "you'LL I'M We'Re it'S They'Ve 'sss ' s '' 'x 'D"),
        ("long_s_contraction", "it'\u017f and 'K '\u212a"),
        ("digits", "1234567 12345678901234567890 3.14159 1,000,000 x1y22z333 007"),
        ("digits_space", " 42  42 \t42\n42"),
        ("digits_unicode", "\u0663\u0664\u0665 \u00b2\u00b3 \u2166 \u0967\u0968\u0969"),
        ("spaces", "a  b   c    d"),
        ("spaces_lead", "    indented\n        more"),
        ("spaces_trail", "trailing   "),
        ("space_newline_end", "x \n "),
        ("space_newline_mid", "x \n y"),
        ("newlines", "a\n\nb\n\n\nc\n"),
        ("newlines_spaces", "a\n\n  \nb  \n  \n  c \n"),
        ("crlf", "line one\r\nline two\r\n\r\nline four\r\n"),
        ("cr_alone", "a\rb\r\rc"),
        ("tabs", "\tone\t\ttwo\t \tthree\t"),
        ("only_ws", " \t\n \r\n  "),
        ("unicode_spaces", "a\u00a0b\u3000c\u2028d\u2029e\u0085f\u2003g\u180eh"),
        ("cyrillic", "Привет, мир! Как дела? Съешь же ещё этих мягких французских булок."),
        ("cjk", "你好，世界。こんにちは世界。안녕하세요 세계. 日本語のテキスト"),
        ("arabic", "مرحبا بالعالم! هذا نص عربي، مع أرقام ١٢٣."),
        ("hebrew", "שלום עולם"),
        ("devanagari", "नमस्ते दुनिया। क्षत्रिय हिन्दी"),
        ("thai", "สวัสดีชาวโลก"),
        ("greek", "ΑΒΓ αβγ Καλημέρα κόσμε"),
        ("latin_accents", "Ünïcödé façade naïve café Straße ÆØÅ"),
        ("combining", "e\u0301 a\u0300\u0301\u0302 Z\u0351\u0352\u0353a\u0354\u0355lgo"),
        ("fullwidth", "ＡＢＣ１２３！"),
        ("math_bold", "\U0001d400\U0001d401\U0001d402 \U0001d7ce\U0001d7cf"),
        ("emoji", "😀😃😄 a😀b 👍 🎉🎉🎉"),
        ("emoji_skin", "👋🏽 👍🏿 🧑🏻‍💻"),
        ("emoji_zwj", "👨‍👩‍👧‍👦 🏳️‍🌈 ❤️‍🔥"),
        ("control_chars", "a\x00b\x01c\x7fd\x1be"),
        ("code_python", "def f(x):\n    return x**2  # square\n\nclass A:\n\tpass\n"),
        ("code_c", "int main(void) {\n    printf(\"%d\\n\", a[i] != b && c >= d);\n    return 0;\n}\n"),
        ("code_html", "<div class=\"x\">&amp; &lt;tag&gt;</div>\n"),
        ("json", "{\"key\": [1, 2.5, -3e10, null, true], \"s\": \"\\u00e9\"}"),
        ("url", "https://example.com/path/to/page?q=1&r=two#frag and http://a.b/c"),
        ("email", "user.name+tag@example.co.uk"),
        ("punct_runs", "!!!??? ... --- ***** ==>>  (((([[{{ ..."),
        ("punct_newline", "end.\n\n!!\n?\r\n"),
        ("word_long", "Pneumonoultramicroscopicsilicovolcanoconiosis antidisestablishmentarianism"),
        ("repeat_a_3000", "a" * 3000),
        ("repeat_ab_1500", "ab" * 1500),
        ("repeat_word", "antidisestablishmentarianism" * 40),
        ("random_letters_5000", "".join(rnd.choice(letters) for _ in range(5000))),
        ("digits_1000", "1" * 1000),
        ("spaces_1000", " " * 1000),
        ("newlines_500", "\n" * 500),
        ("bang_1000", "!" * 1000),
        ("special_eot", "<|endoftext|>"),
        ("special_in_text", "hello<|endoftext|>world <|endoftext|> x"),
        ("special_double", "<|endoftext|><|endoftext|>"),
        ("special_fim", "<|fim_prefix|>def f():<|fim_suffix|>\n<|fim_middle|>pass<|endofprompt|>"),
        ("special_llama_chat", "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n"
                               "Hi there!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"),
        ("special_llama_misc", "<|reserved_special_token_42|> <|python_tag|><|eom_id|><|step_id|>"
                               "<|finetune_right_pad_id|><|reserved_special_token_247|><|end_of_text|>"),
        ("special_partial", "<|endoftext <|eot_id| < |endoftext| > <||> <|endoftext|"),
        ("special_space_before", "a <|endoftext|>\n<|endoftext|> "),
        ("shakespeare_like", "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n"),
    ]
    return c


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizers", default="data/tokenizers",
                    help="scripts/fetch_tokenizers.sh's folder (gpt2/, cl100k/, llama3/)")
    ap.add_argument("--corpus", default="data/tinyshakespeare.txt")
    ap.add_argument("--out", default="tests/fixtures/tiktoken")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    log = lambda s: print(s, flush=True)  # noqa: E731
    log(f"tiktoken {tiktoken.__version__}, python {sys.version.split()[0]}")

    tk = args.tokenizers
    encs, meta = {}, {}
    r50k = load_ranks(tk + "/gpt2/r50k_base.tiktoken")
    encs["gpt2"], src = openai_encoding("r50k_base", r50k, log)
    meta["gpt2"] = src
    cl = load_ranks(tk + "/cl100k/cl100k_base.tiktoken")
    encs["cl100k"], src = openai_encoding("cl100k_base", cl, log)
    meta["cl100k"] = src
    ll = load_ranks(tk + "/llama3/tokenizer.model")
    encs["llama3"] = tiktoken.Encoding(name="llama3", pat_str=LLAMA3_PAT, mergeable_ranks=ll,
                                       special_tokens=llama3_specials(len(ll)))
    meta["llama3"] = "meta-llama/llama-models models/llama3_1/api/tokenizer.py"

    info = {}
    for name, enc in encs.items():
        info[name] = {
            "source": meta[name], "pattern": enc._pat_str, "n_vocab": enc.n_vocab,
            "special_tokens": enc._special_tokens,
        }
        log(f"{name}: {meta[name]} n_vocab={enc.n_vocab} pattern={enc._pat_str}")

    out_cases = []
    for cname, text in cases():
        b = text.encode("utf-8")
        rec = {"name": cname, "b64": base64.b64encode(b).decode(), "ordinary": {}, "all": {}}
        for name, enc in encs.items():
            rec["ordinary"][name] = enc.encode_ordinary(text)
            rec["all"][name] = enc.encode(text, allowed_special="all")
            assert enc.decode_bytes(rec["ordinary"][name]) == b
        out_cases.append(rec)
    with open(args.out + "/cases.json", "w") as f:
        json.dump({"tiktoken_version": tiktoken.__version__, "encodings": info,
                   "cases": out_cases}, f, separators=(",", ":"))
    log(f"wrote {len(out_cases)} cases")

    corpus = open(args.corpus, "rb").read()
    text = corpus.decode("utf-8")
    out_corpus = {"tiktoken_version": tiktoken.__version__, "corpus_bytes": len(corpus)}
    for name, enc in encs.items():
        enc.encode_ordinary("warm up")
        best = 1e9
        for _ in range(3):
            t0 = time.perf_counter()
            ids = enc.encode_ordinary(text)
            best = min(best, time.perf_counter() - t0)
        raw = struct.pack("<%di" % len(ids), *ids)
        out_corpus[name] = {"count": len(ids), "fnv1a64": "%016x" % fnv1a64(raw),
                            "first": ids[:4096], "last": ids[-1024:]}
        log(f"{name}: corpus {len(ids)} tokens, python tiktoken encode_ordinary "
            f"{len(corpus) / best / 1e6:.2f} MB/s (1 thread, this machine)")
    with open(args.out + "/corpus.json", "w") as f:
        json.dump(out_corpus, f, separators=(",", ":"))
    log("done")


if __name__ == "__main__":
    main()
