"""tools/make_tokenizer_json_fixtures.py — HF tokenizers' ids and decodes for tokenizer.json files.

For each tokenizer.json named with --tok NAME=DIR (DIR holds tokenizer.json and tokenizer_config.json;
the tests use llama3 = Meta's Llama 3, byte-level BPE, and llama2 = Llama 2, SentencePiece-style BPE
with byte fallback), writes into --out (normally tests/fixtures/tokenizer_json):

  cases.json   versions; per tokenizer the special tokens; every case of
               tools/make_tiktoken_fixtures.py's list plus the extra ones below: the text's UTF-8
               in base64 and per tokenizer
                 all      Tokenizer.encode(text, add_special_tokens=False).ids (added tokens in the
                          text are matched, as HF does by default)
                 ordinary the same with encode_special_tokens = True (special-token text is text)
                 bos      encode(text) with the file's post-processor (add_special_tokens=True)
                 dec, dec_skip  base64 of decode(all, skip_special_tokens=False / True)
               decodes of random id sequences (random_decode); chat prompts rendered with the chat
               template (tokenizer_config.json's, else the one in this file for Llama 2) and
               encoded by the Tokenizer (chat); transformers' AutoTokenizer(text).input_ids for the
               prompts bin/infer is tested with (transformers).
  corpus.json  the whole --corpus per tokenizer: count, FNV-1a 64 of the ids as little-endian int32,
               the first 4096 and last 1024 ids, FNV-1a 64 of decode(ids) as UTF-8 and whether it
               equals the corpus.
  (also, not for the repository: NAME_corpus_ids.bin, every corpus id as int32, for debugging)

Usage (where tokenizers and transformers are installed):
  python3 tools/make_tokenizer_json_fixtures.py --tok llama3=data/tokenizers/llama3 \
      --tok llama2=data/tokenizers/llama2 --corpus data/tinyshakespeare.txt \
      --out tests/fixtures/tokenizer_json
"""
import argparse
import base64
import json
import os
import random
import struct
import sys

import tokenizers
from tokenizers import Tokenizer

sys.path[:0] = [os.path.dirname(os.path.abspath(__file__)), "tools"]  # (run from a copy elsewhere)
from make_tiktoken_fixtures import cases as tiktoken_cases, fnv1a64  # noqa: E402

# The chat template of meta-llama/Llama-2-7b-chat-hf's tokenizer_config.json, for a Llama 2
# tokenizer_config.json that has none (the npm copy the tests use).
LLAMA2_CHAT_TEMPLATE = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
    "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{% endif %}{% if loop.index0 == 0 and system_message != false %}"
    "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
    "{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}"
    "{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
    "{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}")

CHATS = [
    ("user", [{"role": "user", "content": "Hello there!"}]),
    ("system_user", [{"role": "system", "content": "You are a helpful assistant."},
                     {"role": "user", "content": "  What is 2+2?\n"}]),
    ("two_turns", [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello! How can I help?"},
                   {"role": "user", "content": "Tell me a joke."}]),
]


def extra_cases():
    return [
        ("lead_space", " hello"),
        ("lead_spaces3", "   hello world"),
        ("lead_newline", "\nhello"),
        ("trail_space_only", "x "),
        ("one_space", " "),
        ("mixed_line_endings", "a\r\nb\rc\nd\r\n\r\re\n\r"),
        ("ws_runs", "a \t \n\n \u3000 b\u00a0\u00a0c  \t"),
        ("byte_fallback_rare", "\u2603 \U0001f980 \u0e3f \U00010348 \U0001f9ec\ufffd \u13a0\u13a1"),
        ("byte_fallback_cjk_rare", "\u9f98\u9f49\u7065 \u5b80\u4e6b"),
        ("byte_fallback_private", "\ue000\U000f0000"),
        ("llama2_specials", "<s>Hello</s> <unk>x<s><s> </s>"),
        ("llama2_special_partial", "<s <s/> </ s> <unk <S>"),
        ("llama3_special_lead", " <|begin_of_text|>x <|eot_id|> \n<|start_header_id|>"),
        ("inst", "[INST] Hi there [/INST] Sure. </s><s>[INST] next [/INST]"),
        ("sp_marker", "\u2581 a\u2581b \u2581\u2581"),
        ("byte_token_text", "<0x41> <0xE4><0xBD> <0x0A>"),
        ("digits_mixed", "12 345 6789 0.5e-10 \u0661\u0662\u0663\u0664"),
        ("apostrophes", "'tis 'Twas rock'n'roll O'Neil ''s' \u2019s"),
        ("emoji_seq", "\U0001f1fa\U0001f1f8\U0001f1ef\U0001f1f5 \U0001f468\U0001f3fb\u200d\U0001f52c"),
    ]


def b64(b):
    return base64.b64encode(b).decode()


def render_chat(messages, template, bos, eos):
    """The chat template as transformers renders it (jinja2, trim_blocks, lstrip_blocks)."""
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(msg):
        raise jinja2.exceptions.TemplateError(msg)
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    return env.from_string(template).render(messages=messages, bos_token=bos, eos_token=eos,
                                            add_generation_prompt=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tok", action="append", required=True, help="NAME=DIR")
    ap.add_argument("--corpus", default="data/tinyshakespeare.txt")
    ap.add_argument("--out", default="tests/fixtures/tokenizer_json")
    ap.add_argument("--debug-out", default=None, help="where NAME_corpus_ids.bin go (default: --out)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    log = lambda s: print(s, flush=True)  # noqa: E731
    try:
        import transformers
        tf_version = transformers.__version__
    except Exception:  # noqa: BLE001
        transformers, tf_version = None, None
    log(f"tokenizers {tokenizers.__version__}, transformers {tf_version}, python {sys.version.split()[0]}")

    toks, cfgs, dirs = {}, {}, {}
    for spec in args.tok:
        name, d = spec.split("=", 1)
        toks[name] = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
        with open(os.path.join(d, "tokenizer_config.json")) as f:
            cfgs[name] = json.load(f)
        dirs[name] = d

    info = {}
    for name, tok in toks.items():
        added = tok.get_added_tokens_decoder()
        info[name] = {"vocab_size": tok.get_vocab_size(with_added_tokens=True),
                      "special": {v.content: k for k, v in added.items() if v.special}}

    rnd = random.Random(2026)
    all_cases = tiktoken_cases() + extra_cases()
    out_cases = []
    for cname, text in all_cases:
        b = text.encode("utf-8")
        rec = {"name": cname, "b64": b64(b)}
        for name, tok in toks.items():
            tok.encode_special_tokens = False
            ids = tok.encode(text, add_special_tokens=False).ids
            bos = tok.encode(text).ids
            tok.encode_special_tokens = True
            ordinary = tok.encode(text, add_special_tokens=False).ids
            tok.encode_special_tokens = False
            rec[name] = {"all": ids, "ordinary": ordinary, "bos": bos,
                         "dec": b64(tok.decode(ids, skip_special_tokens=False).encode()),
                         "dec_skip": b64(tok.decode(ids, skip_special_tokens=True).encode())}
        out_cases.append(rec)
    log(f"{len(out_cases)} cases")

    # decodes of random id sequences: any ids, byte tokens next to each other, specials among them
    random_decode = []
    for name, tok in toks.items():
        V = tok.get_vocab_size(with_added_tokens=True)
        byte_ids = [tok.token_to_id("<0x%02X>" % b) for b in range(256)]
        byte_ids = [i for i in byte_ids if i is not None]
        special = list(info[name]["special"].values())
        for k in range(60):
            n = rnd.randint(1, 24)
            ids = []
            for _ in range(n):
                r = rnd.random()
                if r < 0.3 and byte_ids:
                    ids.append(rnd.choice(byte_ids))
                elif r < 0.4:
                    ids.append(rnd.choice(special))
                else:
                    ids.append(rnd.randrange(V))
            random_decode.append({"tok": name, "ids": ids,
                                  "dec": b64(tok.decode(ids, skip_special_tokens=False).encode()),
                                  "dec_skip": b64(tok.decode(ids, skip_special_tokens=True).encode())})

    chat = []
    for name, tok in toks.items():
        cfg = cfgs[name]
        template = cfg.get("chat_template") or (LLAMA2_CHAT_TEMPLATE if name == "llama2" else None)
        source = "tokenizer_config.json" if cfg.get("chat_template") else "meta-llama/Llama-2-7b-chat-hf"
        if not template:
            continue
        for cname, msgs in CHATS:
            text = render_chat(msgs, template, cfg.get("bos_token"), cfg.get("eos_token"))
            ids = tok.encode(text, add_special_tokens=False).ids
            chat.append({"tok": name, "name": cname, "template": source, "messages": msgs,
                         "text_b64": b64(text.encode()), "ids": ids})
            log(f"chat {name} {cname}: {text!r} -> {len(ids)} ids")

    tf_ids = []
    if transformers is not None:
        for name in toks:
            try:
                at = transformers.AutoTokenizer.from_pretrained(dirs[name])
                for text in ["ROMEO:", "JULIET:\n", "Hello world"]:
                    tf_ids.append({"tok": name, "text": text, "ids": at(text)["input_ids"],
                                   "class": type(at).__name__})
            except Exception as e:  # noqa: BLE001
                log(f"transformers AutoTokenizer {name}: {e!r}")

    with open(os.path.join(args.out, "cases.json"), "w") as f:
        json.dump({"tokenizers_version": tokenizers.__version__, "transformers_version": tf_version,
                   "tokenizers": info, "cases": out_cases, "random_decode": random_decode,
                   "chat": chat, "transformers": tf_ids}, f, separators=(",", ":"))

    corpus = open(args.corpus, "rb").read()
    text = corpus.decode("utf-8")
    out_corpus = {"tokenizers_version": tokenizers.__version__, "corpus_bytes": len(corpus)}
    dbg = args.debug_out or args.out
    os.makedirs(dbg, exist_ok=True)
    for name, tok in toks.items():
        ids = tok.encode(text, add_special_tokens=False).ids
        raw = struct.pack("<%di" % len(ids), *ids)
        dec = tok.decode(ids, skip_special_tokens=False).encode()
        out_corpus[name] = {"count": len(ids), "fnv1a64": "%016x" % fnv1a64(raw),
                            "first": ids[:4096], "last": ids[-1024:],
                            "decode_fnv1a64": "%016x" % fnv1a64(dec), "decode_equal": dec == corpus}
        with open(os.path.join(dbg, name + "_corpus_ids.bin"), "wb") as f:
            f.write(raw)
        log(f"{name}: corpus {len(ids)} ids, decode == corpus: {dec == corpus}")
    with open(os.path.join(args.out, "corpus.json"), "w") as f:
        json.dump(out_corpus, f, separators=(",", ":"))
    log("done")


if __name__ == "__main__":
    main()
