#!/usr/bin/env bash
# scripts/fuzz.sh — `make fuzz`: libFuzzer on every target in fuzz/, one after another.
#
#   make fuzz                               each target FUZZ_SECONDS (default 60) seconds
#   FUZZ_SECONDS=600 FUZZ_TARGETS="safetensors hf_config" make fuzz
#   FUZZ_JOBS=2 FUZZ_TARGETS="tiktoken_roundtrip tiktoken_roundtrip" make fuzz    two at a time
#
# Builds the library and each fuzz/<target>.c with clang -fsanitize=fuzzer,address,undefined
# into build-fuzz/ (installing clang-14 and libclang-rt-14-dev from Debian if missing), then
# runs each target, nice'd, starting from the committed seeds (fuzz/corpus/<target>/) and the
# inputs earlier runs found (build-fuzz/corpus/<target>/, not committed). Appends one line per
# run to build-fuzz/stats.tsv: date, target, seconds, executions, result.
#
# A crash, leak or sanitizer report stops that target and leaves the input in
# build-fuzz/crashes/<target>/. Fix the bug, then commit the input as
# fuzz/regressions/<target>/<name> so `make test` replays it forever after.
set -u
cd "$(dirname "$0")/.." || exit 1
SECONDS_EACH=${FUZZ_SECONDS:-60}
CLANG=${FUZZ_CC:-clang-14}

# ---- toolchain (only here: the normal build needs gcc alone) ----
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
need=()
have clang-14 || need+=(clang-14)
have libclang-rt-14-dev || need+=(libclang-rt-14-dev)
if [ ${#need[@]} -gt 0 ]; then
  echo "fuzz.sh: installing ${need[*]}" >&2
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >&2 && $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >&2 ||
    { echo "fuzz.sh: cannot install ${need[*]}" >&2; exit 1; }
fi
scripts/deps.sh || exit 1

# ---- build ----
# The library without -fopenmp: targets run single-threaded (the pragmas are ignored).
SAN="-fsanitize=address,undefined -fno-omit-frame-pointer"
COV="-fsanitize-coverage-ignorelist=fuzz/coverage_ignore.txt"   # third-party code: no coverage hooks
LIBCFLAGS="-O1 -g $SAN -fsanitize=fuzzer-no-link $COV -Wno-unknown-pragmas -Wno-source-uses-openmp"
# make does not see flag changes: start the library over when the flags differ from last time.
if [ "$(cat build-fuzz/flags 2>/dev/null)" != "$LIBCFLAGS" ]; then
  rm -rf build-fuzz/data build-fuzz/model build-fuzz/train build-fuzz/infer build-fuzz/libscratchllama.a build-fuzz/bin
  mkdir -p build-fuzz && printf '%s' "$LIBCFLAGS" > build-fuzz/flags
fi
make -s CC="$CLANG" BUILD=build-fuzz BIN=build-fuzz/bin CFLAGS="$LIBCFLAGS" build-fuzz/libscratchllama.a || exit 1
PKG="openblas libpcre2-8 libcjson"
all_targets=$(for f in fuzz/*.c; do b=$(basename "$f" .c); [ "$b" = replay ] || echo "$b"; done)
targets=${FUZZ_TARGETS:-$all_targets}
mkdir -p build-fuzz/bin
for t in $targets; do
  [ -f "fuzz/$t.c" ] || { echo "fuzz.sh: no target fuzz/$t.c" >&2; exit 1; }
  if [ ! build-fuzz/bin/"$t" -nt "fuzz/$t.c" ] || [ build-fuzz/libscratchllama.a -nt build-fuzz/bin/"$t" ] ||
     [ fuzz/fuzz.h -nt build-fuzz/bin/"$t" ] || [ fuzz/fuzz_model.h -nt build-fuzz/bin/"$t" ] ||
     [ fuzz/fuzz_tiktoken.h -nt build-fuzz/bin/"$t" ]; then
    $CLANG -std=c11 -D_GNU_SOURCE -I. $(pkg-config --cflags $PKG) -O1 -g $SAN -fsanitize=fuzzer $COV \
      "fuzz/$t.c" build-fuzz/libscratchllama.a -o "build-fuzz/bin/$t" $(pkg-config --libs $PKG) -lm || exit 1
  fi
done

# ---- run ----
# UBSan: stop at the first report (libFuzzer saves the input), except the shift warnings of
# stb_ds.h's hash functions (third-party; see tests/sanitizers/ubsan.supp).
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$PWD/tests/sanitizers/ubsan.supp"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export OPENBLAS_NUM_THREADS=1
status=0
TIMEOUT=10
# rerun_ms TARGET INPUT: runs one input alone; prints its milliseconds if it finished in under
# half the timeout, fails otherwise (a real hang or slow input: it stays a failure).
rerun_ms() {
  local out ms
  out=$("build-fuzz/bin/$1" -timeout=$TIMEOUT -runs=1 "$2" 2>&1) || return 1
  ms=$(echo "$out" | grep -a "^Executed .* in [0-9]* ms" | tail -1 | sed 's/.* in \([0-9]*\) ms.*/\1/')
  [ -n "$ms" ] && [ "$ms" -lt $((TIMEOUT * 500)) ] && echo "$ms"
}
# run_target T: one libFuzzer run of target T, its line on stdout and in build-fuzz/stats.tsv.
# Returns 1 if it found a crash, leak, sanitizer report or hang.
run_target() {
  local t=$1 dict="" log started rc execs secs result input ms
  mkdir -p "build-fuzz/corpus/$t" "build-fuzz/crashes/$t" build-fuzz/logs
  case $t in
    safetensors|hf_config|hf_index) dict=-dict=fuzz/dict/json.dict ;;
    sp_tokenizer) dict=-dict=fuzz/dict/sp_tokenizer.dict ;;
    tiktoken_*) dict=-dict=fuzz/dict/tiktoken.dict ;;
  esac
  log="build-fuzz/logs/$t-$(date -u +%Y%m%dT%H%M%S)-$BASHPID.log"   # one per run: runs may overlap
  started=$(date +%s)
  nice -n 10 "build-fuzz/bin/$t" -max_total_time="$SECONDS_EACH" -print_final_stats=1 -timeout=$TIMEOUT \
    -rss_limit_mb=2048 -artifact_prefix="build-fuzz/crashes/$t/" $dict \
    "build-fuzz/corpus/$t" "fuzz/corpus/$t" > "$log" 2>&1
  rc=$?
  execs=$(grep -a 'stat::number_of_executed_units' "$log" | tail -1 | awk '{print $2}')
  secs=$(( $(date +%s) - started ))   # wall seconds (libFuzzer prints none when a run stops early)
  if [ $rc = 0 ]; then result=clean
  elif [ $rc = 72 ]; then result="clean (stopped early with SIGINT)"   # libFuzzer's exit after Ctrl-C
  elif [ $rc = 70 ] && input=$(ls -t build-fuzz/crashes/$t/timeout-* 2>/dev/null | head -1) && [ -n "$input" ] &&
       ms=$(rerun_ms "$t" "$input"); then
    # libFuzzer's -timeout is wall-clock time: a process paused (SIGSTOP, a suspended laptop) or
    # starved of CPU by other work trips it on an input that is not slow. Such a run counts as
    # clean up to there only if the input, run again alone, takes less than half the limit.
    result="clean (timeout, but $(basename "$input") reruns alone in $ms ms: the process was paused or starved)"
  else
    result="FAILED (exit $rc): $(ls -t build-fuzz/crashes/$t/ 2>/dev/null | head -1), see $log"
  fi
  printf '%-20s %8s %12s %s\n' "$t" "${secs:-?}" "${execs:-?}" "$result"
  printf '%s\t%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$t" "${secs:-?}" "${execs:-?}" "$result" >> build-fuzz/stats.tsv
  case $result in FAILED*) return 1 ;; esac
}

# FUZZ_JOBS targets at a time (default 1). A target may be named twice to run it on two cores:
# the runs share its corpus folder, and each adds its own line to stats.tsv.
# Ctrl-C reaches the running fuzzers (libFuzzer then prints its stats and exits 72, and each
# run's line is still written); the trap only stops new runs from starting.
JOBS=${FUZZ_JOBS:-1}
stopping=0
trap 'stopping=1' INT TERM
printf '%-20s %8s %12s %s\n' target seconds executions result
# wait_one: waits for a run to end; a run that failed makes the script's status 1 (a wait
# interrupted by Ctrl-C returns 128 + 2 and says nothing about a run)
wait_one() { wait -n; local rc=$?; [ $rc = 1 ] && status=1; return 0; }
for t in $targets; do
  while [ $stopping = 0 ] && [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait_one; done
  [ $stopping = 1 ] && break
  run_target "$t" &
done
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do wait_one; done
exit $status
