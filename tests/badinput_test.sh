#!/usr/bin/env bash
# tests/badinput_test.sh — every bad input we tried on every program: truncated, garbage and
# oversized files, shape and dtype mismatches, header lengths past the end of the file, sizes
# that overflow, invalid UTF-8, prompts longer than the context, token ids out of range, bad
# flag values, missing and unwritable files. Each must end in exit 1 and ONE line on stderr
# (expect_fail in tests/lib.sh), never a signal.
#
#   tests/badinput_test.sh            the test (make test runs it)
#   tests/badinput_test.sh --table    also print the markdown table of docs/reliability.md
#                                     (program | bad input | the message), temp paths as T/
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
table=""; [ "${1:-}" = --table ] && table=1
rows=()

# row PROGRAM "bad input" CMD...: one expect_fail, and one table row
row() {
  local prog=$1 what=$2; shift 2
  local before=$failed
  expect_fail "$prog: $what" "$@"
  if [ -n "$table" ]; then
    local msg; msg=$("$@" 2>&1 >/dev/null </dev/null | head -1)
    msg=${msg//$T/T}; msg=${msg//|/\\|}
    [ $failed = $before ] || msg="**FAILS** $msg"
    rows+=("| $prog | $what | \`$msg\` |")
  fi
}

# rowm PROGRAM "bad input" 'message regex' CMD...: a row whose message must also match the regex
# (for bad input that once passed with exit 0 or another error: the exit code alone could pass
# for the wrong reason)
rowm() {
  local prog=$1 what=$2 re=$3; shift 3
  local before=$failed
  row "$prog" "$what" "$@"
  if [ $failed = $before ]; then
    local msg; msg=$("$@" 2>&1 >/dev/null </dev/null | head -1)
    printf '%s' "$msg" | grep -Eq -- "$re" || fail "$prog: $what: the message does not match /$re/: $msg"
  fi
}

# ---- little file writers (bash only: CI has no python) ----
le32() { local n=$1 i; for i in 0 1 2 3; do printf "\\x$(printf %02x $(( (n >> (8*i)) & 255 )))"; done; }
le64() { local n=$1 i; for i in 0 1 2 3 4 5 6 7; do printf "\\x$(printf %02x $(( (n >> (8*i)) & 255 )))"; done; }
# st FILE JSON NBYTES: a safetensors file: u64 header length, the JSON, NBYTES zero bytes
st() { { le64 ${#2}; printf '%s' "$2"; head -c "$3" /dev/zero; } > "$1"; }

I=$BIN/infer
F=tests/fixtures/hf_llama2_fp32          # fp32 HF folder: hidden 64, 2 layers, vocab 256
G=$T/good; cp -r "$F" "$G"
hf() { rm -rf "$T/m"; cp -r "$F" "$T/m"; }   # a fresh copy of the good folder to break

# ---- bin/infer: command line ----
row infer "no MODEL argument"            $I
row infer "two MODEL arguments"          $I "$G" "$G" --prompt x
row infer "MODEL path missing"           $I "$T/nothing" --prompt x
row infer "unknown flag"                 $I "$G" --prompt-ids 1 --frobnicate
row infer "flag without its value"       $I "$G" --prompt-ids
row infer "--top-p 2"                    $I "$G" --prompt-ids 1 --top-p 2
row infer "--top-p 0"                    $I "$G" --prompt-ids 1 --top-p 0
row infer "--top-p nan"                  $I "$G" --prompt-ids 1 --top-p nan
row infer "--temperature -1"             $I "$G" --prompt-ids 1 --temperature -1
row infer "--temperature inf"            $I "$G" --prompt-ids 1 --temperature inf
row infer "--temperature 1e999"          $I "$G" --prompt-ids 1 --temperature 1e999
row infer "--top-k -3"                   $I "$G" --prompt-ids 1 --top-k -3
row infer "--min-p 1.5"                  $I "$G" --prompt-ids 1 --min-p 1.5
row infer "-n abc"                       $I "$G" --prompt-ids 1 -n abc
row infer "-n -1"                        $I "$G" --prompt-ids 1 -n -1
row infer "-n 99999999999999999999 (overflows long)" $I "$G" --prompt-ids 1 -n 99999999999999999999
row infer "-n 12x (trailing garbage)"    $I "$G" --prompt-ids 1 -n 12x
row infer "--seed abc"                   $I "$G" --prompt-ids 1 --seed abc
row infer "--quant q5_0"                 $I "$G" --prompt-ids 1 --quant q5_0
row infer "--quant-head f32"             $I "$G" --prompt-ids 1 --quant q8_0 --quant-head f32
row infer "--quant q8_0 of rows of 172 (not whole blocks of 32)" $I "$G" --prompt-ids 1 --quant q8_0
row infer "--ctx 0"                      $I "$G" --prompt-ids 1 --ctx 0
row infer "--ctx past max_position_embeddings" $I "$G" --prompt-ids 1 --ctx 100000
row infer "--threads -2"                 $I "$G" --prompt-ids 1 --threads -2
row infer "--prompt and --prompt-ids together" $I "$G" --prompt x --prompt-ids 1
row infer "--dump-logits into a missing directory" $I "$G" --prompt-ids 1 -n 0 --dump-logits "$T/no/dir/l.f32"
row infer "--attention-png into a missing directory" $I "$G" --prompt-ids 1 -n 0 --attention-png "$T/no/dir/a.png"
row infer "--attention-png without a prompt" $I "$G" --attention-png "$T/a.png"

# ---- bin/infer: prompts ----
row infer "--prompt-ids id = vocab_size" $I "$G" --prompt-ids "1 256"
row infer "--prompt-ids negative id"     $I "$G" --prompt-ids "1 -5"
row infer "--prompt-ids id past INT_MAX" $I "$G" --prompt-ids "1 99999999999"
row infer "--prompt-ids not a number"    $I "$G" --prompt-ids "1 x7"
row infer "--prompt-ids empty"           $I "$G" --prompt-ids ""
row infer "--prompt-ids longer than --ctx" $I "$G" --ctx 4 --prompt-ids "1 2 3 4 5 6"
# the fixture's vocabulary is 256: a 256-byte rank file fits (ranks 0..255 = the bytes)
head -256 "$TOK/gpt2/r50k_base.tiktoken" > "$T/bytes.tiktoken"
TK=(--tokenizer "$T/bytes.tiktoken")
row infer "prompt with a lone continuation byte (invalid UTF-8)" $I "$G" "${TK[@]}" --prompt $'ab\x80cd'
row infer "prompt with an overlong encoding (invalid UTF-8)"     $I "$G" "${TK[@]}" --prompt $'\xc0\xaf'
row infer "prompt with a UTF-16 surrogate (invalid UTF-8)"       $I "$G" "${TK[@]}" --prompt $'\xed\xa0\x80'
row infer "prompt cut inside a character (invalid UTF-8)"        $I "$G" "${TK[@]}" --prompt $'caf\xc3'
M=$T/llama3_tiny; llama3_tiny_dir "$M"   # an HF folder with its Llama 3 tokenizer.model
row infer "prompt longer than --ctx" $I "$M" --ctx 4 --prompt "ROMEO: ROMEO: ROMEO: ROMEO: ROMEO:"
row infer "text prompt, model without a tokenizer" $I "$G" --prompt hello
row infer "--tokenizer missing file"     $I "$G" --tokenizer "$T/none.tiktoken" --prompt x
row infer "--tokenizer a JSON file"      $I "$G" --tokenizer "$G/config.json" --prompt x
mkdir -p "$T/jm" && cp "$M"/*.json "$M"/*.safetensors "$T/jm/" && printf '{"add_bos_token": tru' > "$T/jm/tokenizer_config.json"
row infer "tokenizer_config.json malformed" $I "$T/jm" --prompt-ids "1 2"
row infer "--tokenizer with more ids than the model's vocabulary" $I "$G" --tokenizer "$TOK/llama3/tokenizer.model" --prompt x

# ---- bin/infer: Hugging Face config.json ----
cfg() { hf; sed -i "$1" "$T/m/config.json"; row infer "config.json: $2" $I "$T/m" --prompt-ids "1 2"; }
hf; rm "$T/m/config.json";                 row infer "folder without config.json" $I "$T/m" --prompt-ids 1
hf; : > "$T/m/config.json";                row infer "config.json empty" $I "$T/m" --prompt-ids 1
hf; echo '[1, 2]' > "$T/m/config.json";     row infer "config.json an array, not an object" $I "$T/m" --prompt-ids 1
hf; head -c 100 "$F/config.json" > "$T/m/config.json"; row infer "config.json truncated" $I "$T/m" --prompt-ids 1
hf; printf '{"hidden_size": 64, "x": "\xff\xfe"}' > "$T/m/config.json"; row infer "config.json with invalid UTF-8, missing keys" $I "$T/m" --prompt-ids 1
cfg 's/"num_attention_heads"/"num_attention_headz"/' 'missing "num_attention_heads"'
cfg 's/"hidden_size": 64/"hidden_size": "64"/'     '"hidden_size" a string'
cfg 's/"hidden_size": 64/"hidden_size": -64/'      '"hidden_size" negative'
cfg 's/"hidden_size": 64/"hidden_size": 64.5/'     '"hidden_size" not an integer'
cfg 's/"hidden_size": 64/"hidden_size": 1e300/'    '"hidden_size" 1e300 (overflows int)'
cfg 's/"hidden_size": 64/"hidden_size": 1073741824/' '"hidden_size" 2^30 (tensors cannot match)'
cfg 's/"num_hidden_layers": 2/"num_hidden_layers": 0/' '"num_hidden_layers" 0'
cfg 's/"num_key_value_heads": 4/"num_key_value_heads": 3/' 'heads not a multiple of key/value heads'
cfg 's/"head_dim": 16,//; s/"hidden_size": 64/"hidden_size": 66/' 'hidden_size not a multiple of heads (no head_dim)'
cfg 's/"head_dim": 16/"head_dim": 15/'             'odd head_dim'
cfg 's/"vocab_size": 256/"vocab_size": 300/'       'vocab_size bigger than the embedding'
cfg 's/"eos_token_id": 2/"eos_token_id": 256/'     'eos_token_id = vocab_size'
cfg 's/"eos_token_id": 2/"eos_token_id": [2, "x"]/' 'eos_token_id list with a string'
cfg 's/"rms_norm_eps": 1e-05/"rms_norm_eps": 5/'   'rms_norm_eps 5'
cfg 's/"rope_theta": 10000.0/"rope_theta": 0/'     'rope_theta 0'
cfg 's/"rope_scaling": null/"rope_scaling": {"rope_type": "yarn", "factor": 4}/' 'rope_scaling type yarn'
cfg 's/"rope_scaling": null/"rope_scaling": {"rope_type": "llama3", "factor": 8}/' 'llama3 rope_scaling without its fields'
cfg 's/"hidden_act": "silu"/"hidden_act": "gelu"/' 'hidden_act gelu'
cfg 's/"attention_bias": false/"attention_bias": true/' 'attention_bias true'
cfg 's/"tie_word_embeddings": false/"tie_word_embeddings": "no"/' 'tie_word_embeddings a string'
cfg 's/"max_position_embeddings": 128/"max_position_embeddings": 0/' 'max_position_embeddings 0'
# cfgm 'sed' 'what' 'message regex': a config row whose message is checked too
cfgm() { hf; sed -i "$1" "$T/m/config.json"; rowm infer "config.json: $2" "$3" $I "$T/m" --prompt-ids "1 2"; }
cfgm 's/"rms_norm_eps": 1e-05/"rms_norm_eps": 0/' 'rms_norm_eps 0' 'T?.*/m/config.json: "rms_norm_eps" must be a number in \(0, 1\]$'
cfgm 's/"num_hidden_layers": 2/"num_hidden_layers": 1/' 'num_hidden_layers 1, the file has 2 layers' 'model.safetensors: tensor "model.layers.1..*" is past num_hidden_layers 1 in config.json'
cfgm 's/"model_type": "llama"/"model_type": "mistral"/' 'model_type mistral' 'config.json: model_type mistral is not supported \(only "llama"\)'
cfgm 's/"rope_scaling": null/"rope_parameters": "fast"/' 'rope_parameters a string' 'config.json: "rope_parameters" must be an object \(or null\)'
hf; rm "$T/m/config.json"; mkfifo "$T/m/config.json"
rowm infer "config.json a FIFO (no writer)" 'config.json: cannot open: not a regular file' timeout 20 $I "$T/m" --prompt-ids 1
hf; echo '{"eos_token_id": -1}' > "$T/m/generation_config.json"; row infer "generation_config.json eos_token_id -1" $I "$T/m" --prompt-ids 1
hf; echo '{' > "$T/m/generation_config.json"; row infer "generation_config.json malformed" $I "$T/m" --prompt-ids 1

# ---- bin/infer: safetensors ----
W=$T/m/model.safetensors
hf; : > "$W";                               row infer "model.safetensors empty" $I "$T/m" --prompt-ids 1
hf; printf 'abc' > "$W";                    row infer "model.safetensors 3 bytes" $I "$T/m" --prompt-ids 1
hf; rm "$W"; mkdir "$W";                    row infer "model.safetensors a directory" $I "$T/m" --prompt-ids 1
hf; head -c 5000 /dev/urandom > "$W";       row infer "model.safetensors random bytes" $I "$T/m" --prompt-ids 1
hf; truncate -s -4 "$W";                    row infer "model.safetensors truncated by 4 bytes" $I "$T/m" --prompt-ids 1
hf; truncate -s 100 "$W";                   row infer "model.safetensors truncated inside the header" $I "$T/m" --prompt-ids 1
hf; printf 'xx' >> "$W";                    row infer "model.safetensors with 2 bytes appended" $I "$T/m" --prompt-ids 1
hf; { le64 4096; printf '{}'; } > "$W";     row infer "header length past the end of the file" $I "$T/m" --prompt-ids 1
hf; { le64 18446744073709551615; printf '{}'; } > "$W"; row infer "header length 2^64-1 (overflows a size)" $I "$T/m" --prompt-ids 1
hf; { le64 9223372036854775800; printf '{}'; } > "$W"; row infer "header length near 2^63" $I "$T/m" --prompt-ids 1
hf; st "$W" '{"a": ' 0;                     row infer "header JSON malformed" $I "$T/m" --prompt-ids 1
hf; st "$W" '[1,2]' 0;                      row infer "header JSON an array" $I "$T/m" --prompt-ids 1
hf; st "$W" '{}xyz' 0;                      row infer "bytes after the header JSON" $I "$T/m" --prompt-ids 1
hf; st "$W" '{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}, "a": {"dtype": "F32", "shape": [4], "data_offsets": [16, 32]}}' 32
row infer "tensor name twice" $I "$T/m" --prompt-ids 1
hf; st "$W" '{"a\nb": {"dtype": "Q4\n", "shape": [4], "data_offsets": [0, 16]}}' 16; row infer "tensor name and dtype with newlines" $I "$T/m" --prompt-ids 1
hf; st "$W" '{"a": {"dtype": "Q4", "shape": [4], "data_offsets": [0, 16]}}' 16; row infer "unknown dtype Q4" $I "$T/m" --prompt-ids 1
hf; st "$W" '{"a": {"dtype": "F32", "shape": [5], "data_offsets": [0, 16]}}' 16; row infer "shape x dtype != data_offsets" $I "$T/m" --prompt-ids 1
hf; st "$W" '{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}' 8;  row infer "data_offsets past the end of the file" $I "$T/m" --prompt-ids 1
hf; st "$W" '{"a": {"dtype": "F32", "shape": [4], "data_offsets": [16, 0]}}' 16; row infer "data_offsets begin > end" $I "$T/m" --prompt-ids 1
hf; st "$W" '{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}, "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}}' 24
row infer "two tensors overlap" $I "$T/m" --prompt-ids 1
hf; st "$W" '{"a": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}}' 24; row infer "a hole before a tensor" $I "$T/m" --prompt-ids 1
hf; st "$W" '{"a": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 0]}}' 0; row infer "shape 2^32 x 2^32 (overflows)" $I "$T/m" --prompt-ids 1
hf; st "$W" '{"a": {"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}}' 16; row infer "negative shape" $I "$T/m" --prompt-ids 1
hf; st "$W" '{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 1e300]}}' 16; row infer "data_offsets 1e300" $I "$T/m" --prompt-ids 1
hf; st "$W" '{"a": {"dtype": "F32", "shape": [1,1,1,1,1,1,1,1,1], "data_offsets": [0, 4]}}' 4; row infer "9 dimensions" $I "$T/m" --prompt-ids 1
hf; st "$W" '{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}' 16; row infer "valid file, but tensors missing" $I "$T/m" --prompt-ids 1
hf; LC_ALL=C sed -i '1s/"F32"/"I32"/' "$W";  row infer "a weight of dtype I32" $I "$T/m" --prompt-ids 1
hf; sed -i 's/"intermediate_size": 172/"intermediate_size": 160/' "$T/m/config.json"; row infer "tensor shape differs from config.json" $I "$T/m" --prompt-ids 1
# poke F32 value bytes into tensor NAME's element K of the fixture copy (offsets from its header)
poke() {
  local name=$1 k=$2 bytes=$3 hlen begin
  hlen=$(od -An -t u8 -N 8 "$W" | tr -d ' ')
  begin=$(head -c $((hlen + 8)) "$W" | tail -c +9 | grep -o "\"$name\":{[^}]*}" | sed 's/.*"data_offsets":\[\([0-9]*\),.*/\1/')
  printf "$bytes" | dd of="$W" bs=1 seek=$((8 + hlen + begin + 4 * k)) conv=notrunc status=none
}
hf; poke model.norm.weight 3 '\x00\x00\xc0\x7f'
rowm infer "a NaN in model.norm.weight" 'tensor model.norm.weight holds nan at element 3' $I "$T/m" --prompt-ids 1 --print-ids -n 4
hf; poke model.layers.1.mlp.down_proj.weight 100 '\x00\x00\x80\x7f'
rowm infer "+Inf in a down_proj" 'tensor model.layers.1.mlp.down_proj.weight holds inf at element 100' $I "$T/m" --prompt-ids 1 --print-ids -n 4
hf; for k in $(seq 0 63); do poke lm_head.weight $k '\xff\xff\x7f\x7f'; done   # row 0 of lm_head all 3.4e38: finite
rowm infer "finite weights whose logits overflow (3.4e38 in lm_head)" 'logits after the prompt are not finite' $I "$T/m" --prompt-ids "1 2" --print-ids -n 4

# ---- bin/infer: sharded checkpoints (model.safetensors.index.json) ----
B=tests/fixtures/hf_llama32_bf16
sharded() { rm -rf "$T/s"; cp -r "$B" "$T/s"; }
sharded; rm "$T/s/model-00002-of-00006.safetensors"; row infer "shard named in the index missing" $I "$T/s" --prompt-ids "256 2"
sharded; echo '{"weight_map": ' > "$T/s/model.safetensors.index.json"; row infer "index JSON malformed" $I "$T/s" --prompt-ids 1
sharded; echo '{"metadata": {}}' > "$T/s/model.safetensors.index.json"; row infer "index without weight_map" $I "$T/s" --prompt-ids 1
sharded; echo '{"weight_map": {"model.norm.weight": 5}}' > "$T/s/model.safetensors.index.json"; row infer "index: shard name not a string" $I "$T/s" --prompt-ids 1
sharded; echo '{"weight_map": {"model.norm.weight": "../../../etc/passwd"}}' > "$T/s/model.safetensors.index.json"; row infer "index: shard path leaves the folder" $I "$T/s" --prompt-ids 1
sharded; echo '{"weight_map": {"model.norm.weight": "config.json"}}' > "$T/s/model.safetensors.index.json"; row infer "index: shard is config.json" $I "$T/s" --prompt-ids 1
sharded; echo '{"weight_map": {"model.norm.weight": "model-00001\nof-00006.safetensors"}}' > "$T/s/model.safetensors.index.json"; row infer "index: shard name with a newline (fuzzing found it)" $I "$T/s" --prompt-ids 1
sharded; sed -i 's/"model.norm.weight"/"model.norm.weightX"/' "$T/s/model.safetensors.index.json"; row infer "index lacks a tensor" $I "$T/s" --prompt-ids 1
sharded; rm "$T/s/model.safetensors.index.json"; mkfifo "$T/s/model.safetensors.index.json"
rowm infer "index a FIFO (no writer)" 'index.json: cannot open: not a regular file' timeout 20 $I "$T/s" --prompt-ids 1

# ---- bin/infer: llama2.c .bin and tokenizer.bin ----
# header: dim 8, hidden 16, 1 layer, 2 heads, 2 kv heads, vocab 32 (shared), seq_len 4
hdr() { le32 $1; le32 $2; le32 $3; le32 $4; le32 $5; le32 $6; le32 $7; }
floats=$(( 32*8 + 2*8 + 8 + 2*8*8 + 2*8*8 + 3*8*16 + 4*4 ))
{ hdr 8 16 1 2 2 32 4; head -c $((floats * 4)) /dev/zero; } > "$T/ok.bin"
{ hdr 8 16 1 2 2 32 4; head -c 1000 /dev/zero; } > "$T/l.bin";        row infer "llama2.c .bin of the wrong size" $I "$T/l.bin" --prompt-ids 1
head -c 20 "$T/ok.bin" > "$T/l.bin";                                   row infer "llama2.c .bin shorter than its header" $I "$T/l.bin" --prompt-ids 1
: > "$T/l.bin"; rowm infer "model file of 0 bytes" 'l.bin: 0 bytes, too short for any model file' $I "$T/l.bin" --prompt-ids 1
printf 'SLMODE' > "$T/l.bin"; rowm infer "model file of 6 bytes" 'l.bin: 6 bytes, too short for any model file' $I "$T/l.bin" --prompt-ids 1
mkfifo "$T/fifo.bin"; rowm infer "model file a FIFO (no writer)" 'fifo.bin: cannot open: not a regular file' timeout 20 $I "$T/fifo.bin" --prompt-ids 1
rowm infer "MODEL path with a raw 0x9B byte and U+009B (terminal CSI)" 'T?.*/esc\?31m\?x: No such file or directory' $I "$T/esc"$'\x9b'"31m"$'\xc2\x9b'"x" --prompt-ids 1
{ hdr -8 16 1 2 2 32 4; head -c 1000 /dev/zero; } > "$T/l.bin";       row infer "llama2.c header negative dim" $I "$T/l.bin" --prompt-ids 1
{ hdr 1048576 1048576 4096 1 1 4194304 16777216; } > "$T/l.bin";      row infer "llama2.c header of huge sizes (overflow)" $I "$T/l.bin" --prompt-ids 1
{ hdr 8 16 1 3 3 32 4; head -c 1000 /dev/zero; } > "$T/l.bin";        row infer "llama2.c dim not a multiple of heads" $I "$T/l.bin" --prompt-ids 1
{ le32 $((0x616b3432)); le32 2; hdr 8 16 1 2 2 32 4; head -c 4000 /dev/zero; } > "$T/l.bin"; row infer "llama2.c v1 header, version 2" $I "$T/l.bin" --prompt-ids 1
{ le32 $((0x616b3432)); le32 1; hdr 8 16 1 2 2 32 4; head -c 100 /dev/zero; } > "$T/l.bin"; row infer "llama2.c v1 header, truncated" $I "$T/l.bin" --prompt-ids 1
row infer "llama2.c --ctx past seq_len"  $I "$T/ok.bin" --ctx 5 --prompt-ids 1
row infer "llama2.c text prompt, no tokenizer.bin" $I "$T/ok.bin" --prompt x
# a v1 file of 266 KB whose header claims seq_len 2^24: the default context is capped at 2048
# (it once built 8 GB of RoPE tables before failing): runs within 2 GB of address space
{ le32 $((0x616b3432)); le32 1; hdr 128 1 1 1 1 2 16777216; printf '\1'; head -c $((256 - 37)) /dev/zero
  head -c $(( (2*128 + 3*128 + 4*128*128 + 3*128) * 4 )) /dev/zero; } > "$T/bigseq.bin"
out=$( ([ "${SAN:-}" = 1 ] || ulimit -v 2000000; timeout 60 $I "$T/bigseq.bin" --prompt-ids "1" -n 2 --temperature 0 2>&1 >/dev/null) ); rc=$?
[ $rc = 0 ] && ok "llama2.c seq_len 2^24 in a 266 KB file: default context capped, runs in < 2 GB: $out" ||
  fail "llama2.c seq_len 2^24: exit $rc, $out"
printf '\x10\0\0\0' > "$T/tok.bin";                                      row infer "tokenizer.bin with no tokens" $I "$T/ok.bin" --tokenizer "$T/tok.bin" --prompt x
printf '\0\0\0\0' > "$T/tok.bin";                                        row infer "tokenizer.bin max_token_length 0" $I "$T/ok.bin" --tokenizer "$T/tok.bin" --prompt x
{ le32 16; printf '\0\0\0\0'; le32 200; printf 'abc'; } > "$T/tok.bin";  row infer "tokenizer.bin piece longer than max_token_length" $I "$T/ok.bin" --tokenizer "$T/tok.bin" --prompt x
{ le32 16; printf '\0\0\0\0'; le32 8; printf 'abc'; } > "$T/tok.bin";    row infer "tokenizer.bin truncated inside a piece" $I "$T/ok.bin" --tokenizer "$T/tok.bin" --prompt x
{ le32 16; printf '\0\0\xc0\x7f'; le32 1; printf 'a'; } > "$T/tok.bin";  row infer "tokenizer.bin NaN score" $I "$T/ok.bin" --tokenizer "$T/tok.bin" --prompt x
SPT=tests/fixtures/sp_tiny/tokenizer.bin   # 600 pieces
row infer "tokenizer.bin with more pieces than the model's vocabulary" $I "$T/ok.bin" --tokenizer "$SPT" --prompt x
head -c 5000 "$SPT" > "$T/tok.bin"
row infer "tokenizer.bin truncated" $I "$T/ok.bin" --tokenizer "$T/tok.bin" --prompt x

# ---- bin/infer: GGUF (llama.cpp) ----
GG=tests/fixtures/gguf/tiny_q8_0.gguf
gg() { rm -f "$T/g.gguf"; cp "$GG" "$T/g.gguf"; chmod u+w "$T/g.gguf"; }
poke() { printf "$2" | dd of="$T/g.gguf" bs=1 seek="$1" conv=notrunc status=none; }   # bytes at an offset
at() { grep -boa "$1" "$GG" | head -1 | cut -d: -f1; }                                 # where a name starts
G1="$T/g.gguf"
gg; truncate -s 20 "$G1";                   row infer "GGUF 20 bytes" $I "$G1" --prompt-ids 1
gg; truncate -s 3000 "$G1";                 row infer "GGUF truncated inside the metadata" $I "$G1" --prompt-ids 1
gg; truncate -s -100 "$G1";                 row infer "GGUF truncated by 100 bytes (last tensor past the end)" $I "$G1" --prompt-ids 1
gg; poke 4 '\x02';                          row infer "GGUF version 2" $I "$G1" --prompt-ids 1
gg; poke 16 '\xff\xff\xff\xff\xff\x00\x00\x00'; row infer "GGUF metadata count 2^40" $I "$G1" --prompt-ids 1
gg; poke 8 '\xff\xff\xff\x7f';              row infer "GGUF tensor count 2^31" $I "$G1" --prompt-ids 1
gg; poke $(( $(at general.architecture) + 32 )) 'qwen2'; row infer "GGUF architecture qwen2" $I "$G1" --prompt-ids 1
gg; poke $(( $(at token_embd.weight) + 37 )) '\x0b'; row infer "GGUF token_embd.weight of type q3_K" $I "$G1" --prompt-ids 1
gg; poke $(( $(at token_embd.weight) + 37 )) '\x0c'; rowm infer "GGUF token_embd.weight of type q4_K, rows of 64" 'row of 64 is not a whole number of q4_K blocks' $I "$G1" --prompt-ids 1
gg; poke $(( $(at token_embd.weight) + 37 )) '\x63'; row infer "GGUF token_embd.weight of type 99" $I "$G1" --prompt-ids 1
gg; poke $(( $(at tokenizer.ggml.model) + 32 )) 'rwkv5'; row infer "GGUF tokenizer.ggml.model rwkv5" $I "$G1" --prompt-ids 1
gg; poke $(( $(at llama.attention.head_count) + 30 )) '\x00\x00\x00\x00'; row infer "GGUF head_count 0" $I "$G1" --prompt-ids 1
gg; poke $(( $(at llama.embedding_length) + 26 )) '\x00\x00\x00\x40'; row infer "GGUF embedding_length 2^30 (tensors cannot match)" $I "$G1" --prompt-ids 1
gg; poke $(( $(at llama.attention.head_count_kv) + 33 )) '\x01';  row infer "GGUF head_count_kv 1 (attn_k has 2 heads)" $I "$G1" --prompt-ids 1
gg;                                         row infer "GGUF --ctx 500 past context_length 128" $I "$G1" --prompt-ids 1 --ctx 500
gg;                                         row infer "--perplexity of a missing file" $I "$G1" --perplexity "$T/nothing"
gg; printf 'short text' > "$T/short.txt";   row infer "--perplexity of a text shorter than 2 x --ctx" $I "$G1" --perplexity "$T/short.txt" --ctx 64
gg; printf 'ab\xffcd' > "$T/bad.txt";       row infer "--perplexity of invalid UTF-8" $I "$G1" --perplexity "$T/bad.txt"
gg;                                         row infer "--perplexity with --prompt" $I "$G1" --perplexity "$GG" --prompt x
gg;                                         rowm infer "--awq without --quant" '--awq needs --quant' $I "$G1" --prompt-ids 1 --awq "$GG"
gg;                                         rowm infer "--awq of a missing file" '^infer: --awq .*nothing: cannot open' $I "$G1" --prompt-ids 1 --quant q4_0 --awq "$T/nothing"
gg; : > "$T/empty.txt";                     rowm infer "--awq of an empty file" '^infer: --awq .*: empty file' $I "$G1" --prompt-ids 1 --quant q4_0 --awq "$T/empty.txt"
gg; printf 'ab\xffcd' > "$T/bad.txt";       rowm infer "--awq of invalid UTF-8" '^infer: --awq .*: not valid UTF-8' $I "$G1" --prompt-ids 1 --quant q4_0 --awq "$T/bad.txt"
gg;                                         row infer "--awq-tokens 1"  $I "$G1" --prompt-ids 1 --quant q4_0 --awq "$GG" --awq-tokens 1

# ---- bin/infer: our checkpoints (bin/train's model_<step>.bin) ----
{ printf 'SLMODEL\0'; le32 1; le32 64; head -c 100 /dev/zero; } > "$T/c.bin"; row infer "checkpoint truncated after the header" $I "$T/c.bin" --prompt-ids 1
{ printf 'SLMODEL\0'; le32 9; le32 64; head -c 100 /dev/zero; } > "$T/c.bin"; row infer "checkpoint version 9" $I "$T/c.bin" --prompt-ids 1
{ printf 'SLMODEL\0'; le32 1; le32 4294967295; head -c 100 /dev/zero; } > "$T/c.bin"; row infer "checkpoint header length 2^32-1" $I "$T/c.bin" --prompt-ids 1
{ printf 'SLMODEL\0'; le32 1; le32 128; le32 -1; head -c 200 /dev/zero; } > "$T/c.bin"; row infer "checkpoint with dim -1" $I "$T/c.bin" --prompt-ids 1
CK=fuzz/corpus/checkpoint/tied   # a valid checkpoint written by checkpoint_save_step
cp "$CK" "$T/c.bin"; printf '\x7f' | dd of="$T/c.bin" bs=1 seek=600 conv=notrunc status=none
row infer "checkpoint with one parameter byte changed (checksum)" $I "$T/c.bin" --prompt-ids 1
head -c 700 "$CK" > "$T/c.bin";                                   row infer "checkpoint truncated in the parameters" $I "$T/c.bin" --prompt-ids 1

# ---- bin/tokenize ----
K=$BIN/tokenize
R=$T/bytes.tiktoken
[ -f "$R" ] || { for i in $(seq 0 255); do printf "$(printf '\\x%02x' $i)" | base64 | tr -d '\n'; echo " $i"; done > "$R"; }
row tokenize "no --encoding"                 $K
row tokenize "--encoding missing file"       $K --encoding "$T/none"
row tokenize "--encoding a directory"        $K --encoding "$T"
rowm tokenize "--encoding /dev/zero (a device, endless)" '^tokenize: /dev/zero: not a regular file$' timeout 20 $K --encoding /dev/zero
rowm tokenize "--encoding a FIFO (no writer)" 'fifo.bin: not a regular file' timeout 20 $K --encoding "$T/fifo.bin"
printf 'QQ== 0\nQQ== 1\n' > "$T/r";          row tokenize "rank file: the same token twice" $K --encoding "$T/r" --pattern gpt2
printf 'QQ== 0\nQg== 0\n' > "$T/r";          row tokenize "rank file: the same rank twice" $K --encoding "$T/r" --pattern gpt2
printf 'QQ==\n' > "$T/r";                    row tokenize "rank file: line without a rank" $K --encoding "$T/r" --pattern gpt2
printf 'Q!Q= 0\n' > "$T/r";                  row tokenize "rank file: bad base64" $K --encoding "$T/r" --pattern gpt2
printf 'QQ== 99999999999999999999\n' > "$T/r"; row tokenize "rank file: rank overflows" $K --encoding "$T/r" --pattern gpt2
printf 'QQ== -1\n' > "$T/r";                 row tokenize "rank file: negative rank" $K --encoding "$T/r" --pattern gpt2
printf 'QQ== 16777216\n' > "$T/r";           row tokenize "rank file: rank 2^24" $K --encoding "$T/r" --pattern gpt2
head -200 "$R" > "$T/r";                     row tokenize "rank file: single bytes missing" $K --encoding "$T/r" --pattern gpt2
row tokenize "rank file of unknown size without --pattern" $K --encoding "$R"
row tokenize "--pattern unknown"             $K --encoding "$R" --pattern gpt5
echo "1 2 257" > "$T/ids"; row tokenize "--decode id past the vocabulary" sh -c "$K --encoding $R --pattern gpt2 --decode < $T/ids"
{ for i in $(seq 0 255); do printf '%s %d\n' "$(printf "\\x$(printf %02x "$i")" | base64)" "$i"; done
  echo "QUFB 300"; } > "$T/gap.tiktoken"; echo "1 270" > "$T/ids"   # ids 257..299: unused
rowm tokenize "--decode an unused id inside the vocabulary" 'id 270 is not a token of .*gap.tiktoken \(an unused id inside its vocabulary\)' sh -c "$K --encoding $T/gap.tiktoken --pattern gpt2 --decode < $T/ids"
echo "1 -2" > "$T/ids";    row tokenize "--decode negative id"            sh -c "$K --encoding $R --pattern gpt2 --decode < $T/ids"
echo "1 2x" > "$T/ids";    row tokenize "--decode not a number"           sh -c "$K --encoding $R --pattern gpt2 --decode < $T/ids"
echo "99999999999999999999" > "$T/ids"; row tokenize "--decode id overflows" sh -c "$K --encoding $R --pattern gpt2 --decode < $T/ids"
# tokenizer.json (data/hf_tokenizer.c)
J=$T/tokenizer.json
printf '{"model": {"type": "BPE", ' > "$J";  row tokenize "tokenizer.json: malformed JSON" $K --tokenizer "$J"
printf '{"model": {"type": "WordPiece", "vocab": {"a": 0}}}' > "$J"; row tokenize "tokenizer.json: unknown model type" $K --tokenizer "$J"
printf '{"model": {"type": "BPE", "merges": []}}' > "$J"; row tokenize "tokenizer.json: missing vocab" $K --tokenizer "$J"
printf '{"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "[a-"}, "behavior": "Isolated", "invert": false}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}' > "$J"
row tokenize "tokenizer.json: bad Split regex" $K --tokenizer "$J"
printf '{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}}' > "$J"; row tokenize "tokenizer.json: merge into a token not in the vocabulary" $K --tokenizer "$J"
printf '{"decoder": {"type": "WordPiece"}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}' > "$J"; row tokenize "tokenizer.json: unsupported decoder" $K --tokenizer "$J"
printf '{"added_tokens": [{"id": 1, "content": "<\x82nk>", "special": true}], "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}' > "$J"
rowm tokenize "tokenizer.json: an added token that is not UTF-8" 'added_tokens: the content of id 1 is not valid UTF-8' $K --tokenizer "$J"
printf '{"model": {"type": "BPE", "vocab": {"a": 0, "\xc3(": 1}, "merges": []}}' > "$J"
rowm tokenize "tokenizer.json: a vocabulary token that is not UTF-8" 'model.vocab: a token \(id 1\) is not valid UTF-8' $K --tokenizer "$J"
L2=$TOK/llama2/tokenizer.json
row tokenize "tokenizer.json: text is not valid UTF-8" sh -c "printf 'a\\377b' | $K --tokenizer $L2"
echo "1 2 32000" > "$T/ids"; row tokenize "tokenizer.json: --decode id past the vocabulary" sh -c "$K --tokenizer $L2 --decode < $T/ids"
row tokenize "tokenizer.json with --pattern"     $K --tokenizer "$L2" --pattern gpt2
row tokenize "tokenizer.json with --bpe-dropout" $K --tokenizer "$L2" --bpe-dropout 0.1
row tokenize "--tokenizer twice without --bench" $K --tokenizer "$L2" --tokenizer "$L2"
row tokenize "unknown flag"                  $K --encoding "$R" --frobnicate

# ---- bin/bpe-train ----
P=$BIN/bpe-train
printf 'hello world, hello there\n' > "$T/corpus.txt"
row bpe-train "no --vocab"                   $P --out "$T/o.tiktoken" "$T/corpus.txt"
rowm bpe-train "--vocab 100 (below 256)" '^bpe-train: --vocab: expected an integer in \[256, 16777216\], got "100"$' \
  $P --vocab 100 --out "$T/o.tiktoken" "$T/corpus.txt"
rowm bpe-train "--vocab abc" '^bpe-train: --vocab: expected an integer in \[256, 16777216\], got "abc"$' \
  $P --vocab abc --out "$T/o.tiktoken" "$T/corpus.txt"
rowm bpe-train "--vocab 2^40" '^bpe-train: --vocab: expected an integer in \[256, 16777216\], got "1099511627776"$' \
  $P --vocab 1099511627776 --out "$T/o.tiktoken" "$T/corpus.txt"
rowm bpe-train "flag without its value" '^bpe-train: --out needs a value \(see --help\)$' $P --vocab 300 "$T/corpus.txt" --out
rowm bpe-train "unknown flag" '^bpe-train: unknown option --frobnicate \(see --help\)$' $P --vocab 300 --frobnicate "$T/corpus.txt"
row bpe-train "no --out"                     $P --vocab 300 "$T/corpus.txt"
row bpe-train "no corpus"                    $P --vocab 300 --out "$T/o.tiktoken"
row bpe-train "corpus missing"               $P --vocab 300 --out "$T/o.tiktoken" "$T/none.txt"
row bpe-train "--out in a missing directory" $P --vocab 300 --out "$T/no/dir/o.tiktoken" "$T/corpus.txt"
row bpe-train "--pattern unknown"            $P --vocab 300 --pattern nope --out "$T/o.tiktoken" "$T/corpus.txt"

# ---- bin/prepare ----
Q=$BIN/prepare
row prepare "no TEXT"                        $Q
row prepare "TEXT missing"                   $Q --out-dir "$T" "$T/none.txt"
row prepare "--tokenizer missing"            $Q --tokenizer "$T/none" --out-dir "$T" "$T/corpus.txt"
row prepare "--tokenizer a text file"        $Q --tokenizer "$T/corpus.txt" --out-dir "$T" "$T/corpus.txt"
row prepare "--val-frac 1.5"                 $Q --val-frac 1.5 --out-dir "$T" "$T/corpus.txt"
rowm prepare "--val-frac 1 (no train split)" 'must be below 1' $Q --val-frac 1 --out-dir "$T" "$T/corpus.txt"
rowm prepare "flag without its value"       '^prepare: --seed needs a value \(see --help\)$' $Q "$T/corpus.txt" --seed
row prepare "--out-dir missing"              $Q --out-dir "$T/no/dir" "$T/corpus.txt"
rowm prepare "TEXT /dev/zero (a device, endless)" '^prepare: /dev/zero: cannot open: not a regular file$' timeout 20 $Q --out-dir "$T" /dev/zero
: > "$T/empty.txt"; row prepare "empty TEXT" $Q --out-dir "$T" "$T/empty.txt"
row prepare "--variants without --tokenizer" $Q --variants 2 --out-dir "$T" "$T/corpus.txt"
row prepare "--variants -1"                  $Q --variants -1 --out-dir "$T" "$T/corpus.txt"
row prepare "--bpe-dropout 1.5"              $Q --bpe-dropout 1.5 --out-dir "$T" "$T/corpus.txt"
row prepare "--seed abc"                     $Q --seed abc --out-dir "$T" "$T/corpus.txt"

# ---- bin/kascade-calibrate, bin/bench-gemv, bin/bench-kascade: flags (read before any model) ----
KC=$BIN/kascade-calibrate
rowm kascade-calibrate "--tile 0" '^kascade-calibrate: --tile: expected an integer in \[1, 65536\], got "0"$' \
  $KC "$G" "$T/corpus.txt" --out "$T/k.json" --tile 0
rowm kascade-calibrate "--threshold 1.5" '^kascade-calibrate: --threshold: expected a number in \[0, 1\], got "1.5"$' \
  $KC "$G" "$T/corpus.txt" --out "$T/k.json" --threshold 1.5
rowm kascade-calibrate "unknown flag" '^kascade-calibrate: unknown option --frobnicate \(see --help\)$' \
  $KC "$G" "$T/corpus.txt" --out "$T/k.json" --frobnicate
rowm bench-gemv "no MODEL_DIR" '^bench-gemv: expected one MODEL_DIR \(see --help\)$' $BIN/bench-gemv --reps 1
rowm bench-gemv "--reps 0" '^bench-gemv: --reps: expected an integer in \[1, 100\], got "0"$' $BIN/bench-gemv "$G" --reps 0
rowm bench-gemv "--quant q5_0" '^bench-gemv: --quant: expected one of q8_0,q4_0, got "q5_0"$' $BIN/bench-gemv "$G" --quant q5_0
rowm bench-kascade "--tile 0" '^bench-kascade: --tile: expected an integer in \[1, 4096\], got "0"$' $BIN/bench-kascade --tile 0
rowm bench-kascade "flag without its value" '^bench-kascade: --model needs a value \(see --help\)$' $BIN/bench-kascade --model

# ---- bin/train ----
X=$BIN/train
# tiny shards (uint16, 2000 tokens of ids < 50), and broken ones
shard16() { { le32 20240520; le32 1; le32 $1; head -c 1012 /dev/zero; head -c $(( $1 * 2 )) /dev/zero; } ; }
shard16 2000 > "$T/ok16.bin"
shard16 2000 | head -c 3000 > "$T/trunc.bin"
{ le32 20240520; le32 2; le32 10; head -c 1012 /dev/zero; head -c 20 /dev/zero; } > "$T/ver.bin"
{ le32 20240801; le32 7; le32 2000; head -c 1012 /dev/zero; head -c 4000 /dev/zero; printf '\xff\xff\xff\xff'; } > "$T/u32.bin"
# fix the count of the uint32 one: 2001 tokens
{ le32 20240801; le32 7; le32 2001; head -c 1012 /dev/zero; head -c 8000 /dev/zero; printf '\xff\xff\xff\xff'; } > "$T/u32.bin"
{ le32 20240520; le32 1; le32 -5; head -c 1012 /dev/zero; } > "$T/neg.bin"
TR=(--tokenizer "" --val-data "$T/ok16.bin" --dim 16 --n-layers 1 --n-heads 2 --n-kv-heads 2 --hidden-dim 32 --seq 16 --batch 2 --steps 2 --ckpt-dir "$T/ck")
row train "--data missing"                   $X "${TR[@]}" --data "$T/none.bin"
row train "--data glob matching nothing"     $X "${TR[@]}" --data "$T/none_*.bin"
row train "--data glob with a bad shard"     $X "${TR[@]}" --data "$T/[ot][kr]*.bin"
row train "--data a text file"               $X "${TR[@]}" --data "$T/corpus.txt"
row train "--data truncated shard"           $X "${TR[@]}" --data "$T/trunc.bin"
row train "--data shard of version 2"        $X "${TR[@]}" --data "$T/ver.bin"
row train "--data shard with a negative count" $X "${TR[@]}" --data "$T/neg.bin"
row train "--data uint32 shard with token 2^32-1" $X "${TR[@]}" --data "$T/u32.bin"
rowm train "--data a FIFO (no writer)" 'fifo.bin: not a regular file' timeout 20 $X "${TR[@]}" --data "$T/fifo.bin"
row train "--data shard too short for one batch" $X "${TR[@]}" --data "$T/ok16.bin" --seq 1000 --batch 4
{ le32 20240520; le32 1; le32 2000; head -c 1012 /dev/zero; printf '\x2c\x01'; head -c 3998 /dev/zero; } > "$T/id300.bin"
row train "--tokenizer (257 ids) smaller than the shard's ids (300)" $X "${TR[@]}" --data "$T/id300.bin" --tokenizer "$R" --pattern gpt2
row train "--lr -1"                          $X "${TR[@]}" --data "$T/ok16.bin" --lr -1
row train "--lr nan"                         $X "${TR[@]}" --data "$T/ok16.bin" --lr nan
row train "--batch 0"                        $X "${TR[@]}" --data "$T/ok16.bin" --batch 0
row train "--dropout 1"                      $X "${TR[@]}" --data "$T/ok16.bin" --dropout 1
row train "--att-dropout 1"                  $X "${TR[@]}" --data "$T/ok16.bin" --att-dropout 1
row train "--beta2 1.5"                      $X "${TR[@]}" --data "$T/ok16.bin" --beta2 1.5
row train "--grad-clip -1"                   $X "${TR[@]}" --data "$T/ok16.bin" --grad-clip -1
row train "--steps -1"                       $X "${TR[@]}" --data "$T/ok16.bin" --steps -1
row train "--lr-schedule linear"             $X "${TR[@]}" --data "$T/ok16.bin" --lr-schedule linear
row train "--decay-frac 0"                   $X "${TR[@]}" --data "$T/ok16.bin" --decay-frac 0
row train "--decay-frac 1.5"                 $X "${TR[@]}" --data "$T/ok16.bin" --decay-frac 1.5
row train "--decay-frac nan"                 $X "${TR[@]}" --data "$T/ok16.bin" --decay-frac nan
row train "--preset huge"                    $X "${TR[@]}" --data "$T/ok16.bin" --preset huge
row train "--dim not a multiple of --n-heads" $X "${TR[@]}" --data "$T/ok16.bin" --dim 18 --n-heads 4
row train "--n-layers 99999999999"           $X "${TR[@]}" --data "$T/ok16.bin" --n-layers 99999999999
row train "--ckpt-dir under a file"          $X "${TR[@]}" --data "$T/ok16.bin" --ckpt-dir "$T/corpus.txt/ck"
TI=(--tokenizer "" --data "$T/ok16.bin" --val-data "$T/ok16.bin" --seq 4 --batch 2 --steps 2 --ckpt-dir "$T/ck")
row train "--init missing"                   $X "${TI[@]}" --init "$T/none.bin"
row train "--init a llama2.c file"           $X "${TI[@]}" --init "$T/ok.bin"
row train "--init a checkpoint of another vocabulary" $X "${TI[@]}" --init "$CK"
row train "--resume a missing directory"     $X --resume "$T/none"
mkdir -p "$T/empty"; row train "--resume an empty directory" $X --resume "$T/empty"
mkdir -p "$T/junk"; cp "$T/corpus.txt" "$T/junk/state_00000005.bin"; cp "$T/corpus.txt" "$T/junk/model_00000005.bin"
row train "--resume of garbage checkpoint files" $X --resume "$T/junk"

# a real checkpoint pair, then one byte changed in each header (both headers carry a checksum)
SCRATCHLLAMA_STOP_AT=1 $X "${TR[@]}" --data "$T/ok16.bin" --ckpt-dir "$T/pair" --eval-every 0 --sample-every 0 >/dev/null 2>&1
cp -r "$T/pair" "$T/pair2"
off=$(grep -obUa tiny "$T/pair2/state_00000001.bin" | head -1 | cut -d: -f1)
printf 'x' | dd of="$T/pair2/state_00000001.bin" bs=1 seek=$((off + 3)) conv=notrunc status=none
row train "--resume with one byte of the state's header changed (preset tiny -> tinx)" $X --resume "$T/pair2"
cp "$T/pair/model_00000001.bin" "$T/flip.bin"
printf '\x01' | dd of="$T/flip.bin" bs=1 seek=60 conv=notrunc status=none   # rope_theta 10000 -> 10000.001
row infer "checkpoint with one byte of the config changed (rope_theta)" $I "$T/flip.bin" --prompt-ids 0

if [ -n "$table" ]; then
  echo; echo "| program | bad input | message (exit 1) |"; echo "| --- | --- | --- |"
  printf '%s\n' "${rows[@]}"
fi
summary
