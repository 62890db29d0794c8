"""tools/make_sp_fixture.py — a SentencePiece BPE tokenizer in llama2.c's tokenizer.bin format,
and SentencePiece's own ids for test texts.

Trains a small SentencePiece BPE model on the first 300,000 bytes of data/tinyshakespeare.txt
with Llama 2's settings (BPE, byte_fallback, split_digits, identity normalization, dummy prefix,
whitespace kept as it is), exports it as llama2.c's tokenizer.py does (per id: f32 score, i32
length, the piece's bytes with U+2581 turned into a space; BOS/EOS written as "\\n<s>\\n" and
"\\n</s>\\n"; a u32 max_token_length first) and encodes test texts with SentencePiece itself.

Writes, under --out (normally tests/fixtures):
  sp_tiny/tokenizer.bin   the llama2.c tokenizer file (ids 0..2 <unk> <s> </s>, 3..258 <0x00>..<0xFF>)
  sp_tiny/cases.json      {"vocab_size": V, "cases": [{"text": T, "ids": [1, ...]}, ...]}
                          ids = [BOS] + sp.encode(T)

    python3 tools/make_sp_fixture.py --corpus data/tinyshakespeare.txt --out tests/fixtures

Needs sentencepiece. Deterministic (one training thread).
"""
import argparse
import json
import os
import struct
import tempfile

import sentencepiece as spm

VOCAB = 600
TEXTS = [
    "",
    "ROMEO:",
    "First Citizen:\nBefore we proceed any further, hear me speak.",
    "I believe the meaning of life is",
    "Simply put, the theory of relativity states that ",
    "A brief message congratulating the team on the launch:\n\n        Hi everyone,\n\n        I just ",
    "Translate English to French:\n\n        sea otter => loutre de mer\n        peppermint => menthe poivr\u00e9e\n",
    "digits 1234567 and 3.14159, 2024-12-02",
    "  two leading spaces, three   inside, trailing  ",
    "tabs\tand\r\nwindows line ends\rand old mac ones",
    "caf\u00e9 na\u00efve \u00fcber \u00c6sir",
    "\u4f60\u597d\uff0c\u4e16\u754c",
    "llama \U0001f999 emoji \U0001f600!",
    "KING RICHARD II:\nWhat must the king do now? must he submit?",
]


def export_llama2c(sp, path):
    """llama2.c tokenizer.py's export, step for step."""
    tokens, scores = [], []
    for i in range(sp.get_piece_size()):
        t = sp.id_to_piece(i)
        s = sp.get_score(i)
        if i == sp.bos_id():
            t = "\n<s>\n"
        elif i == sp.eos_id():
            t = "\n</s>\n"
        t = t.replace("\u2581", " ")
        tokens.append(t.encode("utf-8"))
        scores.append(s)
    max_len = max(len(t) for t in tokens)
    with open(path, "wb") as f:
        f.write(struct.pack("I", max_len))
        for b, s in zip(tokens, scores):
            f.write(struct.pack("fI", s, len(b)))
            f.write(b)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default="data/tinyshakespeare.txt")
    ap.add_argument("--out", default="tests/fixtures")
    args = ap.parse_args()
    print("sentencepiece", spm.__version__)
    d = os.path.join(args.out, "sp_tiny")
    os.makedirs(d, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        text = open(args.corpus, encoding="utf-8").read()[:300000]
        src = os.path.join(tmp, "train.txt")
        open(src, "w", encoding="utf-8").write(text)
        prefix = os.path.join(tmp, "sp")
        spm.SentencePieceTrainer.train(
            input=src, model_prefix=prefix, vocab_size=VOCAB, model_type="bpe", byte_fallback=True,
            split_digits=True, normalization_rule_name="identity", add_dummy_prefix=True,
            remove_extra_whitespaces=False, allow_whitespace_only_pieces=True, character_coverage=0.99995,
            unk_id=0, bos_id=1, eos_id=2, pad_id=-1, num_threads=1, max_sentence_length=1 << 20,
            minloglevel=2)
        sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
        assert sp.id_to_piece(3) == "<0x00>" and sp.id_to_piece(258) == "<0xFF>"
        export_llama2c(sp, os.path.join(d, "tokenizer.bin"))
        cases = []
        for t in TEXTS:
            ids = [sp.bos_id()] + sp.encode(t)
            assert sp.decode(ids[1:]) == t, (t, sp.decode(ids[1:]))
            cases.append({"text": t, "ids": ids})
            print(repr(t), "->", ids)
    with open(os.path.join(d, "cases.json"), "w", encoding="utf-8") as f:
        json.dump({"vocab_size": sp.get_piece_size(), "cases": cases}, f, ensure_ascii=False, indent=0)
        f.write("\n")
    print("wrote", d, sorted(os.listdir(d)))


if __name__ == "__main__":
    main()
