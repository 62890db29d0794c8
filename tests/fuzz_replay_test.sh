#!/usr/bin/env bash
# tests/fuzz_replay_test.sh — every fuzz target (fuzz/<target>.c, built by gcc as
# $BIN/fuzz/<target> with fuzz/replay.c as its main) replays its seed corpus and every input
# that ever crashed it (fuzz/regressions/<target>/), so a fixed bug stays fixed. `make fuzz`
# runs the same targets under libFuzzer; docs/reliability.md lists what they found.
cd "$(dirname "$0")/.." || exit 1
source tests/lib.sh
BIN=${BIN:-bin}
for src in fuzz/*.c; do
  t=$(basename "$src" .c)
  [ "$t" = replay ] && continue
  dirs=()
  for d in "fuzz/corpus/$t" "fuzz/regressions/$t"; do [ -d "$d" ] && dirs+=("$d"); done
  if [ ${#dirs[@]} = 0 ]; then fail "$t: no corpus"; continue; fi
  err=$("$BIN/fuzz/$t" "${dirs[@]}" 2>&1 >/tmp/fuzz_replay.$$); rc=$?
  out=$(cat /tmp/fuzz_replay.$$); rm -f /tmp/fuzz_replay.$$
  if [ $rc = 0 ]; then ok "fuzz target $t: $out (${dirs[*]})"
  else fail "fuzz target $t: exit $rc; last input and report: $(printf '%s\n' "$err" | grep -v '^replay: ' | head -5 | tr '\n' '|') $(printf '%s\n' "$err" | grep '^replay: ' | tail -1)"; fi
done
summary
