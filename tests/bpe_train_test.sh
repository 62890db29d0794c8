#!/usr/bin/env bash
# tests/bpe_train_test.sh — bin/bpe-train: the same input gives the same file; encoding the corpus
# with the trained file (bin/tokenize, i.e. tiktoken_encode) gives exactly the segmentation that
# training ended with (--dump-ids); 4,096 ranks on tiny Shakespeare in seconds; bad input.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
B=$BIN/bpe-train
T=$BIN/tokenize
P=$BIN/prepare
C=$CORPUS
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

head -c 200000 "$C" > "$tmp/small.txt"
for p in gpt2 cl100k llama3; do
  $B --quiet --vocab 1000 --pattern $p --out "$tmp/a.tiktoken" --dump-ids "$tmp/train.ids" "$tmp/small.txt" &&
  $B --quiet --vocab 1000 --pattern $p --out "$tmp/b.tiktoken" "$tmp/small.txt" &&
    cmp -s "$tmp/a.tiktoken" "$tmp/b.tiktoken" && ok "$p: two runs on the same 200 KB write the same file ($(wc -l < "$tmp/a.tiktoken") ranks)" ||
    fail "$p: two runs differ"
  $T --encoding "$tmp/a.tiktoken" --pattern $p < "$tmp/small.txt" > "$tmp/enc.ids" &&
    cmp -s "$tmp/train.ids" "$tmp/enc.ids" &&
    ok "$p: tiktoken_encode with the trained file == training-time segmentation ($(wc -w < "$tmp/enc.ids") ids)" ||
    fail "$p: encoding with the trained file differs from the training segmentation"
done
# The first 256 ranks are the single bytes in byte order.
first=$(head -256 "$tmp/a.tiktoken" | awk '{print $2}' | tr '\n' ' ')
[ "$first" = "$(seq 0 255 | tr '\n' ' ')" ] && [ "$(head -1 "$tmp/a.tiktoken")" = "AA== 0" ] &&
  [ "$(sed -n 66p "$tmp/a.tiktoken")" = "QQ== 65" ] && ok "ranks 0..255 are the bytes 0x00..0xff" ||
  fail "ranks 0..255 are not the single bytes"

# The real size: 4,096 ranks on the whole of tiny Shakespeare, timed.
start=$(date +%s.%N)
$B --quiet --vocab 4096 --pattern gpt2 --out "$tmp/shk.tiktoken" --dump-ids "$tmp/shk.train" "$C"; rc=$?
secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
[ $rc = 0 ] && [ "$(wc -l < "$tmp/shk.tiktoken")" = 4096 ] && awk -v s="$secs" 'BEGIN { exit !(s < 30) }' &&
  ok "4,096 ranks on tiny Shakespeare in $secs s (bound 30 s)" || fail "4,096 ranks: rc $rc, $secs s"
$T --encoding "$tmp/shk.tiktoken" --pattern gpt2 < "$C" > "$tmp/shk.enc" && cmp -s "$tmp/shk.train" "$tmp/shk.enc" &&
  ok "tiny Shakespeare: encoding with the 4,096 file == training segmentation ($(wc -w < "$tmp/shk.enc") ids)" ||
  fail "tiny Shakespeare: encoding differs from training segmentation"

# Arbitrary bytes (invalid UTF-8) train and round-trip.
LC_ALL=C awk 'BEGIN { srand(7); for (i = 0; i < 30000; i++) printf "%c", int(rand() * 256) }' > "$tmp/rand.bin"; cat "$tmp/small.txt" >> "$tmp/rand.bin"
$B --quiet --vocab 600 --out "$tmp/r.tiktoken" --dump-ids "$tmp/r.train" "$tmp/rand.bin" &&
  $T --encoding "$tmp/r.tiktoken" --pattern gpt2 < "$tmp/rand.bin" > "$tmp/r.enc" && cmp -s "$tmp/r.train" "$tmp/r.enc" &&
  $T --encoding "$tmp/r.tiktoken" --pattern gpt2 --decode < "$tmp/r.enc" | cmp -s - "$tmp/rand.bin" &&
  ok "random bytes + text: trains, encodes as trained, decodes back" || fail "random bytes corpus"

# The split pattern is recorded beside the vocabulary (FILE.pattern): encoding without --pattern
# uses it, another --pattern is refused (by bin/tokenize, bin/prepare and bin/train alike), and
# without the record a vocabulary of unknown size needs --pattern.
[ "$(cat "$tmp/shk.tiktoken.pattern")" = gpt2 ] &&
  [ "$($T --encoding "$tmp/shk.tiktoken" < "$tmp/small.txt")" = "$($T --encoding "$tmp/shk.tiktoken" --pattern gpt2 < "$tmp/small.txt")" ] &&
  ok "bpe-train records its pattern in shk.tiktoken.pattern (gpt2); tokenize without --pattern uses it" ||
  fail "pattern record: '$(cat "$tmp/shk.tiktoken.pattern" 2>&1)'"
$B --quiet --vocab 400 --pattern cl100k --out "$tmp/cl.tiktoken" "$tmp/small.txt" && head -c 3000 "$tmp/small.txt" > "$tmp/tiny.txt" &&
  $P --tokenizer "$tmp/cl.tiktoken" --out-dir "$tmp/cl" "$tmp/tiny.txt" 2>/dev/null
for prog in tokenize prepare train; do
  case $prog in
    tokenize) cmd=($T --encoding "$tmp/cl.tiktoken" --pattern gpt2) ;;
    prepare)  cmd=($P --tokenizer "$tmp/cl.tiktoken" --pattern gpt2 --out-dir "$tmp/cl2" "$tmp/tiny.txt") ;;
    train)    cmd=($BIN/train --tokenizer "$tmp/cl.tiktoken" --pattern gpt2 --data "$tmp/cl/train.bin"
                   --val-data "$tmp/cl/val.bin" --steps 1 --seq 8 --batch 1 --ckpt-dir "$tmp/clc") ;;
  esac
  err=$("${cmd[@]}" < "$tmp/small.txt" 2>&1 >/dev/null); rc=$?
  [ $rc = 1 ] && [ "$(printf '%s\n' "$err" | grep -c '')" = 1 ] && [[ $err == *"was learned with the cl100k split pattern"*"not gpt2"* ]] &&
    ok "$prog: --pattern gpt2 on a cl100k vocabulary refused: \"$err\"" || fail "$prog --pattern mismatch: exit $rc, $err"
done
mv "$tmp/shk.tiktoken.pattern" "$tmp/shk.saved"
expect_fail "trained file without --pattern and without its .pattern" $T --encoding "$tmp/shk.tiktoken"
mv "$tmp/shk.saved" "$tmp/shk.tiktoken.pattern"
echo gpt3 > "$tmp/cl.tiktoken.pattern"
expect_fail "a .pattern file naming no pattern" $T --encoding "$tmp/cl.tiktoken"
expect_fail "missing corpus" $B --vocab 300 --out "$tmp/x.tiktoken" "$tmp/nope.txt"
expect_fail "vocab below 256" $B --vocab 100 --out "$tmp/x.tiktoken" "$tmp/small.txt"
expect_fail "vocab not a number" $B --vocab 4k --out "$tmp/x.tiktoken" "$tmp/small.txt"
expect_fail "unknown pattern" $B --vocab 300 --pattern gpt9 --out "$tmp/x.tiktoken" "$tmp/small.txt"
expect_fail "missing --out" $B --vocab 300 "$tmp/small.txt"
: > "$tmp/empty.txt"
expect_fail "empty corpus" $B --vocab 300 --out "$tmp/x.tiktoken" "$tmp/empty.txt"
expect_fail "unwritable --out" $B --quiet --vocab 300 --out "$tmp/no/such/dir/x.tiktoken" "$tmp/small.txt"
[ ! -e "$tmp/x.tiktoken" ] && ok "no output file left behind by the failures" || fail "a failed run left a file"
summary
