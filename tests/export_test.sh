#!/usr/bin/env bash
# tests/export_test.sh — bin/export --format hf: transformers loads what it writes and gives our
# logits (tests/fixtures/export/transformers/*.f32, written by tools/export_reference.py on the
# folders this test writes again here); bin/infer on the export gives the source model's logits
# (the same bytes for f32, and for bf16 from a bf16 source); the tokenizer travels; bad flags
# and inputs end in one line on stderr and exit 1.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
E=$BIN/export
R=tests/fixtures/export/transformers
IDS="1 17 200 5 99 42 7 250" # tools/export_reference.py's IDS
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# max |a - b| over two float32 files of the same length ("" when the lengths differ)
maxdiff() {
  [ "$(stat -c %s "$1")" = "$(stat -c %s "$2")" ] || return
  paste <(od -An -v -f "$1" | tr -s ' ' '\n' | grep -v '^$') <(od -An -v -f "$2" | tr -s ' ' '\n' | grep -v '^$') |
    awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d } END { printf "%.3g\n", m }'
}
logits() { $BIN/infer "$1" --prompt-ids "$IDS" -n 0 --dump-logits "$2" > /dev/null 2> "$2.err"; }

# bad input: one line on stderr starting "export:" and holding pat, exit 1
expect_fail() {
  local what=$1 pat=$2 err rc; shift 2
  err=$("$@" 2>&1 >/dev/null); rc=$?
  [ "$rc" = 1 ] && [ "$(printf '%s' "$err" | grep -c '')" = 1 ] && [[ $err == export:*"$pat"* ]] &&
    ok "$what: exit 1, \"$err\"" || fail "$what: exit $rc, want \"$pat\", got: $(printf '%s' "$err" | head -3 | tr '\n' '|')"
}

# name : source : dtype — the folders tools/export_reference.py was run on
CASES="llama2_f32:tests/fixtures/hf_llama2_fp32:f32 llama2_bf16:tests/fixtures/hf_llama2_fp32:bf16
       llama32_bf16:tests/fixtures/hf_llama32_bf16:bf16
       ckpt_f32:tests/fixtures/export/ckpt.bin:f32 ckpt_bf16:tests/fixtures/export/ckpt.bin:bf16"
for c in $CASES; do
  IFS=: read -r name src dt <<< "$c"
  if ! $E "$src" "$tmp/$name" --format hf --dtype "$dt" 2> "$tmp/$name.err"; then
    fail "export $src --dtype $dt: $(cat "$tmp/$name.err")"; continue
  fi
  logits "$tmp/$name" "$tmp/$name.f32" && logits "$src" "$tmp/$name.src.f32" ||
    { fail "$name: bin/infer: $(cat "$tmp/$name.f32.err" "$tmp/$name.src.f32.err")"; continue; }
  d=$(maxdiff "$tmp/$name.f32" "$R/$name.f32")
  [ -n "$d" ] && awk -v d="$d" 'BEGIN { exit !(d < 2e-5) }' &&
    ok "$name: bin/infer on the export = transformers on it: max err $d (tol 2e-05)" ||
    fail "$name: bin/infer on the export vs transformers: max err '$d' (tol 2e-05)"
  # f32 keeps every weight, a bf16 source stays bf16: the source's logits to the bit
  if [ "$dt" = f32 ] || [ "$name" = llama32_bf16 ]; then
    cmp -s "$tmp/$name.f32" "$tmp/$name.src.f32" && ok "$name: the export's logits are the source's, bit for bit" ||
      fail "$name: the export's logits differ from the source's by $(maxdiff "$tmp/$name.f32" "$tmp/$name.src.f32")"
  else
    d=$(maxdiff "$tmp/$name.f32" "$tmp/$name.src.f32")
    awk -v d="$d" 'BEGIN { exit !(d > 0 && d < 0.05) }' &&
      ok "$name: bf16 weights from an f32 source: logits within $d of the source's (tol 0.05, not 0)" ||
      fail "$name: bf16 export vs source: max err '$d'"
  fi
done

# the config transformers reads: llama3 rope scaling, tied embeddings, the eos list, GQA
cfg=$(tr -d ' \t\n' < "$tmp/llama32_bf16/config.json")
[[ $cfg == *'"rope_scaling":{"factor":32,"high_freq_factor":4,"low_freq_factor":1,"original_max_position_embeddings":64,"rope_type":"llama3"}'* &&
   $cfg == *'"tie_word_embeddings":true'* && $cfg == *'"eos_token_id":[257,258]'* && $cfg == *'"num_key_value_heads":2'* &&
   $cfg == *'"rope_theta":500000'* && $cfg == *'"model_type":"llama"'* ]] &&
  ok "config.json: llama3 rope_scaling, rope_theta, tied embeddings, eos list, num_key_value_heads" ||
  fail "config.json: $cfg"

# the tokenizer: a GGUF's SentencePiece vocabulary as tokenizer.bin, a checkpoint's rank file as
# tokenizer.model, an HF folder's files as they are; bin/infer reads the export's text prompts
byte_tokenizer "$tmp/bytes.tiktoken"
cmp -s "$tmp/ckpt_f32/tokenizer.model" tests/fixtures/export/bytes.tiktoken && [ "$(cat "$tmp/ckpt_f32/tokenizer.model.pattern")" = gpt2 ] &&
  a=$($BIN/infer tests/fixtures/export/ckpt.bin --prompt "ROMEO:" -n 12 --temperature 0 2> /dev/null) &&
  b=$($BIN/infer "$tmp/ckpt_f32" --prompt "ROMEO:" -n 12 --temperature 0 2> /dev/null) && [ "$a" = "$b" ] &&
  ok "checkpoint source: its rank file as tokenizer.model, its split pattern as tokenizer.model.pattern; the same greedy text" ||
  fail "checkpoint tokenizer: $(ls "$tmp/ckpt_f32" | tr '\n' ' ') '$a' / '$b'"
mkdir -p "$tmp/hfsrc" && cp "$tmp/ckpt_f32"/* "$tmp/hfsrc/" && cp "$tmp/bytes.tiktoken" "$tmp/hfsrc/tokenizer.model" &&
  cp "$tmp/bytes.tiktoken.pattern" "$tmp/hfsrc/tokenizer.model.pattern" &&
  printf '{"model_max_length": 128}\n' > "$tmp/hfsrc/tokenizer_config.json"
$E "$tmp/hfsrc" "$tmp/hfout" --format hf 2> /dev/null && cmp -s "$tmp/hfsrc/tokenizer.model" "$tmp/hfout/tokenizer.model" &&
  cmp -s "$tmp/hfsrc/tokenizer_config.json" "$tmp/hfout/tokenizer_config.json" &&
  cmp -s "$tmp/hfsrc/tokenizer.model.pattern" "$tmp/hfout/tokenizer.model.pattern" &&
  a=$($BIN/infer "$tmp/hfsrc" --prompt "to be" -n 6 --temperature 0 2> "$tmp/a.err") &&
  b=$($BIN/infer "$tmp/hfout" --prompt "to be" -n 6 --temperature 0 2> /dev/null) && [ "$a" = "$b" ] && [ ${#a} -gt 5 ] &&
  ok "HF source: tokenizer.model and tokenizer_config.json copied; the same greedy text from --prompt ('$a')" ||
  fail "HF source tokenizer: $(ls "$tmp/hfout" | tr '\n' ' ')$(cat "$tmp/a.err")  '$a' / '$b'"

# a folder whose only tokenizer is tokenizer.json (most HF folders): that file travels alone
if [ -f "$TOK/llama3/tokenizer.json" ]; then
  mkdir -p "$tmp/tj" && cp tests/fixtures/hf_llama3_tiny/* "$tmp/tj/" && cp "$TOK/llama3/tokenizer.json" "$tmp/tj/"
  $E "$tmp/tj" "$tmp/tjout" --format hf 2> /dev/null && cmp -s "$tmp/tj/tokenizer.json" "$tmp/tjout/tokenizer.json" &&
    [ ! -e "$tmp/tjout/tokenizer.model" ] &&
    a=$($BIN/infer "$tmp/tj" --prompt "ROMEO:" -n 6 --temperature 0 --print-ids 2> /dev/null) &&
    b=$($BIN/infer "$tmp/tjout" --prompt "ROMEO:" -n 6 --temperature 0 --print-ids 2> /dev/null) && [ -n "$a" ] && [ "$a" = "$b" ] &&
    ok "tokenizer.json-only folder: tokenizer.json copied (no tokenizer.model made up); the same greedy ids ($a)" ||
    fail "tokenizer.json-only folder: $(ls "$tmp/tjout" | tr '\n' ' ') '$a' / '$b'"
else echo "SKIP tokenizer.json export: no $TOK/llama3/tokenizer.json"; fi

# ---- --format gguf ----
G=tests/fixtures/gguf
# our reader on what we write: the source's logits to the bit (f32; f16 and bf16 equal
# llama.cpp's convert_hf_to_gguf.py files of the same model; q8_0/q4_0 are bin/infer --quant's)
for q in f32 f16 bf16 q8_0 q4_0; do
  $E $G/tiny_f32.gguf "$tmp/sp_$q.gguf" --format gguf --quant $q 2> "$tmp/g.err" || { fail "gguf --quant $q: $(cat "$tmp/g.err")"; continue; }
  logits "$tmp/sp_$q.gguf" "$tmp/sp_$q.f32"
  case $q in f32) want=(infer $G/tiny_f32.gguf);; f16|bf16) want=(infer $G/tiny_$q.gguf);; *) want=(infer $G/tiny_f32.gguf --quant $q);; esac
  $BIN/"${want[@]}" --prompt-ids "$IDS" -n 0 --dump-logits "$tmp/want_$q.f32" > /dev/null 2>&1
  cmp -s "$tmp/sp_$q.f32" "$tmp/want_$q.f32" && ok "gguf --quant $q of llama.cpp's tiny_f32.gguf: logits = bin/${want[*]}, bit for bit" ||
    fail "gguf --quant $q: logits differ from bin/${want[*]} by $(maxdiff "$tmp/sp_$q.f32" "$tmp/want_$q.f32")"
done
# --awq: the scales are folded into the file's weights and norms, so the GGUF alone gives the
# logits of bin/infer --quant q4_0 --awq on the same calibration text
head -c 20000 data/tinyshakespeare.txt > "$tmp/calib.txt"
$E $G/tiny_f32.gguf "$tmp/awq.gguf" --format gguf --quant q4_0 --awq "$tmp/calib.txt" 2> "$tmp/g.err" &&
  logits "$tmp/awq.gguf" "$tmp/awq.f32" &&
  $BIN/infer $G/tiny_f32.gguf --quant q4_0 --awq "$tmp/calib.txt" --prompt-ids "$IDS" -n 0 --dump-logits "$tmp/want_awq.f32" > /dev/null 2>&1 &&
  ! cmp -s "$tmp/awq.f32" "$tmp/want_q4_0.f32" && cmp -s "$tmp/awq.f32" "$tmp/want_awq.f32" &&
  ok "gguf --quant q4_0 --awq: logits = bin/infer --quant q4_0 --awq, bit for bit (and not plain q4_0's)" ||
  fail "gguf --awq: $(cat "$tmp/g.err") $(maxdiff "$tmp/awq.f32" "$tmp/want_awq.f32")"
# a checkpoint (byte-level tokenizer): the f32 GGUF gives the checkpoint's logits
$E tests/fixtures/export/ckpt.bin "$tmp/ck.gguf" --format gguf --quant f32 2> /dev/null && logits "$tmp/ck.gguf" "$tmp/ck.gguf.f32" &&
  cmp -s "$tmp/ck.gguf.f32" "$tmp/ckpt_f32.src.f32" && ok "checkpoint -> gguf f32: the checkpoint's logits, bit for bit" ||
  fail "checkpoint gguf f32 vs the checkpoint: $(maxdiff "$tmp/ck.gguf.f32" "$tmp/ckpt_f32.src.f32")"
# Llama 3 RoPE scaling from config.json -> rope_freqs.weight: our reader's tables from the divisors
$E tests/fixtures/hf_llama32_bf16 "$tmp/l32.gguf" --format gguf 2> /dev/null && logits "$tmp/l32.gguf" "$tmp/l32.f32" &&
  d=$(maxdiff "$tmp/l32.f32" "$tmp/llama32_bf16.src.f32") && awk -v d="$d" 'BEGIN { exit !(d < 1e-5) }' &&
  ok "hf with llama3 rope_scaling -> gguf rope_freqs.weight: logits within $d of the source (tol 1e-05)" ||
  fail "llama3 rope scaling through gguf: max err '$d'"
# llama.cpp on the same exports (tests/fixtures/export/llamacpp.txt, tools/llamacpp_export_check.sh):
# its greedy continuation byte for byte, and its tokenization of a tricky text; each of those
# GGUF files is the one bin/export writes now (its sha256)
src() { if [ "$1" = llama3_tiny ]; then [ -d "$tmp/l3" ] || llama3_tiny_dir "$tmp/l3"; echo "$tmp/l3"; else echo "$1"; fi; }
while IFS='|' read -r kind name source quant a b c d; do
  if [ "$source" = llama3_tiny ] && [ ! -f "$TOK/llama3/tokenizer.model" ]; then echo "SKIP $name: no $TOK/llama3/tokenizer.model"; continue; fi
  [ -f "$tmp/lc_$name.gguf" ] || $E "$(src "$source")" "$tmp/lc_$name.gguf" --format gguf --quant "$quant" 2> /dev/null ||
    { fail "$name: export failed"; continue; }
  sha=$([ "$kind" = greedy ] && echo "$d" || echo "$c")
  [ "$(sha256sum < "$tmp/lc_$name.gguf" | cut -c1-64)" = "$sha" ] && ok "$name ($kind): bin/export writes the file llama.cpp was run on (sha256 ${sha:0:12}...)" ||
    fail "$name ($kind): bin/export's gguf is not the file llama.cpp was run on"
  if [ "$kind" = greedy ]; then
    hex=$($BIN/infer "$tmp/lc_$name.gguf" --prompt "$b" -n "$a" --temperature 0 2> /dev/null | od -An -v -tx1 | tr -d ' \n')
    phex=$(printf '%s' "$b" | od -An -v -tx1 | tr -d ' \n')
    got=${hex#"$phex"}
    # q4_0: llama.cpp's text and ours part after 5 tokens on this random tiny model (near-tied
    # logits); the first 5 bytes are checked
    [ "$quant" = q4_0 ] && { got=${got:0:10}; c=${c:0:10}; a=5; }
    [ "$got" = "$c" ] && ok "$name: llama.cpp's greedy text on our gguf $quant = bin/infer's ($a tokens after '$b')" ||
      fail "$name: bin/infer '$got', llama-simple '$c'"
  else
    t=$(src "$source"); [ -d "$t" ] && t=$t/tokenizer.model || t=tests/fixtures/export/bytes.tiktoken
    ids=$(printf '%s' "$a" | $BIN/tokenize --encoding "$t" 2> /dev/null)
    [ "$ids" = "$b" ] && ok "$name: llama.cpp tokenizes with our gguf's vocabulary and merges as tiktoken does ($(echo $b | wc -w) ids)" ||
      fail "$name: llama-tokenize '$b', ours '$ids'"
  fi
done < tests/fixtures/export/llamacpp.txt
expect_fail "--quant q5_k" '--quant: expected one of bf16,f16,f32,q8_0,q4_0, got "q5_k"' $E $G/tiny_f32.gguf "$tmp/x.gguf" --format gguf --quant q5_k
expect_fail "--dtype with gguf" "--dtype is for --format hf" $E $G/tiny_f32.gguf "$tmp/x.gguf" --format gguf --dtype f32
expect_fail "--awq with bf16" "--awq needs --quant q4_0 or q8_0" $E $G/tiny_f32.gguf "$tmp/x.gguf" --format gguf --awq "$tmp/calib.txt"
expect_fail "--awq of a missing file" "--awq $tmp/nothing: cannot open" $E $G/tiny_f32.gguf "$tmp/x.gguf" --format gguf --quant q4_0 --awq "$tmp/nothing"
expect_fail "gguf into a missing folder" "nodir/x.gguf" $E $G/tiny_f32.gguf "$tmp/nodir/x.gguf" --format gguf

expect_fail "no --format" "--format is required" $E tests/fixtures/hf_llama2_fp32 "$tmp/x"
expect_fail "--format onnx" '--format: expected one of hf,gguf,peft, got "onnx"' $E tests/fixtures/hf_llama2_fp32 "$tmp/x" --format onnx
expect_fail "--dtype f16" '--dtype: expected one of bf16,f32, got "f16"' $E tests/fixtures/hf_llama2_fp32 "$tmp/x" --format hf --dtype f16
expect_fail "one argument" "expected MODEL and OUT" $E tests/fixtures/hf_llama2_fp32 --format hf
expect_fail "--format without its value" "--format needs a value (see --help)" $E tests/fixtures/hf_llama2_fp32 "$tmp/x" --format
[ "$($E --help | grep -c '(default')" = 4 ] && $E --help | grep -q '(required)' && ok "--help: --format required, --dtype, --quant, --awq and --awq-tokens with their defaults" ||
  fail "--help: $($E --help | tr '\n' '|')"
expect_fail "missing model" "nosuch: No such file" $E "$tmp/nosuch" "$tmp/x" --format hf
head -c 5000 tests/fixtures/export/ckpt.bin > "$tmp/trunc.bin"
expect_fail "truncated checkpoint" "trunc.bin" $E "$tmp/trunc.bin" "$tmp/x" --format hf
expect_fail "hf from a GGUF with rope_freqs" "rope_freqs.weight table, which a Hugging Face config cannot hold" \
  $E tests/fixtures/gguf/tiny_f32.gguf "$tmp/x" --format hf
touch "$tmp/afile"
expect_fail "OUT is a file" "afile: not a directory" $E tests/fixtures/hf_llama2_fp32 "$tmp/afile" --format hf
summary
