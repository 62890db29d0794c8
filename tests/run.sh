#!/usr/bin/env bash
# tests/run.sh — run every test program ($BIN/test_*, default bin/) and shell test (tests/*_test.sh),
# then print the one line CI reads: "N passed, N failed" (", N skipped" when a test printed
# "SKIP name: reason" because its input cannot be had here). Exit non-zero on any failure.
# A test that crashes, or ends without its RESULT line, counts as one failure.
cd "$(dirname "$0")/.." || exit 1
# BIN: where the programs are (make test SAN=1 builds them into bin-san/); the tests read it too
export BIN=${BIN:-bin}
if [ "${SAN:-}" = 1 ]; then
  # Every sanitizer report fails its test: UBSan stops at the first one, ASan always does.
  # The one suppression (tests/sanitizers/ubsan.supp) is stb_ds.h's hash; see docs/reliability.md.
  export UBSAN_OPTIONS="halt_on_error=1:exitcode=87:print_stacktrace=1:suppressions=$PWD/tests/sanitizers/ubsan.supp"
  # allocator_may_return_null: a huge malloc returns NULL as in libc (our "out of memory" paths
  # are then tested) instead of ASan aborting the program
  export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1:exitcode=86"
fi
# bin/train and bin/infer warn on stderr when the load average is above the core count; the
# suite itself loads the machine, and its checks count stderr lines: a load of 0 here, and the
# tests of the warning set their own
export SCRATCHLLAMA_LOADAVG=0
total_pass=0; total_fail=0; total_skip=0
for t in "$BIN"/test_* tests/*_test.sh; do
  [ -e "$t" ] || continue
  echo "== $t"
  start=$(date +%s.%N)
  out=$( { if [[ $t == *.sh ]]; then bash "$t"; else "$t"; fi; } 2>&1 ); rc=$?
  printf '%s\n' "$out" | grep -v '^RESULT '
  res=$(printf '%s\n' "$out" | grep '^RESULT ' | tail -1)
  total_skip=$((total_skip + $(printf '%s\n' "$out" | grep -c '^SKIP ')))
  if [ -n "$res" ]; then
    set -- $res
    total_pass=$((total_pass + $2)); total_fail=$((total_fail + $3))
    [ "$rc" != 0 ] && [ "$3" = 0 ] && { echo "FAIL $t exited $rc"; total_fail=$((total_fail + 1)); }
  else
    echo "FAIL $t ended without a RESULT line (exit $rc)"; total_fail=$((total_fail + 1))
  fi
  awk -v a="$start" -v b="$(date +%s.%N)" -v t="$t" 'BEGIN { printf "   (%s: %.1f s)\n", t, b - a }'
done
if [ "$total_skip" = 0 ]; then echo "$total_pass passed, $total_fail failed"
else echo "$total_pass passed, $total_fail failed, $total_skip skipped"; fi
[ "$total_fail" = 0 ]
