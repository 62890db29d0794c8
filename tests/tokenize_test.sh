#!/usr/bin/env bash
# tests/tokenize_test.sh — bin/tokenize from the outside: round trips through the pipe, and bad
# input (rank file, pattern, ids, flags) as a one-line error with exit 1.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
T=$BIN/tokenize
G=$TOK/gpt2/r50k_base.tiktoken
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# Round trip of the corpus head through the pipe, for each encoding (--pattern named or detected).
head -c 20000 "$CORPUS" > "$tmp/text"
for e in gpt2/r50k_base.tiktoken cl100k/cl100k_base.tiktoken llama3/tokenizer.model; do
  $T --encoding "$TOK/$e" < "$tmp/text" > "$tmp/ids" &&
    $T --encoding "$TOK/$e" --decode < "$tmp/ids" > "$tmp/back" &&
    cmp -s "$tmp/text" "$tmp/back" && ok "tokenize $e: 20 KB -> $(wc -w < "$tmp/ids") ids -> same bytes" ||
    fail "tokenize $e: round trip through the pipe"
done
# --ranks-from-json: Llama 3's tokenizer.json (byte-level strings, rank = id) gives Meta's
# tokenizer.model byte for byte (its published sha256); Llama 2's SentencePiece-style vocabulary
# is refused with nothing written.
$T --ranks-from-json "$TOK/llama3/tokenizer.json" > "$tmp/l3.model"; rc=$?
h=$(sha256sum < "$tmp/l3.model" | cut -d' ' -f1)
[ $rc = 0 ] && [ "$h" = 82e9d31979e92ab929cd544440f129d9ecd797b69e327f80f17e1c50d5551b55 ] &&
  ok "--ranks-from-json llama3/tokenizer.json: 128,000 ranks, sha256 of Meta's tokenizer.model" ||
  fail "--ranks-from-json llama3: exit $rc, sha256 $h"
$T --ranks-from-json "$TOK/llama2/tokenizer.json" > "$tmp/l2.model" 2> "$tmp/l2.err"; rc=$?
[ $rc = 1 ] && [ ! -s "$tmp/l2.model" ] && grep -q "token 259 is not byte-level" "$tmp/l2.err" &&
  ok "--ranks-from-json llama2/tokenizer.json: exit 1, nothing on stdout, \"$(cat "$tmp/l2.err")\"" ||
  fail "--ranks-from-json llama2: exit $rc, $(wc -c < "$tmp/l2.model") bytes, $(cat "$tmp/l2.err")"
printf '{"model": {"type": "BPE", "vocab": {"a": 0, "b": 2}}}' > "$tmp/gap.json"
expect_fail "--ranks-from-json vocabulary ids with a gap" $T --ranks-from-json "$tmp/gap.json"
expect_fail "--ranks-from-json malformed JSON" $T --ranks-from-json "$tmp/text"
expect_fail "--ranks-from-json with --decode" $T --ranks-from-json "$TOK/llama3/tokenizer.json" --decode
w=$(wc -w < "$tmp/ids")
n=$($T --encoding "$TOK/llama3/tokenizer.model" --count < "$tmp/text")
[ "$n" = "$w" ] && ok "--count prints the number of ids ($n)" || fail "--count $n vs $w ids"
# --special: the text <|endoftext|> is one id with it, several without.
a=$(printf 'hi<|endoftext|>' | $T --encoding "$G" --special)
b=$(printf 'hi<|endoftext|>' | $T --encoding "$G")
[ "$(echo $a | wc -w)" = 2 ] && [ "$(echo $b | wc -w)" -gt 2 ] && ok "--special: '$a' vs ordinary '$b'" ||
  fail "--special: '$a' vs '$b'"
# --bpe-dropout: more ids, the same bytes back, the same ids for the same --seed.
C=$TOK/cl100k/cl100k_base.tiktoken
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
err=$($T --encoding 2>&1 >/dev/null)
[ "$err" = "tokenize: --encoding needs a value (see --help)" ] && ok "a flag without its value: \"$err\"" || fail "a flag without its value: '$err'"
R5=any.tiktoken   # (refused while the flags are read, before any file is opened)
err=$(echo hi | $T --bench --tokenizer $R5 --tokenizer $R5 --encoding $R5 --tokenizer $R5 --tokenizer $R5 2>&1 >/dev/null)
[ "$err" = "tokenize: --tokenizer: at most 4 files" ] && ok "--tokenizer (or --encoding) a fifth time: \"$err\"" || fail "five tokenizers: '$err'"

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
