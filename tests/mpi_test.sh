#!/usr/bin/env bash
# tests/mpi_test.sh — bin/train on 2 processes under mpirun (train/dist.c), on a tiny model with
# both dropouts and shuffling on (seconds): --batch 4 on 2 processes makes the updates one process
# makes with --batch 8 (per-step losses and gradient norms within 1e-5 relative), with and without
# --zero 1; a stop and a resume under mpirun continue bit for bit; a resume on another process
# count is refused; SIGINT to one process stops both at the same step; a process that fails ends
# the job with its message; LoRA adapters on a bf16 base train the same on 2 processes as on 1.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
command -v mpirun > /dev/null || { echo "SKIP mpi_test: mpirun is not installed (scripts/deps.sh installs openmpi-bin)"; summary; exit; }
T=$(mktemp -d /tmp/mpi_test.XXXXXX)
trap 'rm -rf "$T"' EXIT

# CI runs as root on 2 cores in a container without a network: allow root, more processes than
# cores, shared memory between the processes (vader; no cross-memory-attach, which containers
# often forbid), no binding to cores
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_hwloc_base_binding_policy=none
export OMPI_MCA_btl_base_warn_component_unused=0
# make test SAN=1: MPI's own allocations outlive MPI_Finalize; our leaks are train_test's to find
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
MPIRUN=(timeout 120 mpirun -np 2)   # a hung job fails the test (exit 124) instead of hanging it

byte_tokenizer "$T/bytes.tiktoken"
head -c 60000 "$CORPUS" > "$T/text.txt"
$BIN/prepare --tokenizer "$T/bytes.tiktoken" --pattern gpt2 --out-dir "$T" "$T/text.txt" 2> "$T/prep.err" ||
  fail "prepare: $(cat "$T/prep.err")"
ARGS=(--data "$T/train.bin" --val-data "$T/val.bin" --tokenizer "$T/bytes.tiktoken"
      --dim 32 --n-layers 2 --n-heads 4 --n-kv-heads 2 --hidden-dim 64 --seq 32 --steps 12 --warmup 3
      --lr 1e-2 --min-lr 1e-3 --dropout 0.1 --att-dropout 0.1 --shuffle 1 --seed 7 --eval-every 4
      --eval-batches 2 --sample-every 0 --sample-chars 40 --ckpt-every 4 --threads 1)

# close LOG_A LOG_B: the largest relative difference of train loss, val loss and grad norm over
# the rows (the lr column must be equal), or "rows" when the two logs' steps differ
close() {
  paste -d, "$1" "$2" | awk -F, 'NR > 1 {
      if ($1 != $8 || $4 != $11) { bad = 1 }
      for (c = 2; c <= 5; c += 1) { if (c == 4) continue
        a = $c; b = $(c + 7); if (a == "" && b == "") continue
        if (a == "" || b == "") { bad = 1; continue }
        d = a - b; if (d < 0) d = -d; s = a < 0 ? -a : a; if (s > 0 && d / s > m) m = d / s }
      n++ }
    END { if (bad || n != 13) print "rows"; else printf "%.2e\n", m }'
}
within() { awk -v x="$1" 'BEGIN { exit !(x != "rows" && x + 0 <= 1e-5) }'; }

$BIN/train "${ARGS[@]}" --batch 8 --ckpt-dir "$T/one" --log "$T/one.csv" > "$T/one.out" 2> "$T/one.err" ||
  fail "1 process --batch 8: $(head -2 "$T/one.err")"
for z in 0 1; do
  "${MPIRUN[@]}" $BIN/train "${ARGS[@]}" --batch 4 --zero $z --ckpt-dir "$T/two$z" --log "$T/two$z.csv" \
    > "$T/two$z.out" 2> "$T/two$z.err"
  rc=$?
  d=$(close "$T/one.csv" "$T/two$z.csv")
  [ $rc = 0 ] && within "$d" && grep -q '^processes: 2, each 4 rows of the global batch of 8' "$T/two$z.out" &&
    ok "mpirun -np 2 --batch 4 --zero $z: 12 updates as 1 process's --batch 8 (train/val loss, grad norm within $d relative; lr equal)" ||
    fail "mpirun -np 2 --batch 4 --zero $z: exit $rc, difference $d: $(head -3 "$T/two$z.err" | tr '\n' '|')"
done
# LoRA: the adapters' gradients are averaged over the processes (and with --zero 1 their AdamW
# moments sharded) as a whole model's are; the frozen bf16 base is each process's own mmap
F=tests/fixtures/lora
LA=(--init $F/base --lora 4 --lora-targets q,k,v,o,gate,up,down --data $F/train.bin --val-data $F/val.bin --seq 16
    --steps 12 --warmup 3 --lr 1e-2 --min-lr 1e-3 --dropout 0.1 --att-dropout 0.1 --shuffle 1 --seed 7 --eval-every 4
    --eval-batches 1 --sample-chars 0 --threads 1)
$BIN/train "${LA[@]}" --batch 4 --ckpt-dir "$T/lone" --log "$T/lone.csv" > /dev/null 2> "$T/lone.err" ||
  fail "LoRA, 1 process --batch 4: $(head -2 "$T/lone.err")"
for z in 0 1; do
  "${MPIRUN[@]}" $BIN/train "${LA[@]}" --batch 2 --zero $z --ckpt-dir "$T/ltwo$z" --log "$T/ltwo$z.csv" > /dev/null 2> "$T/ltwo$z.err"
  rc=$?
  d=$(close "$T/lone.csv" "$T/ltwo$z.csv")
  [ $rc = 0 ] && within "$d" &&
    ok "LoRA on a bf16 base, mpirun -np 2 --batch 2 --zero $z: 12 updates as 1 process's --batch 4 (within $d relative)" ||
    fail "LoRA mpirun -np 2 --zero $z: exit $rc, difference $d: $(head -3 "$T/ltwo$z.err" | tr '\n' '|')"
done
grep -q '^communication: ' "$T/two0.out" && ! grep -q '^communication: ' "$T/one.out" &&
  ok "the time in MPI calls is reported under mpirun only: $(grep '^communication' "$T/two0.out")" ||
  fail "communication line: $(grep -c '^communication' "$T/two0.out") under mpirun"

# stop after 6 updates (SCRATCHLLAMA_STOP_AT: as if interrupted), resume under mpirun: the
# uninterrupted 2-process run's log and weights, bit for bit (--zero 1: each process's shard of
# the moments gathered into the state file and cut out again)
for z in 0 1; do
  SCRATCHLLAMA_STOP_AT=6 "${MPIRUN[@]}" $BIN/train "${ARGS[@]}" --batch 4 --zero $z --ckpt-dir "$T/r$z" \
    --log "$T/r$z.csv" > "$T/r$z.a.out" 2> "$T/r$z.a.err"
  rc1=$?
  "${MPIRUN[@]}" $BIN/train --resume "$T/r$z" --zero $z --threads 1 > "$T/r$z.b.out" 2> "$T/r$z.b.err"
  rc2=$?
  if [ $rc1 = 0 ] && [ $rc2 = 0 ] && grep -q "resume with: mpirun -np 2 bin/train --resume" "$T/r$z.a.out" &&
     diff <(cut -d, -f1-5 "$T/two$z.csv") <(cut -d, -f1-5 "$T/r$z.csv") > /dev/null &&
     cmp -s "$T/two$z/model_00000012.bin" "$T/r$z/model_00000012.bin"; then
    ok "--zero $z: 6 updates, stop, mpirun --resume, 6 more: log and final weights bit-identical to the uninterrupted run"
  else fail "--zero $z resume: exits $rc1/$rc2, $(head -2 "$T/r$z.a.err" "$T/r$z.b.err" | tr '\n' '|')"; fi
done

# the data position and dropout masks belong to a global batch of 2 x 4 rows: another count is refused
err=$($BIN/train --resume "$T/r0" --threads 1 2>&1 > /dev/null); rc=$?
[ $rc = 1 ] && [ "$(printf '%s\n' "$err" | grep -c '')" = 1 ] &&
  [[ $err == "train: --resume $T/r0: the run was trained by 2 processes, this is 1 (resume it with mpirun -np 2)" ]] &&
  ok "resume on 1 process of a 2-process run: exit 1, \"$err\"" || fail "resume on another count: exit $rc: $err"

# SIGINT to one of the processes: both finish the same update, process 0 saves, the job exits 0
"${MPIRUN[@]}" $BIN/train "${ARGS[@]}" --steps 100000 --batch 4 --ckpt-dir "$T/s" --log "$T/s.csv" > "$T/s.out" 2> "$T/s.err" &
job=$!
for i in $(seq 300); do [ -s "$T/s.csv" ] && [ "$(wc -l < "$T/s.csv")" -ge 4 ] && break; sleep 0.1; done
procs=$(pgrep -P "$(pgrep -P $job -x mpirun || echo $job)" -x train | tr '\n' ' ')
set -- $procs
[ -n "$2" ] && kill -INT "$2"
wait $job; rc=$?
step=$(sed -n 's/^interrupted after step \([0-9]*\)\/.*/\1/p' "$T/s.out")
[ $rc = 0 ] && [ -n "$step" ] && [ -e "$T/s/state_$(printf %08d "$step").bin" ] && [ "$(wc -l < "$T/s.csv")" = $((step + 1)) ] &&
  ok "SIGINT to process 1 of 2 ($2): both stop after update $step, the state is saved, exit 0" ||
  fail "SIGINT to one process: exit $rc, processes '$procs', step '$step': $(tail -2 "$T/s.out" "$T/s.err" | tr '\n' '|')"

# a process that cannot start (rank 1 given a missing shard) ends the whole job with its message,
# exit 1, without leaving rank 0 waiting in a collective
start=$(date +%s)
timeout 120 mpirun -np 1 $BIN/train "${ARGS[@]}" --batch 4 --ckpt-dir "$T/f" : -np 1 $BIN/train "${ARGS[@]}" --data "$T/missing.bin" --batch 4 \
  --ckpt-dir "$T/f" > "$T/f.out" 2> "$T/f.err"
rc=$?
# (mpirun's own banner about MPI_Abort follows, when it wins the race with the job's end)
[ $rc != 0 ] && [ $rc != 124 ] && grep -qx "train: --data: $T/missing.bin: No such file or directory" "$T/f.err" &&
  ok "rank 1 with a missing --data: the job ends in $(( $(date +%s) - start )) s, exit $rc, \"$(grep '^train:' "$T/f.err")\"" ||
  fail "failing rank: exit $rc: $(head -4 "$T/f.err" | tr '\n' '|')"

# without mpirun --zero 1 is one shard of everything: the same run as --zero 0
$BIN/train "${ARGS[@]}" --batch 8 --zero 1 --ckpt-dir "$T/onez" --log "$T/onez.csv" > /dev/null 2>&1
diff <(cut -d, -f1-5 "$T/one.csv") <(cut -d, -f1-5 "$T/onez.csv") > /dev/null &&
  ok "1 process: --zero 1 gives --zero 0's log bit for bit" || fail "1 process: --zero 1 changes the run"
summary
