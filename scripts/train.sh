#!/usr/bin/env bash
# scripts/train.sh — what `make train` runs (make has installed the deps and built bin/ first):
#   1. check the bundled corpus data/tinyshakespeare.txt against its sha256
#   2. split it: the last 10% (from a line start) is val  (bin/prepare, into data/shakespeare/)
#   3. learn a BPE vocabulary on the train part only       (bin/bpe-train; same input, same file)
#   4. tokenize both parts into llm.c token shards         (bin/prepare --tokenizer), and the
#      train part VARIANTS more times with BPE-dropout     (--variants; one per epoch in training)
#   5. train the tiny preset for at most MINUTES minutes    (bin/train --steps 0 --max-minutes)
#   6. print the final val loss (nats/token, bits/byte), a sample, and how to sample more
# Environment: VOCAB (default 1792), PATTERN (the BPE's pre-tokenizer split: cl100k, the
# default, or gpt2 / llama3), BPE_DROPOUT (default 0.02) and VARIANTS (default 10; either 0:
# train on the deterministic train.bin alone), MINUTES (default 10), CKPT (default checkpoints), EXTRA
# (more bin/train flags).
set -euo pipefail
cd "$(dirname "$0")/.."
VOCAB=${VOCAB:-1792}
PATTERN=${PATTERN:-cl100k}
BPE_DROPOUT=${BPE_DROPOUT:-0.02}
VARIANTS=${VARIANTS:-10}
MINUTES=${MINUTES:-10}
CKPT=${CKPT:-checkpoints}
D=data/shakespeare
TOK=$D/bpe.tiktoken

CORPUS=data/tinyshakespeare.txt
CORPUS_SHA=86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed
if [ "$(sha256sum "$CORPUS" 2>/dev/null | cut -d' ' -f1)" != "$CORPUS_SHA" ]; then
  echo "train.sh: $CORPUS: missing or changed (sha256 is not $CORPUS_SHA; git checkout it)" >&2; exit 1
fi
bin/prepare --out-dir "$D" "$CORPUS"                         # train.txt + val.txt

# the vocabulary depends only on (train.txt, VOCAB, PATTERN): reuse it when all are unchanged
stamp="vocab=$VOCAB pattern=$PATTERN train_sha256=$(sha256sum "$D/train.txt" | cut -d' ' -f1)"
if [ -f "$TOK" ] && [ -f "$TOK.pattern" ] && [ -f "$TOK.stamp" ] && [ "$(cat "$TOK.stamp")" = "$stamp" ]; then
  echo "train.sh: $TOK is up to date ($VOCAB tokens)" >&2
else
  echo "train.sh: learning a $VOCAB-token BPE ($PATTERN split) on $D/train.txt" >&2
  bin/bpe-train --vocab "$VOCAB" --pattern "$PATTERN" --out "$TOK" "$D/train.txt"
  echo "$stamp" > "$TOK.stamp"
fi
# train.bin + val.bin, and train_bpe_dropout_00.bin ... (the same text in VARIANTS random
# segmentations; bin/prepare removes variants an earlier, larger VARIANTS left, so the glob reads
# only these)
DATA="$D/train.bin"
AUG=()
if [ "$VARIANTS" != 0 ] && [ "$BPE_DROPOUT" != 0 ]; then
  AUG=(--variants "$VARIANTS" --bpe-dropout "$BPE_DROPOUT")
  DATA="$D/train_bpe_dropout_*.bin"
fi
bin/prepare --tokenizer "$TOK" --pattern "$PATTERN" "${AUG[@]}" --out-dir "$D" "$CORPUS"

# a fresh run: move the files of an earlier run out of the way (bin/train refuses to mix runs)
if ls "$CKPT"/state_*.bin > /dev/null 2>&1; then
  old="$CKPT/previous"
  rm -rf "$old"; mkdir -p "$old"
  mv "$CKPT"/model_*.bin "$CKPT"/state_*.bin "$old"/ 2>/dev/null || true
  [ -f "$CKPT/train.csv" ] && mv "$CKPT/train.csv" "$old"/
  echo "train.sh: moved the previous run's checkpoints to $old/" >&2
fi
mkdir -p "$CKPT"
# shellcheck disable=SC2086
bin/train --preset tiny --data "$DATA" --val-data "$D/val.bin" --tokenizer "$TOK" --pattern "$PATTERN" \
  --steps 0 --max-minutes "$MINUTES" --ckpt-dir "$CKPT" --log "$CKPT/train.csv" ${EXTRA:-}

echo "loss curve: make plot   (writes $CKPT/train.png from $CKPT/train.csv)"
if [ -x bin/infer ]; then
  echo "sample more: bin/infer $CKPT/model_best.bin"
else
  echo "sample more: bin/train prints samples (bin/infer, once built, samples from $CKPT/model_best.bin)"
fi
