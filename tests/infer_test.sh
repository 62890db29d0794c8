#!/usr/bin/env bash
# tests/infer_test.sh — bin/infer as a program: it runs the four model formats (a llama.cpp GGUF,
# --quant and --perplexity too), its outputs (text, --print-ids, --dump-logits, --chat, the stats
# line), and every bad input — flags, prompts, corrupted model folders and files — ends in one
# line on stderr and exit 1.
# (Token-level correctness against transformers is in tests/test_infer.c, test_loaders.c and test_llama2c.c.)
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
I=$BIN/infer
F=tests/fixtures/hf_llama2_fp32
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
M=$tmp/llama3_tiny; llama3_tiny_dir "$M"   # Llama 3 vocabulary, width 4, random weights

# ---- runs ----
out=$($I "$M" --prompt "ROMEO:" --temperature 0 -n 24 2>"$tmp/err"); rc=$?
[ $rc = 0 ] && [[ $out == ROMEO:* ]] && [ ${#out} -gt 30 ] && grep -q "decode .* tok/s .* ms/token | [0-9]* threads | peak RSS" "$tmp/err" &&
  ok "HF bf16 folder, --prompt, greedy: text continues the prompt; stats: $(cat "$tmp/err")" ||
  fail "Llama 3 greedy run: exit $rc, out '$out', err '$(cat "$tmp/err")'"
a=$($I "$M" --prompt "JULIET:" --temperature 0.8 --top-k 40 --top-p 0.95 --min-p 0.02 --seed 7 -n 20 --print-ids 2>/dev/null)
b=$($I "$M" --prompt "JULIET:" --temperature 0.8 --top-k 40 --top-p 0.95 --min-p 0.02 --seed 7 -n 20 --print-ids 2>/dev/null)
c=$($I "$M" --prompt "JULIET:" --temperature 0.8 --top-k 40 --top-p 0.95 --min-p 0.02 --seed 8 -n 20 --print-ids 2>/dev/null)
[ -n "$a" ] && [ "$a" = "$b" ] && [ "$a" != "$c" ] && [ "$(echo $a | wc -w)" -le 20 ] &&
  ok "sampling: the same --seed gives the same ids, another seed others ($a)" || fail "sampling seeds: '$a' / '$b' / '$c'"
ids=$($I "$F" --prompt-ids "1 17 200 5" --temperature 0 -n 8 2>/dev/null); rc=$?
[ $rc = 0 ] && [ "$(echo $ids | wc -w)" = 8 ] && ok "HF fp32 folder without a tokenizer: --prompt-ids runs, ids out ($ids)" ||
  fail "prompt-ids without tokenizer: exit $rc, '$ids'"
$I "$M" --prompt "ROMEO:" -n 0 --dump-logits "$tmp/logits.f32" >/dev/null 2>&1 &&
  [ "$(stat -c %s "$tmp/logits.f32")" = $((128256 * 4)) ] && ok "--dump-logits: 128256 float32 written" ||
  fail "--dump-logits wrote $(stat -c %s "$tmp/logits.f32" 2>/dev/null) bytes"
# a llama.cpp GGUF, its tokenizer from the metadata, and --perplexity against llama-perplexity's
# number for the same file, text and context (tests/fixtures/gguf/llamacpp_ppl.txt)
GQ=tests/fixtures/gguf/tiny_q4_0.gguf
out=$($I "$GQ" --perplexity tests/fixtures/gguf/ppl.txt --ctx 64 2>/dev/null); rc=$?
want=$(awk '$1 == "tiny_q4_0.gguf" && $2 == 64 { print $3, $4 }' tests/fixtures/gguf/llamacpp_ppl.txt)
[ $rc = 0 ] && awk -v o="$out" -v w="$want" 'BEGIN { split(o, a, " "); split(w, b, " ");
    exit !(a[1] == "perplexity" && a[3] == "over" && a[4] == b[2] && a[5] == "tokens" && (a[2] - b[1]) / b[1] < 1e-3 && (b[1] - a[2]) / b[1] < 1e-3) }' &&
  ok "GGUF q4_0 --perplexity --ctx 64: \"$out\" (llama-perplexity: $want)" || fail "GGUF --perplexity: exit $rc, \"$out\", want $want"
out=$($I "$GQ" --prompt "the king" --temperature 0 -n 8 2>/dev/null); rc=$?
[ $rc = 0 ] && [[ $out == "the king"* ]] && ok "GGUF with a SentencePiece tokenizer: --prompt runs (\"$out\")" ||
  fail "GGUF --prompt: exit $rc, \"$out\""
out=$($I tests/fixtures/hf_llama32_bf16 --quant q4_0 --prompt-ids "1 17 200 5" --temperature 0 -n 4 2>"$tmp/err"); rc=$?
[ $rc = 0 ] && grep -q "q4_0" "$tmp/err" && ok "--quant q4_0 on an HF folder: runs, stats say q4_0 ($out)" ||
  fail "--quant q4_0: exit $rc, '$out', $(cat "$tmp/err")"
# --chat's prompt is the Llama 3 format token for token: its first turn's logits equal those of
# the ids Python tiktoken gives for the same dialog written out with its special tokens
# (tests/fixtures/tiktoken/cases.json, case special_llama_chat: user "Hi there!", then the
# assistant header)
ref=$(grep -o '"name":"special_llama_chat".*' tests/fixtures/tiktoken/cases.json | grep -o '"all":{[^}]*}' |
      head -n 1 | grep -o '"llama3":\[[^]]*\]' | sed 's/.*\[\(.*\)\]/\1/' | tr ',' ' ')
printf 'Hi there!\n' | $I "$M" --chat --temperature 0 -n 1 --dump-logits "$tmp/chat.f32" >/dev/null 2>&1 &&
  $I "$M" --prompt-ids "$ref" --temperature 0 -n 1 --dump-logits "$tmp/ref.f32" >/dev/null 2>&1 &&
  [ "$(echo $ref | wc -w)" = 13 ] && cmp -s "$tmp/chat.f32" "$tmp/ref.f32" &&
  ok "--chat prompt = tiktoken's ids of the Llama 3 dialog format (same logits as --prompt-ids $ref)" ||
  fail "--chat prompt differs from the reference ids '$ref'"
# The same through tokenizer.json: --chat's first turn against the ids of the models' chat
# templates encoded by HF tokenizers (tests/fixtures/tokenizer_json/cases.json "chat"): Llama 3's
# format from its tokenizer.json, Llama 2's [INST] format from its tokenizer.json (on the Llama 3
# tiny model, whose 128,256 ids hold Llama 2's 32,000)
chat_ids() { sed 's/{"tok":/\n{"tok":/g' tests/fixtures/tokenizer_json/cases.json | grep "^{\"tok\":\"$1\",\"name\":\"$2\"," |
             grep -o '"ids":\[[^]]*\]' | head -n 1 | sed 's/.*\[\(.*\)\]/\1/' | tr ',' ' '; }
for fam in llama3 llama2; do
  for c in user system_user; do
    ref=$(chat_ids $fam $c)
    if [ $c = user ]; then msg='Hello there!\n'; sys=(); else msg='  What is 2+2?\n'; sys=(--system "You are a helpful assistant."); fi
    printf "$msg" | $I "$M" --tokenizer "$TOK/$fam/tokenizer.json" --chat "${sys[@]}" --temperature 0 -n 1 \
        --dump-logits "$tmp/chat.f32" >/dev/null 2>&1 &&
      $I "$M" --prompt-ids "$ref" --temperature 0 -n 1 --dump-logits "$tmp/ref.f32" >/dev/null 2>&1 &&
      [ -n "$ref" ] && cmp -s "$tmp/chat.f32" "$tmp/ref.f32" &&
      ok "--chat with $fam/tokenizer.json ($c): the prompt = HF's chat template ids ($(echo $ref | wc -w) ids, same logits)" ||
      fail "--chat with $fam/tokenizer.json ($c) differs from '$ref'"
  done
done
printf 'Who art thou?\nAnd whence?\n' | $I "$M" --chat --system "You are Romeo." --temperature 0 -n 12 >"$tmp/chat" 2>"$tmp/err"; rc=$?
[ $rc = 0 ] && [ "$(grep -c '' "$tmp/chat")" -ge 2 ] && grep -q "prompt .* tok" "$tmp/err" &&
  ok "--chat: two turns on one KV cache, exit 0 ($(tr '\n' '|' < "$tmp/chat" | head -c 80))" || fail "--chat: exit $rc, $(head -c 300 "$tmp/err")"
out=$($I "$M" --prompt "ROMEO:" --temperature 0 --ctx 8 -n 50 2>"$tmp/err"); rc=$?
[ $rc = 0 ] && grep -q "context full" "$tmp/err" && ok "context fills up during generation: stops with a message, exit 0" ||
  fail "context full: exit $rc, $(cat "$tmp/err")"
# a loaded machine (load average above the core count): one warning naming --threads, then the run
SCRATCHLLAMA_LOADAVG=99 $I "$F" --prompt-ids "1 17" --temperature 0 -n 2 --threads 1 >/dev/null 2>"$tmp/err"; rc=$?
[ $rc = 0 ] && [ "$(grep -c 'the machine is busy (load average 99.0 on [0-9]* cores).*1 threads compete.*--threads' "$tmp/err")" = 1 ] &&
  grep -q "| 1 threads |" "$tmp/err" && ok "busy machine: one warning naming the load and --threads; stats name 1 thread" ||
  fail "busy machine warning: exit $rc, $(cat "$tmp/err")"
# the same without --threads: one thread instead of all cores, said once
SCRATCHLLAMA_LOADAVG=99 $I "$F" --prompt-ids "1 17" --temperature 0 -n 2 >/dev/null 2>"$tmp/err"; rc=$?
[ $rc = 0 ] && [ "$(grep -c 'the machine is busy (load average 99.0 on [0-9]* cores): running on 1 thread, not [0-9]* (--threads N chooses)' "$tmp/err")" = 1 ] &&
  grep -q "| 1 threads |" "$tmp/err" && ok "busy machine, default threads: one line, then 1 thread" ||
  fail "busy machine default threads: exit $rc, $(cat "$tmp/err")"
$I --help | grep -q -- "--dump-logits" && [ "$($I --help | grep -c -- '--')" -ge 15 ] && ok "--help lists the flags" || fail "--help"
# the flag table (util/flags.h): each flag's --help entry (its line and the indented lines under
# it) states its default; -n is --max-new
nodef=$($I --help | awk '/^  -/ { if (f != "" && f !~ /--(entropix|help)$/ && e !~ /\(default/) print f; f = $1 ~ /,$/ ? $2 : $1; e = $0; next }
                         /^   / { e = e $0; next } END { if (f != "" && f !~ /--(entropix|help)$/ && e !~ /\(default/) print f }')
nflags=$($I --help | grep -c '^  -')
[ -z "$nodef" ] && [ "$nflags" -ge 24 ] && ok "--help: all $nflags flags, each with its default" || fail "--help: no default for: $nodef ($nflags flags)"
a=$($I "$F" --prompt-ids "1 17" --temperature 0 -n 3 --print-ids 2>/dev/null); b=$($I "$F" --prompt-ids "1 17" --temperature 0 --max-new 3 --print-ids 2>/dev/null)
[ -n "$a" ] && [ "$a" = "$b" ] && [ "$(echo $a | wc -w)" = 3 ] && ok "-n 3 = --max-new 3: 3 ids ($a)" || fail "-n 3 '$a', --max-new 3 '$b'"
err=$($I "$F" --prompt-ids 1 --quant q5_0 2>&1 >/dev/null)
[ "$err" = 'infer: --quant: expected one of none,q8_0,q4_0, got "q5_0"' ] && ok "--quant q5_0: \"$err\"" || fail "--quant q5_0: '$err'"
err=$($I "$F" --prompt-ids 2>&1 >/dev/null)
[ "$err" = 'infer: --prompt-ids needs a value (see --help)' ] && ok "--prompt-ids without a value: \"$err\"" || fail "--prompt-ids without a value: '$err'"

# ---- bad flags and prompts: one line, exit 1 ----
expect_fail "--top-p 2"            $I "$M" --prompt x --top-p 2
expect_fail "--top-p 0"            $I "$M" --prompt x --top-p 0
expect_fail "-n -1"                $I "$M" --prompt x -n -1
expect_fail "--temperature -1"     $I "$M" --prompt x --temperature -1
expect_fail "--top-k -3"           $I "$M" --prompt x --top-k -3
expect_fail "--min-p 1.5"          $I "$M" --prompt x --min-p 1.5
expect_fail "--seed abc"           $I "$M" --prompt x --seed abc
expect_fail "--ctx 0"              $I "$M" --prompt x --ctx 0
expect_fail "--ctx past max_position_embeddings" $I "$M" --prompt x --ctx 200000
expect_fail "unknown flag"         $I "$M" --prompt x --frobnicate
expect_fail "flag without value"   $I "$M" --prompt
expect_fail "no model"             $I
expect_fail "two models"           $I "$M" "$M"
expect_fail "--prompt and --prompt-ids" $I "$M" --prompt x --prompt-ids "1 2"
expect_fail "--system without --chat"   $I "$M" --prompt x --system hi
expect_fail "--prompt-ids id past vocab" $I "$M" --prompt-ids "128000 999999"
expect_fail "--prompt-ids not a number" $I "$M" --prompt-ids "128000 x7"
expect_fail "invalid UTF-8 prompt"  $I "$M" --prompt $'ROMEO\xff\xfe'
expect_fail "prompt longer than --ctx" $I "$M" --ctx 4 --prompt "ROMEO: ROMEO: ROMEO: ROMEO: ROMEO:"
expect_fail "text prompt, no tokenizer" $I "$F" --prompt "hello"
expect_fail "--tokenizer not a tokenizer" $I "$M" --tokenizer "$M/config.json" --prompt x
printf '\x0a\x0b\x0a\x05<unk>\x15\0\0\0\0' > "$tmp/sp.model"
expect_fail "--tokenizer a SentencePiece protobuf" $I "$M" --tokenizer "$tmp/sp.model" --prompt x
expect_fail "--tokenizer larger than the vocab" $I "$F" --tokenizer "$TOK/llama3/tokenizer.model" --prompt x
expect_fail "--dump-logits unwritable" $I "$M" --prompt x -n 0 --dump-logits /nonexistent/dir/l.f32
expect_fail "missing model"        $I "$tmp/nothing-here" --prompt x

# ---- corrupted Hugging Face folders ----
bad() { rm -rf "$tmp/m"; cp -r "$F" "$tmp/m"; }
bad; sed -i 's/"num_attention_heads"/"num_attention_headz"/' "$tmp/m/config.json"
expect_fail "config.json missing num_attention_heads" $I "$tmp/m" --prompt-ids "1 2"
bad; sed -i 's/"hidden_size": 64,/"hidden_size": 64,,/' "$tmp/m/config.json"
expect_fail "config.json malformed JSON" $I "$tmp/m" --prompt-ids "1 2"
bad; sed -i 's/"intermediate_size": 172/"intermediate_size": 160/' "$tmp/m/config.json"
expect_fail "tensor shape does not match config" $I "$tmp/m" --prompt-ids "1 2"
bad; LC_ALL=C sed -i '1s/"F32"/"I32"/' "$tmp/m/model.safetensors"
expect_fail "tensor dtype I32" $I "$tmp/m" --prompt-ids "1 2"
bad; LC_ALL=C sed -i '1s/"F32"/"Q32"/' "$tmp/m/model.safetensors"
expect_fail "unknown dtype" $I "$tmp/m" --prompt-ids "1 2"
bad; printf '\xff\xff\xff\x00\x00\x00\x00\x00{}' > "$tmp/m/model.safetensors"
expect_fail "safetensors header length past EOF" $I "$tmp/m" --prompt-ids "1 2"
bad; truncate -s -4096 "$tmp/m/model.safetensors"
expect_fail "truncated safetensors" $I "$tmp/m" --prompt-ids "1 2"
bad; rm "$tmp/m/model.safetensors"
expect_fail "no weights file" $I "$tmp/m" --prompt-ids "1 2"
rm -rf "$tmp/s"; cp -r tests/fixtures/hf_llama32_bf16 "$tmp/s"; rm "$tmp/s/model-00002-of-00006.safetensors"
expect_fail "shard named in the index but missing" $I "$tmp/s" --prompt-ids "256 2"

# ---- llama2.c files ----
# header dim 8, hidden 16, 1 layer, 2 heads, 2 kv heads, vocab 32 (shared), seq_len 4, then a
# wrong number of weight bytes
printf '\x08\0\0\0\x10\0\0\0\x01\0\0\0\x02\0\0\0\x02\0\0\0\x20\0\0\0\x04\0\0\0' > "$tmp/l.bin"
head -c 1000 /dev/zero >> "$tmp/l.bin"
expect_fail "llama2.c file of the wrong size" $I "$tmp/l.bin" --prompt-ids "1 2"
# the exact size this header implies: (V*C + 2LC + C + 2LC*C + 2LC*KVD + 3LCH + S*HD) floats
n=$(( (32*8 + 2*8 + 8 + 2*8*8 + 2*8*8 + 3*8*16 + 4*4) * 4 ))
printf '\x08\0\0\0\x10\0\0\0\x01\0\0\0\x02\0\0\0\x02\0\0\0\x20\0\0\0\x04\0\0\0' > "$tmp/l.bin"
head -c $n /dev/zero >> "$tmp/l.bin"
out=$($I "$tmp/l.bin" --prompt-ids "1 5" --temperature 0 -n 2 --print-ids 2>"$tmp/err"); rc=$?
[ $rc = 0 ] && [ "$(echo $out | wc -w)" -ge 1 ] && ok "llama2.c legacy file of the exact size loads and runs (all-zero weights: ids $out)" ||
  fail "llama2.c exact-size file: exit $rc, $(cat "$tmp/err")"
head -c 100 "$tmp/l.bin" > "$tmp/t.bin"
expect_fail "truncated llama2.c file" $I "$tmp/t.bin" --prompt-ids "1 2"
expect_fail "llama2.c model, text prompt, no tokenizer.bin beside it" $I "$tmp/l.bin" --prompt "Once"

summary
