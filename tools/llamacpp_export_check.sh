#!/usr/bin/env bash
# tools/llamacpp_export_check.sh — what llama.cpp does with the GGUF files bin/export writes:
# tests/fixtures/export/llamacpp.txt, which tests/export_test.sh checks bin/infer against
# (so make test needs no llama.cpp).
#
#   tools/llamacpp_export_check.sh LLAMA_CPP_BUILD_BIN
#
# LLAMA_CPP_BUILD_BIN: a llama.cpp build's bin/ with llama-simple and llama-tokenize. Run from
# the repository root after `make` and `make tokenizers` (the Llama 3 case needs
# data/tokenizers/llama3/tokenizer.model). One line per case, '|'-separated:
#   greedy|NAME|SOURCE|QUANT|N|PROMPT|HEX|SHA   llama-simple -n N PROMPT on `bin/export SOURCE
#                                  --quant QUANT`: the bytes it prints after the prompt, in hex
#   ids|NAME|SOURCE|QUANT|TEXT|IDS|SHA          llama-tokenize --ids on TEXT, without the BOS
# SHA: the sha256 of the GGUF file llama.cpp read (the test checks bin/export writes it again).
# SOURCE llama3_tiny is tests/fixtures/hf_llama3_tiny with Meta's Llama 3 tokenizer.model.
set -eu
B=$1
. tests/lib.sh
OUTF=tests/fixtures/export/llamacpp.txt
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
src() { if [ "$1" = llama3_tiny ]; then [ -d "$T/l3" ] || llama3_tiny_dir "$T/l3"; echo "$T/l3"; else echo "$1"; fi; }
CASES=(
  "sp_f32|tests/fixtures/gguf/tiny_f32.gguf|f32|16|the king"
  "sp_q8_0|tests/fixtures/gguf/tiny_f32.gguf|q8_0|16|the king"
  "sp_q4_0|tests/fixtures/gguf/tiny_f32.gguf|q4_0|16|the king"
  "bytes_f32|tests/fixtures/export/ckpt.bin|f32|24|ROMEO:"
  "llama3_f32|llama3_tiny|f32|12|ROMEO: Shall I compare"
)
: > "$OUTF.tmp"
for c in "${CASES[@]}"; do
  IFS='|' read -r name source quant n prompt <<< "$c"
  bin/export "$(src "$source")" "$T/$name.gguf" --format gguf --quant "$quant" 2>/dev/null
  "$B/llama-simple" -m "$T/$name.gguf" -n "$n" "$prompt" 2>/dev/null > "$T/$name.out"
  # what follows the first occurrence of the prompt (llama-simple prints the prompt's pieces first)
  hex=$(od -An -v -tx1 "$T/$name.out" | tr -d ' \n')
  phex=$(printf '%s' "$prompt" | od -An -v -tx1 | tr -d ' \n')
  rest=${hex#*"$phex"}
  echo "greedy|$name|$source|$quant|$n|$prompt|$rest|$(sha256sum < "$T/$name.gguf" | cut -c1-64)" >> "$OUTF.tmp"
done
TEXT="ROMEO: Shall I  compare thee?  123456 héllo 🙂 don't"
for c in "llama3_f32|llama3_tiny|f32" "bytes_f32|tests/fixtures/export/ckpt.bin|f32"; do
  IFS='|' read -r name source quant <<< "$c"
  ids=$("$B/llama-tokenize" -m "$T/$name.gguf" -p "$TEXT" --ids --log-disable 2>/dev/null | tail -1 | tr -d '[],')
  echo "ids|$name|$source|$quant|$TEXT|${ids#128000 }|$(sha256sum < "$T/$name.gguf" | cut -c1-64)" >> "$OUTF.tmp"
done
mv "$OUTF.tmp" "$OUTF"
cat "$OUTF"
