#!/usr/bin/env bash
# tests/tokenize_test.sh — bin/tokenize from the outside: round trips through the pipe, and bad
# input (rank file, pattern, ids, flags) as a one-line error with exit 1.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
S=${SHARED_DIR:-../shared}
T=$BIN/tokenize
G=$S/tokenizers/gpt2/r50k_base.tiktoken
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# Round trip of the corpus head through the pipe, for each encoding (--pattern named or detected).
head -c 20000 "$S/data/tinyshakespeare.txt" > "$tmp/text"
for e in gpt2/r50k_base.tiktoken cl100k/cl100k_base.tiktoken llama3/tokenizer.model; do
  $T --encoding "$S/tokenizers/$e" < "$tmp/text" > "$tmp/ids" &&
    $T --encoding "$S/tokenizers/$e" --decode < "$tmp/ids" > "$tmp/back" &&
    cmp -s "$tmp/text" "$tmp/back" && ok "tokenize $e: 20 KB -> $(wc -w < "$tmp/ids") ids -> same bytes" ||
    fail "tokenize $e: round trip through the pipe"
done
w=$(wc -w < "$tmp/ids")
n=$($T --encoding "$S/tokenizers/llama3/tokenizer.model" --count < "$tmp/text")
[ "$n" = "$w" ] && ok "--count prints the number of ids ($n)" || fail "--count $n vs $w ids"
# --special: the text <|endoftext|> is one id with it, several without.
a=$(printf 'hi<|endoftext|>' | $T --encoding "$G" --special)
b=$(printf 'hi<|endoftext|>' | $T --encoding "$G")
[ "$(echo $a | wc -w)" = 2 ] && [ "$(echo $b | wc -w)" -gt 2 ] && ok "--special: '$a' vs ordinary '$b'" ||
  fail "--special: '$a' vs '$b'"
# --bpe-dropout: more ids, the same bytes back, the same ids for the same --seed.
C=$S/tokenizers/cl100k/cl100k_base.tiktoken
$T --encoding "$C" --bpe-dropout 0.1 --seed 4 < "$tmp/text" > "$tmp/d1" &&
  $T --encoding "$C" --bpe-dropout 0.1 --seed 4 < "$tmp/text" > "$tmp/d2" &&
  $T --encoding "$C" --bpe-dropout 0.1 --seed 5 < "$tmp/text" > "$tmp/d3" &&
  $T --encoding "$C" --decode < "$tmp/d1" > "$tmp/dback" && $T --encoding "$C" --count < "$tmp/text" > "$tmp/n0"
[ "$(wc -w < "$tmp/d1")" -gt "$(cat "$tmp/n0")" ] && cmp -s "$tmp/text" "$tmp/dback" && cmp -s "$tmp/d1" "$tmp/d2" &&
  ! cmp -s "$tmp/d1" "$tmp/d3" &&
  ok "--bpe-dropout 0.1: $(wc -w < "$tmp/d1") ids against $(cat "$tmp/n0"), the same bytes back; --seed 4 twice the same ids, --seed 5 others" ||
  fail "--bpe-dropout: $(wc -w < "$tmp/d1") ids vs $(cat "$tmp/n0")"
# Invalid UTF-8 survives the round trip.
printf 'a\xff\xfeb\xe4\xbd' > "$tmp/bad"
$T --encoding "$G" < "$tmp/bad" | $T --encoding "$G" --decode > "$tmp/bad2" && cmp -s "$tmp/bad" "$tmp/bad2" &&
  ok "invalid UTF-8 round-trips through the pipe" || fail "invalid UTF-8 round trip"
# --pattern names a pattern explicitly, and a trained-size file needs one.
$T --encoding "$G" --pattern gpt2 < /dev/null > /dev/null && ok "--pattern gpt2 accepted" || fail "--pattern gpt2"
$T --help | grep -q -- "--pattern" && ok "--help lists the flags" || fail "--help"

printf 'not a rank file\n' > "$tmp/bad.tiktoken"
head -c 1000 "$G" > "$tmp/trunc.tiktoken"
expect_fail "missing rank file" $T --encoding "$tmp/nope.tiktoken"
expect_fail "corrupt rank file" $T --encoding "$tmp/bad.tiktoken"
expect_fail "truncated rank file" $T --encoding "$tmp/trunc.tiktoken"
expect_fail "unknown pattern" $T --encoding "$G" --pattern gpt5
expect_fail "--bpe-dropout -0.1" $T --encoding "$G" --bpe-dropout -0.1
expect_fail "--bpe-dropout with --decode" $T --encoding "$G" --bpe-dropout 0.1 --decode
expect_fail "id out of range" sh -c "echo 15 50257 | $T --encoding $G --decode"
expect_fail "negative id" sh -c "echo 15 -3 | $T --encoding $G --decode"
expect_fail "not an id" sh -c "echo 15 abc | $T --encoding $G --decode"
expect_fail "missing --encoding" $T --count
expect_fail "unknown flag" $T --encoding "$G" --frobnicate
summary
