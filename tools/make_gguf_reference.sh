#!/usr/bin/env bash
# tools/make_gguf_reference.sh — the GGUF fixtures in tests/fixtures/gguf/ that llama.cpp's own
# programs make, from the files tools/make_gguf_fixtures.py converted:
#
#   tools/make_gguf_reference.sh LLAMA_CPP_BUILD_BIN CONVERTED_DIR SHAKESPEARE_TXT
#   tools/make_gguf_reference.sh --kquant LLAMA_CPP_BUILD_BIN    random256_q4_k_m.gguf and its
#                                                                 lines of llamacpp_ppl.txt alone
#
#   tiny_{f32,f16,bf16}.gguf, tiny_sp_ids.txt   copied from CONVERTED_DIR (convert_hf_to_gguf.py)
#   tiny_q8_0.gguf, tiny_q4_0.gguf              llama-quantize tiny_f32.gguf ... Q8_0 / Q4_0
#   random256_q4_k_m.gguf                       llama-quantize --output-tensor-type q5_K ... Q4_K_M
#                                               of tools/make_kquant_gguf.py's random model (rows
#                                               of 256): Q4_K, Q5_K (the tied embedding) and Q6_K
#   ppl.txt                                     the first 6000 bytes of SHAKESPEARE_TXT
#   llamacpp_ppl.txt                            "FILE CTX PPL COUNT" from llama-perplexity -c CTX
#                                               on ppl.txt, 2 threads
# LLAMA_CPP_BUILD_BIN: a llama.cpp build's bin/ (cmake -DGGML_NATIVE=ON, targets llama-quantize
# and llama-perplexity).
set -eu
R=$(cd "$(dirname "$0")/.." && pwd)
D=$R/tests/fixtures/gguf

kquant() {
  local tmp; tmp=$(mktemp -d)
  python3 "$R/tools/make_kquant_gguf.py" "$tmp/f32.gguf" >/dev/null
  "$B/llama-quantize" --output-tensor-type q5_K "$tmp/f32.gguf" "$D/random256_q4_k_m.gguf" Q4_K_M >/dev/null 2>&1
  rm -rf "$tmp"
}
# ppl_lines NAME...: llamacpp_ppl.txt's lines for $D/NAME.gguf
ppl_lines() {
  local f ctx out ppl chunks
  for f; do
    for ctx in 64 128; do
      out=$("$B/llama-perplexity" -m "$D/$f.gguf" -f "$D/ppl.txt" -c $ctx -t 2 2>&1)
      ppl=$(printf '%s\n' "$out" | sed -n 's/^Final estimate: PPL = \([0-9.]*\).*/\1/p')
      chunks=$(printf '%s\n' "$out" | sed -n 's/.*calculating perplexity over \([0-9]*\) chunks.*/\1/p')
      echo "$f.gguf $ctx $ppl $((chunks * (ctx - ctx / 2 - 1)))"
    done
  done
}

if [ "${1:-}" = --kquant ]; then
  B=$2
  cd "$R"
  kquant
  { grep -v '^random256_' "$D/llamacpp_ppl.txt" || true; ppl_lines random256_q4_k_m; } > "$D/llamacpp_ppl.txt.new"
  mv "$D/llamacpp_ppl.txt.new" "$D/llamacpp_ppl.txt"
  cat "$D/llamacpp_ppl.txt"
  exit 0
fi
B=$1; SRC=$2; TXT=$3
mkdir -p "$D"
cd "$R"
for f in tiny_f32.gguf tiny_f16.gguf tiny_bf16.gguf tiny_sp_ids.txt; do cp "$SRC/$f" "$D/$f"; done
"$B/llama-quantize" "$D/tiny_f32.gguf" "$D/tiny_q8_0.gguf" Q8_0 >/dev/null 2>&1
"$B/llama-quantize" "$D/tiny_f32.gguf" "$D/tiny_q4_0.gguf" Q4_0 >/dev/null 2>&1
kquant
head -c 6000 "$TXT" > "$D/ppl.txt"
ppl_lines tiny_f32 tiny_f16 tiny_bf16 tiny_q8_0 tiny_q4_0 random256_q4_k_m > "$D/llamacpp_ppl.txt"
cat "$D/llamacpp_ppl.txt"
