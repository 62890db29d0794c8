#!/usr/bin/env bash
# tests/memlimit_test.sh — programs under an address-space limit (ulimit -v): a limit too small
# for OpenBLAS's buffers is one line and exit 1 before main (it used to hang: OpenBLAS retries a
# failed 128 MB mmap forever; util/blas_room.h), and running out of memory later, inside
# stb_ds's tables and cJSON's parse included, is one line and exit 1, never a crash
# (util/stb_ds_impl.c, util/json_file.c); which allocation failed, the KV cache or the attention
# scratch, is the one the message names.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
if [ "${SAN:-}" = 1 ]; then
  echo "NOT RUN: every row here (the SAN build's AddressSanitizer reserves terabytes of address space for its shadow memory, so no ulimit -v leaves it room to start)"
  summary; exit
fi
T=$(mktemp -d /tmp/memlimit_test.XXXXXX)
trap 'rm -rf "$T"' EXIT
F=tests/fixtures/hf_llama2_fp32

# under_limit KB CMD...: run CMD with ulimit -v KB (and 30 s at most); sets rc and err
under_limit() {
  local kb=$1; shift
  err=$( (ulimit -v "$kb"; timeout 30 "$@" 2>&1 >/dev/null </dev/null) ); rc=$?
  err=$(printf '%s\n' "$err" | grep -v '^$')
}
# limit_row "what" KB 'regex' CMD...: exit 1, one stderr line matching the regex
limit_row() {
  local what=$1 kb=$2 re=$3; shift 3
  under_limit "$kb" "$@"
  if [ "$rc" = 1 ] && [ "$(printf '%s\n' "$err" | grep -c '')" = 1 ] && printf '%s' "$err" | grep -Eq -- "$re"
  then ok "$what (ulimit -v $kb): exit 1, \"$err\""
  else fail "$what (ulimit -v $kb): exit $rc$([ "$rc" = 124 ] && echo ' (hung: killed after 30 s)'), want 1 and /$re/: $(printf '%s' "$err" | head -3 | tr '\n' '|')"; fi
}

# ---- OpenBLAS's buffers do not fit: one line before main, for every program ----
room='the address-space limit \(ulimit -v 200000\) leaves [0-9]+ MB, but OpenBLAS maps [0-9]+ MB of buffers for [0-9]+ threads? \(it would hang retrying\): raise the limit to at least [0-9]+ KB'
limit_row "train --help"           200000 "^train: $room" $BIN/train --help
limit_row "infer on the fixture"   200000 "^infer: $room" $BIN/infer "$F" --prompt-ids 1 -n 2
limit_row "bench-gemv --help"        200000 "^bench-gemv: $room" $BIN/bench-gemv --help
limit_row "infer, OMP_NUM_THREADS=1" 200000 "^infer: $room" env OMP_NUM_THREADS=1 $BIN/infer "$F" --prompt-ids 1 -n 2
# where they fit, the program runs; --threads beyond what the limit holds is refused the same way
under_limit 60000 $BIN/tokenize --help
[ "$rc" = 0 ] && ok "tokenize (no OpenBLAS linked: nothing to check), ulimit -v 60000: runs (exit 0)" || fail "tokenize --help, ulimit -v 60000: exit $rc: $err"
under_limit 360000 env OMP_NUM_THREADS=1 $BIN/infer "$F" --prompt-ids 1 -n 2
[ "$rc" = 0 ] && ok "infer, OMP_NUM_THREADS=1, ulimit -v 360000: runs (exit 0)" || fail "infer, OMP_NUM_THREADS=1, ulimit -v 360000: exit $rc: $err"
limit_row "infer --threads 8" 360000 '^infer: the address-space limit \(ulimit -v 360000\) leaves [0-9]+ MB, but OpenBLAS maps [0-9]+ MB more of buffers for 8 threads' \
  env OMP_NUM_THREADS=1 $BIN/infer "$F" --prompt-ids 1 -n 2 --threads 8

# ---- out of memory later: a rank file of 1,048,832 ranks (the 256 bytes, then 3-byte tokens
# written as 4-character base64) needs about 130 MB to load; at each limit below the load
# fails somewhere else (the file buffer, stb_ds's hash table, its arrays) ----
for i in $(seq 0 255); do printf '%s %d\n' "$(printf "\\x$(printf %02x "$i")" | base64)" "$i"; done > "$T/big.tiktoken"
awk 'BEGIN { A = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"; r = 256
  for (a = 1; a <= 64; a++) for (b = 1; b <= 64; b++) for (c = 1; c <= 64; c++) for (d = 1; d <= 4; d++)
    print substr(A, a, 1) substr(A, b, 1) substr(A, c, 1) substr(A, d, 1), r++ }' >> "$T/big.tiktoken"
for kb in 40000 70000 100000 130000; do
  limit_row "tokenize loading 1M ranks" $kb '^tokenize: out of memory' env OMP_NUM_THREADS=1 $BIN/tokenize --encoding "$T/big.tiktoken" --pattern gpt2
done

# ---- a tokenizer.json (Llama 3's, 9 MB) loaded under limits that run out in different places:
# the file's buffer, cJSON's tree, our tables. cJSON answers a failed allocation with NULL (it
# read as "malformed JSON"); its allocations now go through util/json_file.c's, which ends the
# program with one line ----
if [ -f "$TOK/llama3/tokenizer.json" ]; then
  in_json=0
  for kb in 20000 30000 40000 50000 60000 80000 100000; do
    limit_row "tokenize loading Llama 3's tokenizer.json" $kb '^tokenize: (.*: )?out of memory' \
      $BIN/tokenize --tokenizer "$TOK/llama3/tokenizer.json"
    printf '%s' "$err" | grep -q '^tokenize: out of memory (JSON, ' && in_json=$((in_json + 1))
  done
  [ $in_json -gt 0 ] && ok "tokenizer.json: $in_json of those limits ran out inside cJSON's parse: 'out of memory (JSON, N bytes)'" ||
    fail "tokenizer.json: no limit ran out inside cJSON's parse"
else
  echo "SKIP tokenizer.json under memory limits: no $TOK/llama3/tokenizer.json"
fi

# ---- the KV cache or the attention scratch: the message names the one that did not fit ----
le32() { local n=$1 i; for i in 0 1 2 3; do printf "\\x$(printf %02x $(( (n >> (8*i)) & 255 )))"; done; }
hdr() { le32 $1; le32 $2; le32 $3; le32 $4; le32 $5; le32 $6; le32 $7; }   # a llama2.c header
# 64 query heads of width 2 on one KV head (legacy llama2.c file, zero weights): at --ctx 16384
# the KV cache is 0.3 MB, the scratch (64 heads' scores for 256 queries over 16384 keys) 1075 MB
{ hdr 128 8 1 64 1 4 16384; head -c 280064 /dev/zero; } > "$T/scratch.bin"
limit_row "infer, a scratch larger than the limit" 400000 '^infer: cannot allocate the attention scratch \(1075\.2 MB\) for --ctx 16384$' \
  env OMP_NUM_THREADS=1 $BIN/infer "$T/scratch.bin" --prompt-ids 1 -n 1 --ctx 16384
# 8 layers of one 128-wide head (v1 file): at --ctx 65536 the KV cache is 537 MB, the scratch 69 MB
{ le32 $((0x616b3432)); le32 1; hdr 128 1 8 1 1 2 65536; printf '\1'; head -c $((256 - 37)) /dev/zero
  head -c $(( (2*128 + 2*8*128 + 128 + 8*4*128*128 + 8*3*128) * 4 )) /dev/zero; } > "$T/kv.bin"
limit_row "infer, a KV cache larger than the limit" 400000 '^infer: cannot allocate the KV cache \(536\.9 MB\) for --ctx 65536$' \
  env OMP_NUM_THREADS=1 $BIN/infer "$T/kv.bin" --prompt-ids 1 -n 1 --ctx 65536

# ---- one character repeated: 10 MB of "a", 5 MB of spaces, each one pre-token piece. Encoded
# whole, the BPE of one piece needs about 44 bytes per byte (it took 570 MB for 20 MB of "a");
# cut into slices of 25,000 characters (Meta's Llama 3 rule, data/tiktoken.c) it fits in 100 MB,
# and the ids are those of the slices encoded one by one ----
for n in $(seq 1 300); do head -c $n /dev/zero | tr '\0' a; echo; done > "$T/a_corpus.txt"   # runs of "a" to merge
echo "hello world, and some spaces    here" >> "$T/a_corpus.txt"
$BIN/bpe-train --vocab 270 --quiet --out "$T/a.tiktoken" "$T/a_corpus.txt" || fail "bpe-train of the a-run ranks"
tok=($BIN/tokenize --encoding "$T/a.tiktoken" --pattern gpt2 --count)
for c in a ' '; do
  name=$([ "$c" = a ] && echo '"a"' || echo 'spaces'); mb=$([ "$c" = a ] && echo 10 || echo 5)
  head -c 25000 /dev/zero | tr '\0' "$c" > "$T/slice"
  per=$("${tok[@]}" < "$T/slice")
  head -c $((mb * 1000000)) /dev/zero | tr '\0' "$c" > "$T/run"
  got=$( (ulimit -v 100000; timeout 120 "${tok[@]}" < "$T/run" 2>&1) ); rc=$?
  want=$((per * mb * 1000000 / 25000))
  [ $rc = 0 ] && [ "$got" = "$want" ] && ok "tokenize $mb MB of $name in 100 MB of address space: $got ids = $((mb * 40)) slices x $per" ||
    fail "tokenize $mb MB of $name under ulimit -v 100000: exit $rc, \"$(printf '%s' "$got" | head -1)\" (want $want ids)"
done
# Llama 3's split pattern tries \s*[\r\n]+ before \s+(?!\S), which scans a whole whitespace run and backs
# out of it: PCRE2's default limit of 10 million steps a match stopped a run of 10 MB
$BIN/bpe-train --vocab 270 --quiet --pattern llama3 --out "$T/s.tiktoken" "$T/a_corpus.txt" || fail "bpe-train, llama3 pattern"
head -c 10000000 /dev/zero | tr '\0' ' ' > "$T/run"
got=$(timeout 120 $BIN/tokenize --encoding "$T/s.tiktoken" --pattern llama3 --count < "$T/run" 2>&1); rc=$?
[ $rc = 0 ] && [ "$got" = 10000000 ] && ok "tokenize 10 MB of spaces with Llama 3's split pattern: $got ids" ||
  fail "tokenize 10 MB of spaces, Llama 3's pattern: exit $rc, \"$(printf '%s' "$got" | head -1)\""

summary
