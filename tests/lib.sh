# tests/lib.sh — the shell side of tests/test.h, for tests of whole programs.
# Source it, call check "what" CMD..., and end with summary.
passed=0; failed=0
BIN=${BIN:-bin}   # the programs under test: bin/, or bin-san/ for make test SAN=1
ok()   { passed=$((passed+1)); echo "OK   $*"; }
fail() { failed=$((failed+1)); echo "FAIL $*"; }
# expect_fail "what" CMD...: the command must exit 1 with exactly one line on stderr, no signal.
expect_fail() {
  local what=$1; shift
  local err rc
  err=$("$@" 2>&1 >/dev/null); rc=$?
  local lines; lines=$(printf '%s' "$err" | grep -c '')
  if [ "$rc" = 1 ] && [ "$lines" = 1 ]; then ok "$what: exit 1, \"$err\""
  else fail "$what: exit $rc, $lines stderr lines: $(printf '%s' "$err" | head -3 | tr '\n' '|')"; fi
}
summary() { echo "RESULT $passed $failed"; [ "$failed" = 0 ]; }
