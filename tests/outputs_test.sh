#!/usr/bin/env bash
# tests/outputs_test.sh — what is at an output path decides how it is written
# (util/atomic_file.h): a regular file is replaced atomically, a symlink is followed (the link
# stays, the file it names gets the bytes), a character device or a FIFO is written through (a
# FIFO nobody reads is an error, not a hang), a directory is refused. Every output path of every
# program goes through it: bin/train --log and checkpoints, bin/prepare's shards, bin/bpe-train
# --out, bin/infer --dump-logits, --attention-png and --trace, bin/export's GGUF file and HF
# folder. Also: a write error on stdout is an error, not a silent exit 0.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
T=$(mktemp -d /tmp/outputs_test.XXXXXX)
trap 'rm -rf "$T"' EXIT

# expect_msg "what" 'message regex' CMD...: exit 1, one stderr line, matching the regex
expect_msg() {
  local what=$1 re=$2; shift 2
  local err rc
  err=$(timeout 60 "$@" 2>&1 >/dev/null </dev/null); rc=$?
  if [ "$rc" = 1 ] && [ "$(printf '%s\n' "$err" | grep -c '')" = 1 ] && printf '%s' "$err" | grep -Eq -- "$re"
  then ok "$what: exit 1, \"$err\""
  else fail "$what: exit $rc (want 1 and /$re/): $(printf '%s' "$err" | head -3 | tr '\n' '|')"; fi
}

# expect_end "what" 'regex' CMD...: exit 1, the last stderr line (after progress lines) matching
expect_end() {
  local what=$1 re=$2; shift 2
  local err rc
  err=$(timeout 60 "$@" 2>&1 >/dev/null </dev/null); rc=$?; err=$(printf '%s\n' "$err" | tail -1)
  if [ "$rc" = 1 ] && printf '%s' "$err" | grep -Eq -- "$re"; then ok "$what: exit 1, last line \"$err\""
  else fail "$what: exit $rc (want 1 and /$re/): $err"; fi
}

# a byte-level tokenizer and tiny shards made here from the bundled corpus
byte_tokenizer "$T/bytes.tiktoken"
cat docs/*.md | head -c 40000 > "$T/text.txt"
$BIN/prepare --tokenizer "$T/bytes.tiktoken" --pattern gpt2 --out-dir "$T" "$T/text.txt" 2>/dev/null ||
  fail "prepare of the test shards"
TR=($BIN/train --data "$T/train.bin" --val-data "$T/val.bin" --tokenizer "$T/bytes.tiktoken" --pattern gpt2 --dim 16 --n-layers 1
    --n-heads 2 --n-kv-heads 2 --hidden-dim 32 --seq 16 --batch 2 --steps 2 --eval-every 0 --sample-every 0 --threads 1)

# a character device at the path: written through, and its errors reported. As root, a copy of
# /dev/full's node (1, 7) in our own folder; else a symlink to /dev/full (followed to the device).
if mknod "$T/full" c 1 7 2>/dev/null; then devnote="a device node (1, 7)"; else ln -s /dev/full "$T/full"; devnote="a symlink to /dev/full"; fi
expect_msg "train --log on $devnote" 'train: --log .*/full: write failed: No space left on device' \
  "${TR[@]}" --ckpt-dir "$T/c1" --log "$T/full"
if [ "$devnote" = "a device node (1, 7)" ]; then
  [ -c "$T/full" ] && ok "train --log: the device node is still a device node" || fail "train --log replaced the device node: $(ls -l "$T/full")"
fi
"${TR[@]}" --ckpt-dir "$T/c0" --log /dev/null > /dev/null 2> "$T/err"; rc=$?
[ $rc = 0 ] && [ -c /dev/null ] && ok "train --log /dev/null: exit 0, /dev/null still a device" || fail "train --log /dev/null: exit $rc: $(head -2 "$T/err")"

# a symlink: the file it names is rewritten, the link stays a link
echo stale > "$T/target.csv"; ln -s target.csv "$T/link.csv"
"${TR[@]}" --ckpt-dir "$T/c2" --log "$T/link.csv" > /dev/null 2> "$T/err"; rc=$?
if [ $rc = 0 ] && [ -L "$T/link.csv" ] && [ "$(head -1 "$T/target.csv")" = "step,train_loss,val_loss,lr,grad_norm,tokens_per_s,elapsed_s" ] &&
   [ "$(wc -l < "$T/target.csv")" = 4 ]; then ok "train --log through a symlink: the link stays, its target holds the 4-line log"
else fail "train --log through a symlink: exit $rc, link $(ls -l "$T/link.csv" | cut -c1-10), target: $(head -2 "$T/target.csv" | tr '\n' '|')"; fi
# a dangling symlink: the file it names is created
ln -s made.csv "$T/dangling.csv"
"${TR[@]}" --ckpt-dir "$T/c3" --log "$T/dangling.csv" > /dev/null 2>&1
[ -L "$T/dangling.csv" ] && [ "$(wc -l < "$T/made.csv" 2>/dev/null)" = 4 ] && ok "train --log through a dangling symlink creates its target" ||
  fail "train --log through a dangling symlink: $(ls -l "$T" | grep -c made.csv) made.csv"

# a FIFO: nobody reading is an error at once; with a reader, the log streams into it
mkfifo "$T/fifo"
expect_msg "train --log on a FIFO nobody reads" 'train: --log: .*/fifo: cannot write: a FIFO with no reader' \
  "${TR[@]}" --ckpt-dir "$T/c4" --log "$T/fifo"
timeout 60 cat "$T/fifo" > "$T/fifo.out" & reader=$!
sleep 0.3
"${TR[@]}" --ckpt-dir "$T/c5" --log "$T/fifo" > /dev/null 2>&1; rc=$?
wait $reader
[ $rc = 0 ] && [ -p "$T/fifo" ] && [ "$(wc -l < "$T/fifo.out")" = 4 ] && ok "train --log on a FIFO with a reader: 4 lines through it, still a FIFO" ||
  fail "train --log on a FIFO with a reader: exit $rc, $(wc -l < "$T/fifo.out") lines"

# a directory at the path
mkdir "$T/adir"
expect_msg "train --log on a directory" 'train: --log: .*/adir: is a directory' "${TR[@]}" --ckpt-dir "$T/c6" --log "$T/adir"

# checkpoints: a symlink at model_00000001.bin in the checkpoint directory is followed
mkdir "$T/c7"; ln -s ../m1.bin "$T/c7/model_00000001.bin"
SCRATCHLLAMA_STOP_AT=1 "${TR[@]}" --ckpt-dir "$T/c7" > /dev/null 2>&1
[ -L "$T/c7/model_00000001.bin" ] && [ -s "$T/m1.bin" ] && $BIN/infer "$T/c7/model_00000001.bin" --prompt-ids 1 -n 1 > /dev/null 2>&1 &&
  ok "checkpoint through a symlink: the link stays, its target is a loadable model" ||
  fail "checkpoint through a symlink: $(ls -l "$T/c7" | tr '\n' '|')"

# bin/prepare's shards, bin/bpe-train --out and --dump-ids, bin/infer --dump-logits
mkdir "$T/p"; ln -s "$T/full" "$T/p/val.bin"
expect_end "prepare: val.bin a symlink to $devnote" 'prepare: .*full: write failed: No space left on device' \
  $BIN/prepare --tokenizer "$T/bytes.tiktoken" --pattern gpt2 --out-dir "$T/p" "$T/text.txt"
expect_msg "bpe-train --out $devnote" 'bpe-train: .*/full: write failed: No space left on device' \
  $BIN/bpe-train --vocab 260 --quiet --out "$T/full" "$T/text.txt"
expect_msg "bpe-train --out on a FIFO nobody reads" 'bpe-train: .*/fifo: cannot write: a FIFO with no reader' \
  $BIN/bpe-train --vocab 260 --quiet --out "$T/fifo" "$T/text.txt"
$BIN/bpe-train --vocab 260 --quiet --out /dev/null --dump-ids "$T/link.csv" "$T/text.txt" 2> "$T/err"; rc=$?
[ $rc = 0 ] && [ -L "$T/link.csv" ] && [ -c /dev/null ] && [ "$(head -c 2 "$T/target.csv")" != "st" ] &&
  ok "bpe-train --out /dev/null --dump-ids through a symlink: exit 0, the link's target holds the ids" ||
  fail "bpe-train --out /dev/null: exit $rc: $(head -2 "$T/err")"
F=tests/fixtures/hf_llama2_fp32
expect_end "infer --dump-logits $devnote" 'infer: .*/full: write failed: No space left on device' \
  $BIN/infer "$F" --prompt-ids 1 -n 0 --dump-logits "$T/full"
expect_msg "infer --dump-logits on a directory" 'infer: .*/adir: is a directory' \
  $BIN/infer "$F" --prompt-ids 1 -n 0 --dump-logits "$T/adir"
# bin/infer --attention-png and --trace, bin/export's files: the same rules
P="256 72 101 108"; G=tests/fixtures/hf_llama32_bf16
expect_end "infer --attention-png $devnote" 'infer: .*/full: write failed: No space left on device' \
  $BIN/infer "$G" --prompt-ids "$P" -n 0 --attention-png "$T/full"
$BIN/infer "$G" --prompt-ids "$P" -n 0 --attention-png /dev/null > /dev/null 2> "$T/err"; rc=$?
[ $rc = 0 ] && [ -c /dev/null ] && ok "infer --attention-png /dev/null: exit 0, /dev/null still a device" ||
  fail "infer --attention-png /dev/null: exit $rc: $(head -2 "$T/err")"
echo stale > "$T/target.png"; ln -s target.png "$T/link.png"
$BIN/infer "$G" --prompt-ids "$P" -n 0 --attention-png "$T/link.png" > /dev/null 2> "$T/err"; rc=$?
[ $rc = 0 ] && [ -L "$T/link.png" ] && [ "$(od -An -tx1 -N8 "$T/target.png" | tr -d ' ')" = 89504e470d0a1a0a ] &&
  ok "infer --attention-png through a symlink: the link stays, its target is the PNG" ||
  fail "infer --attention-png through a symlink: exit $rc, link $(ls -l "$T/link.png" | cut -c1-10), target starts $(head -c 8 "$T/target.png" | od -An -c)"
expect_msg "infer --attention-png on a FIFO nobody reads" 'infer: .*/fifo: cannot write: a FIFO with no reader' \
  $BIN/infer "$G" --prompt-ids "$P" -n 0 --attention-png "$T/fifo"
expect_msg "infer --attention-png on a directory" 'infer: .*/adir: is a directory' \
  $BIN/infer "$G" --prompt-ids "$P" -n 0 --attention-png "$T/adir"
expect_end "infer --trace $devnote" 'infer: --trace: .*/full: write failed: No space left on device' \
  $BIN/infer "$G" --prompt-ids "$P" -n 3 --trace "$T/full"
echo stale > "$T/target.csv"; rm -f "$T/link.csv"; ln -s target.csv "$T/link.csv"
$BIN/infer "$G" --prompt-ids "$P" -n 3 --temperature 0 --seed 1 --trace "$T/link.csv" > /dev/null 2> "$T/err"; rc=$?
[ $rc = 0 ] && [ -L "$T/link.csv" ] && [ "$(head -c 11 "$T/target.csv")" = step,token, ] && [ "$(wc -l < "$T/target.csv")" = 4 ] &&
  ok "infer --trace through a symlink: the link stays, its target holds the header and 3 rows" ||
  fail "infer --trace through a symlink: exit $rc, target: $(head -2 "$T/target.csv" | tr '\n' '|')"
$BIN/infer "$G" --prompt-ids "$P" -n 3 --trace /dev/null > /dev/null 2> "$T/err"; rc=$?
[ $rc = 0 ] && [ -c /dev/null ] && ok "infer --trace /dev/null: exit 0" || fail "infer --trace /dev/null: exit $rc: $(head -2 "$T/err")"
expect_msg "infer --trace on a FIFO nobody reads" 'infer: .*/fifo: cannot write: a FIFO with no reader' \
  $BIN/infer "$G" --prompt-ids "$P" -n 3 --trace "$T/fifo"
expect_end "export --format gguf $devnote" 'export: .*/full: write failed: No space left on device' \
  $BIN/export "$G" "$T/full" --format gguf
expect_end "export --format gguf on a FIFO nobody reads" 'export: .*/fifo: cannot write: a FIFO with no reader' \
  $BIN/export "$G" "$T/fifo" --format gguf
echo stale > "$T/target.gguf"; ln -s target.gguf "$T/link.gguf"
$BIN/export "$G" "$T/link.gguf" --format gguf > /dev/null 2> "$T/err"; rc=$?
[ $rc = 0 ] && [ -L "$T/link.gguf" ] && [ "$(head -c 4 "$T/target.gguf")" = GGUF ] &&
  $BIN/infer "$T/link.gguf" --prompt-ids "$P" -n 1 > /dev/null 2>&1 &&
  ok "export --format gguf through a symlink: the link stays, its target is a GGUF bin/infer runs" ||
  fail "export gguf through a symlink: exit $rc, $(head -2 "$T/err" | tr '\n' '|')"
mkdir "$T/hf"; echo stale > "$T/config.target"; ln -s ../config.target "$T/hf/config.json"
$BIN/export "$G" "$T/hf" --format hf > /dev/null 2> "$T/err"; rc=$?
[ $rc = 0 ] && [ -L "$T/hf/config.json" ] && grep -q '"model_type":[[:space:]]*"llama"' "$T/config.target" &&
  ok "export --format hf, config.json a symlink: the link stays, its target holds the config" ||
  fail "export hf, config.json a symlink: exit $rc, $(head -2 "$T/err" | tr '\n' '|'), target: $(head -c 40 "$T/config.target")"
ln -sf "$T/full" "$T/hf/model.safetensors"
expect_end "export --format hf, model.safetensors a symlink to $devnote" 'export: .*/full: write failed: No space left on device' \
  $BIN/export "$G" "$T/hf" --format hf
ls "$T" "$T/p" "$T/hf" | grep -q '\.tmp\.' && fail "temp files left behind: $(ls "$T" "$T/p" "$T/hf" | grep '\.tmp\.')" ||
  ok "no temp files left behind by the failed writes"

# stdout: a write error (here /dev/full) is exit 1 and a message, with and without --print-ids
expect_msg "infer ids > /dev/full" '^infer: write error on stdout: No space left on device$' \
  sh -c "$BIN/infer $F --prompt-ids '1 2' -n 4 > /dev/full"
expect_msg "infer --print-ids > /dev/full" '^infer: write error on stdout: No space left on device$' \
  sh -c "$BIN/infer $F --prompt-ids '1 2' -n 4 --print-ids > /dev/full"
expect_msg "tokenize > /dev/full" '^tokenize: write error on stdout: No space left on device$' \
  sh -c "echo hello | $BIN/tokenize --encoding $T/bytes.tiktoken --pattern gpt2 > /dev/full"

summary
