#!/usr/bin/env bash
# tests/resume_test.sh — what --resume keeps and what it says: the learning-rate schedule stays
# the one the run started with (a larger --steps runs on at the schedule's final lr, no jump back
# to the peak); shards that changed since the checkpoint are refused; a run that stops on NaN
# says whether there is a checkpoint to resume from. Runs on tiny shards made here.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
T=$(mktemp -d /tmp/resume_test.XXXXXX)
trap 'rm -rf "$T"' EXIT

byte_tokenizer "$T/bytes.tiktoken"
cat docs/*.md | head -c 40000 > "$T/text.txt"
$BIN/prepare --tokenizer "$T/bytes.tiktoken" --pattern gpt2 --out-dir "$T" "$T/text.txt" 2>/dev/null || fail "prepare of the test shards"
TR=($BIN/train --data "$T/train.bin" --val-data "$T/val.bin" --tokenizer "$T/bytes.tiktoken" --pattern gpt2 --dim 16 --n-layers 1
    --n-heads 2 --n-kv-heads 2 --hidden-dim 32 --seq 16 --batch 2 --eval-every 0 --sample-every 0 --threads 1)

# 8 steps of wsd (lr 1e-2 -> min_lr 1e-3 at step 7), then --resume --steps 16
"${TR[@]}" --lr 1e-2 --min-lr 1e-3 --warmup 2 --steps 8 --ckpt-dir "$T/a" --log "$T/a.csv" > /dev/null 2>&1
$BIN/train --resume "$T/a" --steps 16 --log "$T/a.csv" > "$T/a.out" 2>&1; rc=$?
lrs=$(awk -F, 'NR > 1 && $1 >= 7 && $1 <= 15 { print $4 }' "$T/a.csv" | sort -u | tr '\n' ' ')
[ $rc = 0 ] && [ "$lrs" = "1.000000e-03 " ] && ok "resume --steps 16 after an 8-step plan: steps 7..15 all at min_lr ($lrs)" ||
  fail "resume --steps 16 after an 8-step plan: exit $rc, lr of steps 7..15: $lrs"
grep -q "^--steps 16 is past the schedule's 8 steps: steps 8 to 15 run at its final lr 1.00e-03 (the schedule is kept)$" "$T/a.out" &&
  ok "resume --steps 16 says so: $(grep schedule "$T/a.out")" || fail "resume --steps 16: no line about the schedule: $(head -5 "$T/a.out" | tr '\n' '|')"
# a second resume keeps the 8-step schedule too
$BIN/train --resume "$T/a" --steps 20 --log "$T/a.csv" > /dev/null 2>&1
lrs=$(awk -F, 'NR > 1 && $1 >= 16 && $1 <= 19 { print $4 }' "$T/a.csv" | sort -u | tr '\n' ' ')
[ "$lrs" = "1.000000e-03 " ] && ok "a second resume (--steps 20) keeps the 8-step schedule: $lrs" || fail "second resume: lr of steps 16..19: $lrs"

# the training shard changed (one token) since the checkpoint: refused, with the sizes and checksums
cp "$T/train.bin" "$T/train.orig"
printf '\x41' | dd of="$T/train.bin" bs=1 seek=2000 conv=notrunc status=none
err=$($BIN/train --resume "$T/a" --steps 24 2>&1 >/dev/null); rc=$?
[ $rc = 1 ] && [ "$(printf '%s\n' "$err" | grep -c '')" = 1 ] &&
  printf '%s' "$err" | grep -q "^train: --resume $T/a: the training data changed since the checkpoint (now [0-9]* bytes, checksum [0-9a-f]*; saved [0-9]* bytes, [0-9a-f]*): resume with the same shards" &&
  ok "resume after the shard changed: exit 1, \"$err\"" || fail "resume after the shard changed: exit $rc: $err"
cp "$T/train.orig" "$T/train.bin"
$BIN/train --resume "$T/a" --steps 21 > /dev/null 2>&1 && ok "the same shard again: resumes (exit 0)" || fail "resume with the original shard failed"

# NaN at step 1, before any checkpoint: nothing to resume from, and the message says so
err=$(SCRATCHLLAMA_DEBUG_NAN_AT=1 "${TR[@]}" --steps 4 --ckpt-dir "$T/n" 2>&1 >/dev/null | tail -1)
[ "$err" = "train: step 1: gradient of wq[0] is not finite (no checkpoint saved yet in $T/n: nothing to resume from)" ] &&
  ok "NaN before the first checkpoint: \"$err\"" || fail "NaN before the first checkpoint: $err"
err=$(SCRATCHLLAMA_DEBUG_NAN_AT=2 "${TR[@]}" --steps 4 --ckpt-dir "$T/n2" --ckpt-every 1 2>&1 >/dev/null | tail -1)
[ "$err" = "train: step 2: gradient of wq[0] is not finite (last good checkpoint kept in $T/n2)" ] &&
  ok "NaN after a checkpoint: \"$err\"" || fail "NaN after a checkpoint: $err"

summary
