# tests/lib.sh — the shell side of tests/test.h, for tests of whole programs.
# Source it, call check "what" CMD..., and end with summary.
passed=0; failed=0
BIN=${BIN:-bin}   # the programs under test: bin/, or bin-san/ for make test SAN=1
export SCRATCHLLAMA_LOADAVG=0   # no busy-machine warning in the stderr lines the checks count (tests of it set their own)
ok()   { passed=$((passed+1)); echo "OK   $*"; }
fail() { failed=$((failed+1)); echo "FAIL $*"; }
# expect_fail "what" CMD...: the command must exit 1 with exactly one line on stderr, no signal.
expect_fail() {
  local what=$1; shift
  local err rc
  err=$("$@" 2>&1 >/dev/null); rc=$?
  # Under make test SAN=1 (allocator_may_return_null=1) ASan announces each allocation it
  # refuses with its own WARNING line; the program then handles the NULL like any failed
  # malloc. That line is the sanitizer's, not the program's: leave it out of the count.
  err=$(printf '%s\n' "$err" | grep -v '^==[0-9]*==WARNING: AddressSanitizer failed to allocate')
  local lines; lines=$(printf '%s' "$err" | grep -c '')
  if [ "$rc" = 1 ] && [ "$lines" = 1 ]; then ok "$what: exit 1, \"$err\""
  else fail "$what: exit $rc, $lines stderr lines: $(printf '%s' "$err" | head -3 | tr '\n' '|')"; fi
}
TOK=${TOKENIZER_DIR:-data/tokenizers}   # scripts/fetch_tokenizers.sh's files (make test fetches them)
CORPUS=data/tinyshakespeare.txt          # the bundled corpus
# llama3_tiny_dir DEST: tests/fixtures/hf_llama3_tiny (a Llama 3.2-layout checkpoint with the
# whole Llama 3 vocabulary) with Meta's tokenizer.model beside it, as in a downloaded folder
llama3_tiny_dir() {
  mkdir -p "$1" && cp tests/fixtures/hf_llama3_tiny/* "$1"/ && cp "$TOK/llama3/tokenizer.model" "$1"/
}
# byte_tokenizer FILE: a byte-level tiktoken rank file (the 256 single bytes as ranks 0..255) and
# FILE.pattern naming its split pattern (gpt2), as bin/bpe-train records one
byte_tokenizer() {
  local i
  for i in $(seq 0 255); do printf '%s %d\n' "$(printf "\\x$(printf %02x "$i")" | base64)" "$i"; done > "$1"
  echo gpt2 > "$1.pattern"
}
summary() { echo "RESULT $passed $failed"; [ "$failed" = 0 ]; }
