#!/usr/bin/env bash
# tools/make_export_fixtures.sh — tests/fixtures/export/ckpt.bin: a small checkpoint bin/train
# makes (byte-level tokenizer tests/fixtures/export/bytes.tiktoken, 2 layers, dim 32, GQA, 30 steps on the bundled corpus) that
# tests/export_test.sh exports and compares against transformers' logits of the export
# (tools/export_reference.py). Run from the repository root after `make`.
set -e
. tests/lib.sh
D=tests/fixtures/export
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
mkdir -p "$D"
byte_tokenizer "$D/bytes.tiktoken"  # kept: the checkpoint records this path
head -c 60000 data/tinyshakespeare.txt > "$T/text.txt"
bin/prepare --tokenizer "$D/bytes.tiktoken" --pattern gpt2 --out-dir "$T" "$T/text.txt"
bin/train --data "$T/train.bin" --val-data "$T/val.bin" --tokenizer "$D/bytes.tiktoken" \
  --dim 32 --n-layers 2 --n-heads 4 --n-kv-heads 2 --hidden-dim 64 --seq 32 --batch 4 \
  --steps 30 --warmup 5 --lr 1e-2 --min-lr 1e-3 --seed 7 --eval-every 0 --sample-every 0 \
  --ckpt-every 0 --threads 2 --ckpt-dir "$T/ck" > /dev/null
cp "$T/ck/model_00000030.bin" "$D/ckpt.bin"
ls -l "$D/ckpt.bin"
