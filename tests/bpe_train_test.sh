#!/usr/bin/env bash
# tests/bpe_train_test.sh — bin/bpe-train: the same input gives the same file; encoding the corpus
# with the trained file (bin/tokenize, i.e. tiktoken_encode) gives exactly the segmentation that
# training ended with (--dump-ids); 4,096 ranks on tiny Shakespeare in seconds; bad input.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
B=$BIN/bpe-train
T=$BIN/tokenize
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

expect_fail "trained file without --pattern" $T --encoding "$tmp/shk.tiktoken"
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
