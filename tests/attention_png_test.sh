#!/usr/bin/env bash
# tests/attention_png_test.sh — bin/infer --attention-png as a program: the file is a PNG
# (signature, IHDR chunk) of the size the layout gives for the model and prompt, generation
# still runs after it, and bad input ends in one line on stderr. The pixels themselves are
# checked against the probabilities in tests/test_attention_png.c.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
I=$BIN/infer
F=tests/fixtures/hf_llama32_bf16   # 2 layers, 4 heads
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# be32 FILE OFFSET: the big-endian 32-bit number at OFFSET
be32() { od -An -tu1 -j "$2" -N4 "$1" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }'; }

# 9 tokens: 128/9 = 14 px per token, tiles of 126 px, gaps of 2: 4*126+5*2 = 514 by 2*126+3*2 = 258
P="256 72 101 108 108 111 44 32 119"
ids=$($I "$F" --prompt-ids "$P" --attention-png "$tmp/a.png" --seed 3 -n 6 2>"$tmp/err"); rc=$?
plain=$($I "$F" --prompt-ids "$P" --seed 3 -n 6 2>/dev/null)
sig=$(od -An -tx1 -N8 "$tmp/a.png" 2>/dev/null | tr -d ' ')
ihdr=$(od -An -c -j12 -N4 "$tmp/a.png" 2>/dev/null | tr -d ' ')
[ $rc = 0 ] && [ "$sig" = 89504e470d0a1a0a ] && [ "$ihdr" = IHDR ] &&
  ok "--attention-png writes a PNG (signature $sig, first chunk $ihdr)" ||
  fail "--attention-png: exit $rc, signature '$sig', chunk '$ihdr', err '$(cat "$tmp/err")'"
w=$(be32 "$tmp/a.png" 16); h=$(be32 "$tmp/a.png" 20)
[ "$w" = 514 ] && [ "$h" = 258 ] && ok "IHDR size $w x $h: 4 head columns x 2 layer rows of 9x9 tokens at 14 px" ||
  fail "IHDR size $w x $h (want 514 x 258)"
[ "$(echo $ids | wc -w)" = 6 ] && [ "$ids" = "$plain" ] && grep -q "attention of 2 layers x 4 heads over 9 tokens written to $tmp/a.png (514 x 258 pixels" "$tmp/err" &&
  ok "generation after it is the run without the flag (ids: $ids); stderr says what was written" ||
  fail "after the PNG: ids '$ids' (without the flag '$plain'), err '$(cat "$tmp/err")'"
# a 120-token prompt: 128/120 = 1 px per token, 4*120+5*2 = 490 by 2*120+3*2 = 246
long=$(seq 0 119 | tr '\n' ' ')
$I "$F" --prompt-ids "$long" --attention-png "$tmp/b.png" -n 0 >/dev/null 2>&1
[ "$(be32 "$tmp/b.png" 16) x $(be32 "$tmp/b.png" 20)" = "490 x 246" ] &&
  ok "120 tokens: one pixel per token, 490 x 246" || fail "120 tokens: $(be32 "$tmp/b.png" 16) x $(be32 "$tmp/b.png" 20)"

# ---- bad input ----
expect_fail "unwritable --attention-png" $I "$F" --prompt-ids "256 72" --attention-png /nonexistent-dir/a.png -n 1
err=$($I "$F" --prompt-ids "256 72" --attention-png /nonexistent-dir/a.png -n 1 2>&1 >/dev/null)
[[ $err == "infer: /nonexistent-dir/a.png: cannot create: No such file or directory" ]] &&
  ok "unwritable path: the message names it" || fail "unwritable path message: '$err'"
expect_fail "--attention-png without a prompt" $I "$F" --attention-png "$tmp/c.png"
err=$($I "$F" --attention-png "$tmp/c.png" 2>&1 >/dev/null)
[[ $err == "infer: --attention-png needs --prompt or --prompt-ids" ]] && [ ! -e "$tmp/c.png" ] &&
  ok "no prompt: \"$err\", no file" || fail "no prompt: '$err'"
err=$($I "$F" --attention-png 2>&1 >/dev/null)
[[ $err == "infer: --attention-png needs a value (see --help)" ]] && ok "no value: \"$err\"" || fail "no value: '$err'"
summary
