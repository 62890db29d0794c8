"""tools/check_bpe_train.py — does Python's tiktoken accept a rank file from bin/bpe-train, and
encode the corpus to the same ids as ours?

  bin/bpe-train --vocab 4096 --pattern gpt2 --out shk.tiktoken data/tinyshakespeare.txt
  bin/tokenize --encoding shk.tiktoken --pattern gpt2 < data/tinyshakespeare.txt > shk.ids
  python3 tools/check_bpe_train.py --ranks shk.tiktoken --pattern gpt2 \
      --corpus data/tinyshakespeare.txt --ids shk.ids

Loads the file with tiktoken's own loader (tiktoken.load.load_tiktoken_bpe), builds an Encoding
with the pattern tiktoken uses for GPT-2 / cl100k (or Meta's for Llama 3, see
make_tiktoken_fixtures.py), encodes the corpus with encode_ordinary, and compares. Exit 0 = same.
"""
import argparse
import os
import sys

import tiktoken
from tiktoken.load import load_tiktoken_bpe

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_tiktoken_fixtures import LLAMA3_PAT, openai_definition  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ranks", required=True)
    ap.add_argument("--pattern", default="gpt2", choices=["gpt2", "cl100k", "llama3"])
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--ids", required=True, help="our ids: whitespace-separated integers")
    args = ap.parse_args()

    ranks = load_tiktoken_bpe(args.ranks)
    ok_bytes = all(ranks.get(bytes([b])) == b for b in range(256))
    print(f"tiktoken {tiktoken.__version__}: loaded {len(ranks)} ranks from {args.ranks}; "
          f"ranks 0..255 are the single bytes: {ok_bytes}")
    if args.pattern == "llama3":
        pat = LLAMA3_PAT
    else:
        # tiktoken's own constructor gives the pattern (its rank download swapped for our ranks).
        ctor = "r50k_base" if args.pattern == "gpt2" else "cl100k_base"
        pat = openai_definition(ctor, ranks, print)[0]["pat_str"]
    enc = tiktoken.Encoding(name="bpe_train_check", pat_str=pat, mergeable_ranks=ranks,
                            special_tokens={"<|endoftext|>": len(ranks)})
    text = open(args.corpus, "rb").read().decode("utf-8")
    theirs = enc.encode_ordinary(text)
    ours = [int(x) for x in open(args.ids).read().split()]
    same = theirs == ours
    first = next((i for i, (a, b) in enumerate(zip(theirs, ours)) if a != b), min(len(theirs), len(ours)))
    print(f"pattern {args.pattern}: {pat}")
    print(f"corpus {len(text.encode())} bytes: tiktoken {len(theirs)} ids, ours {len(ours)} ids, "
          f"identical: {same}" + ("" if same else f" (first difference at {first})"))
    back = enc.decode_bytes(theirs) == text.encode()
    print(f"tiktoken decode round trip: {back}")
    sys.exit(0 if same and ok_bytes and back else 1)


if __name__ == "__main__":
    main()
