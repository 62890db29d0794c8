#!/usr/bin/env bash
# tests/train_test.sh — bin/prepare and bin/train end to end on a tiny model (seconds):
# 20 steps in one run == 10 steps + --resume + 10 steps, bit for bit (both dropouts and shuffling on);
# SIGINT saves and exits 0; corrupt checkpoints and bad flags get one line and exit 1.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
T=$(mktemp -d /tmp/train_test.XXXXXX)
trap 'umount "$T/full" 2>/dev/null; rm -rf "$T"' EXIT

# a byte-level tokenizer: the 256 single bytes as ranks 0..255 (a valid tiktoken rank file)
byte_tokenizer "$T/bytes.tiktoken"
head -c 60000 "$CORPUS" > "$T/text.txt"
if $BIN/prepare --tokenizer "$T/bytes.tiktoken" --pattern gpt2 --out-dir "$T" "$T/text.txt" 2> "$T/prep.err"; then
  ok "prepare: $(tr '\n' ' ' < "$T/prep.err" | cut -c1-160)"
else fail "prepare: $(cat "$T/prep.err")"; fi
tb=$(stat -c %s "$T/train.txt"); vb=$(stat -c %s "$T/val.txt")
[ $((tb + vb)) = 60000 ] && [ "$(cat "$T/train.txt" "$T/val.txt" | sha256sum)" = "$(sha256sum < "$T/text.txt")" ] &&
  [ "$(tail -c 1 "$T/train.txt" | od -An -c | tr -d ' ')" = '\n' ] &&
  ok "prepare: train ($tb bytes) + val ($vb bytes) = the text, split after a line break" ||
  fail "prepare: split does not reassemble the text"
# byte-level: one token per byte, so the shard holds exactly the bytes (header 1024 + 2 per token)
[ "$(stat -c %s "$T/val.bin")" = $((1024 + 2 * vb)) ] && ok "prepare: val.bin holds $vb uint16 tokens" ||
  fail "prepare: val.bin size $(stat -c %s "$T/val.bin")"

BASE=($BIN/train --data "$T/train.bin" --val-data "$T/val.bin" --tokenizer "$T/bytes.tiktoken")
TRAIN=("${BASE[@]}" --dim 32 --n-layers 2 --n-heads 4 --n-kv-heads 2 --hidden-dim 64 --seq 32 --batch 4
       --steps 20 --warmup 5 --lr 1e-2 --min-lr 1e-3 --dropout 0.1 --att-dropout 0.1 --shuffle 1 --seed 7
       --eval-every 5 --eval-batches 2 --sample-every 0 --sample-chars 40 --ckpt-every 4 --threads 2)

"${TRAIN[@]}" --ckpt-dir "$T/a" --log "$T/a.csv" > "$T/a.out" 2> "$T/a.err"
rc=$?
[ $rc = 0 ] && ok "20-step run: exit 0, $(grep -c '^step ' "$T/a.out") progress lines" || fail "20-step run: exit $rc: $(head -3 "$T/a.err")"
[ "$(head -1 "$T/a.csv")" = "step,train_loss,val_loss,lr,grad_norm,tokens_per_s,elapsed_s" ] &&
  ok "log header is exactly step,train_loss,val_loss,lr,grad_norm,tokens_per_s,elapsed_s" || fail "log header: $(head -1 "$T/a.csv")"
rows=$(awk -F, 'NR > 1 && $2 != ""' "$T/a.csv" | wc -l)
first=$(awk -F, 'NR == 2 { print $1 }' "$T/a.csv")
[ "$rows" = 20 ] && [ "$first" = 0 ] && ok "log: 20 train rows, steps from 0" || fail "log: $rows train rows, first step $first"
grep -q 'bits/byte' "$T/a.out" && ok "eval prints nats/token and bits/byte: $(grep '^eval' "$T/a.out" | tail -1)" ||
  fail "no bits/byte in the eval line"
ls "$T/a"/model_best.bin "$T/a"/model_00000020.bin "$T/a"/state_00000020.bin > /dev/null 2>&1 &&
  [ "$(ls "$T/a" | grep -c '^state_')" = 2 ] && ok "checkpoints: model_best.bin, the last pair, --keep-last 2 pairs kept" ||
  fail "checkpoints: $(ls "$T/a" | tr '\n' ' ')"

# 10 steps, stop, resume for the other 10: the same losses and the same final weights
# SCRATCHLLAMA_STOP_AT=N (a test switch, not a flag): stop after update N as if interrupted
SCRATCHLLAMA_STOP_AT=10 "${TRAIN[@]}" --ckpt-dir "$T/b" --log "$T/b.csv" > "$T/b1.out" 2> "$T/b1.err"
rc1=$?
grep -q 'resume with: bin/train --resume' "$T/b1.out" && [ $rc1 = 0 ] && ok "SCRATCHLLAMA_STOP_AT=10: exit 0 and says how to resume" ||
  fail "SCRATCHLLAMA_STOP_AT=10: exit $rc1: $(tail -2 "$T/b1.out" "$T/b1.err")"
# what a kill during a checkpoint write leaves: a temp file of a process that no longer runs
true & dead=$!; wait $dead
head -c 777 /dev/urandom > "$T/b/model_00000011.bin.tmp.$dead"
$BIN/train --resume "$T/b" --threads 2 > "$T/b2.out" 2> "$T/b2.err"
rc2=$?
[ ! -e "$T/b/model_00000011.bin.tmp.$dead" ] && grep -q 'removed 1 unfinished' "$T/b2.err" &&
  ok "--resume removes a killed writer's temp file" || fail "stale temp file: $(ls "$T/b" | tr '\n' ' ')"
[ $rc2 = 0 ] && ok "--resume: exit 0 ($(grep '^resumed' "$T/b2.out"))" || fail "--resume: exit $rc2: $(head -3 "$T/b2.err")"
if diff <(cut -d, -f1-5 "$T/a.csv") <(cut -d, -f1-5 "$T/b.csv") > "$T/diff"; then
  ok "resume: train and val losses, lr and grad norm of all 20 steps are bit-identical (dropout 0.1 on the residual branches and the attention probabilities, shuffled)"
else fail "resume: logs differ: $(head -4 "$T/diff" | tr '\n' '|')"; fi
cmp -s "$T/a/model_00000020.bin" "$T/b/model_00000020.bin" && ok "resume: final weights byte-identical to the uninterrupted run" ||
  fail "resume: final weights differ"

# BPE-dropout variants (bin/prepare --variants): K more train shards, each a random, finer
# segmentation of the same text, reproducible from --seed; bin/train reads them one per epoch
# (a glob), and a resumed run still continues bit for bit across the shard changes
V="$T/var"; mkdir -p "$V"
head -c 3000 "$CORPUS" > "$V/text.txt"
$BIN/bpe-train --vocab 320 --pattern cl100k --quiet --out "$V/bpe.tiktoken" "$V/text.txt" 2> "$V/bpe.err" || fail "bpe-train: $(cat "$V/bpe.err")"
PREP=($BIN/prepare --tokenizer "$V/bpe.tiktoken" --pattern cl100k --val-frac 0.2 --variants 3 --bpe-dropout 0.1)
"${PREP[@]}" --out-dir "$V" "$V/text.txt" 2> "$V/prep.err"
"${PREP[@]}" --out-dir "$V/again" "$V/text.txt" 2> /dev/null
count() { od -An -t d4 -j 8 -N 4 "$1" | tr -d ' '; }   # the shard header's token count
n0=$(count "$V/train.bin"); n1=$(count "$V/train_bpe_dropout_00.bin"); n2=$(count "$V/train_bpe_dropout_01.bin")
n3=$(count "$V/train_bpe_dropout_02.bin")
[ -n "$n3" ] && [ "$n1" -gt "$n0" ] && [ "$n2" -gt "$n0" ] && [ "$n3" -gt "$n0" ] &&
  ! cmp -s "$V/train_bpe_dropout_00.bin" "$V/train_bpe_dropout_01.bin" &&
  cmp -s "$V/train_bpe_dropout_02.bin" "$V/again/train_bpe_dropout_02.bin" &&
  ok "prepare --variants 3 --bpe-dropout 0.1: $n1 / $n2 / $n3 tokens against $n0 deterministic; variants differ; the same seed writes the same files" ||
  fail "prepare --variants: counts $n0 / $n1 / $n2 / $n3; $(tail -1 "$V/prep.err")"
$BIN/prepare --tokenizer "$V/bpe.tiktoken" --pattern cl100k --val-frac 0.2 --out-dir "$V/again" "$V/text.txt" 2> "$V/again.err"
[ ! -e "$V/again/train_bpe_dropout_00.bin" ] && grep -q 'removed .*train_bpe_dropout_02.bin' "$V/again.err" &&
  ok "prepare without --variants removes an earlier run's variants (the glob would read them)" ||
  fail "prepare: stale variants left: $(ls "$V/again" | tr '\n' ' ')"
# bin/tokenize --bpe-dropout draws variant 0's stream: the same ids as train_bpe_dropout_00.bin
$BIN/tokenize --encoding "$V/bpe.tiktoken" --pattern cl100k --bpe-dropout 0.1 --seed 1337 < "$V/train.txt" |
  tr ' ' '\n' > "$V/tok0.txt"
od -An -v -t u2 -j 1024 "$V/train_bpe_dropout_00.bin" | tr -s ' ' '\n' | sed '/^$/d' > "$V/shard0.txt"
[ -s "$V/tok0.txt" ] && cmp -s "$V/tok0.txt" "$V/shard0.txt" &&
  ok "tokenize --bpe-dropout 0.1 --seed 1337 gives prepare's first variant, id for id ($(wc -l < "$V/tok0.txt") ids)" ||
  fail "tokenize --bpe-dropout vs prepare's variant 0: $(wc -l < "$V/tok0.txt") vs $(wc -l < "$V/shard0.txt") ids"
row_val=$($BIN/train --data "$V/train.bin" --val-data "$V/train_bpe_dropout_*.bin" --tokenizer "$V/bpe.tiktoken" --pattern cl100k \
          --dim 32 --n-layers 2 --n-heads 4 --n-kv-heads 2 --hidden-dim 64 --seq 32 --batch 4 --steps 1 \
          --ckpt-dir "$V/v" 2>&1 > /dev/null)
[ $? = 1 ] && [ "$(echo "$row_val" | wc -l)" = 1 ] && echo "$row_val" | grep -q 'evaluation takes one shard' &&
  ok "--val-data matching several shards: one line, exit 1 ($row_val)" || fail "--val-data glob: $row_val"
VTRAIN=($BIN/train --data "$V/train_bpe_dropout_*.bin" --val-data "$V/val.bin" --tokenizer "$V/bpe.tiktoken"
        --pattern cl100k --dim 32 --n-layers 2 --n-heads 4 --n-kv-heads 2 --hidden-dim 64 --seq 32 --batch 4
        --steps 40 --warmup 5 --dropout 0.1 --seed 3 --eval-every 10 --eval-batches 2 --sample-every 0
        --sample-chars 0 --ckpt-every 0 --threads 2)
"${VTRAIN[@]}" --ckpt-dir "$V/a" --log "$V/a.csv" > "$V/a.out" 2> "$V/a.err"
SCRATCHLLAMA_STOP_AT=17 "${VTRAIN[@]}" --ckpt-dir "$V/b" --log "$V/b.csv" > /dev/null 2>&1
$BIN/train --resume "$V/b" --threads 2 > /dev/null 2> "$V/b.err"
grep -q '^data: 3 train shards' "$V/a.out" && diff -q <(cut -d, -f1-5 "$V/a.csv") <(cut -d, -f1-5 "$V/b.csv") > /dev/null &&
  ok "bin/train on the 3 variants (a glob; 40 steps, 3.6 epochs, so each variant is read): 17 + --resume + 23 steps give bit-identical losses" ||
  fail "bin/train on variants: $(grep -m1 '^data' "$V/a.out") $(head -2 "$V/a.err" "$V/b.err" | tr '\n' ' ')"

# gradient accumulation: batch 2 x 2 micro-batches reads the same rows as batch 4 (sequential
# loader) and must make the same updates, up to float rounding of the sums
ACC=("${BASE[@]}" --dim 32 --n-layers 2 --n-heads 4 --n-kv-heads 2 --hidden-dim 64 --seq 32 --steps 6
     --warmup 2 --lr 1e-2 --dropout 0 --att-dropout 0 --shuffle 0 --eval-every 0 --sample-chars 0 --threads 2)
"${ACC[@]}" --batch 4 --ckpt-dir "$T/g1" --log "$T/g1.csv" > /dev/null 2>&1
"${ACC[@]}" --batch 2 --grad-accum 2 --ckpt-dir "$T/g2" --log "$T/g2.csv" > /dev/null 2>&1
# (the grad norm too: AdamW alone would not notice gradients off by a constant factor)
worst=$(paste -d, <(awk -F, 'NR > 1 && $2 != "" { print $2 "," $5 }' "$T/g1.csv") <(awk -F, 'NR > 1 && $2 != "" { print $2 "," $5 }' "$T/g2.csv") |
        awk -F, '{ for (i = 1; i <= 2; i++) { d = ($i - $(i+2)) / $i; if (d < 0) d = -d; if (d > w) w = d }; n++ }
                 END { if (n != 6) w = 1; printf "%.1e", w }')
awk -v w="$worst" 'BEGIN { exit !(w < 1e-4) }' && ok "--grad-accum 2 x batch 2 == batch 4: 6 train losses and grad norms, max rel diff $worst (tol 1e-4)" ||
  fail "--grad-accum: max rel diff $worst vs batch 4"

# --profile: a table of every op's forward/backward time per step; timing changes nothing
"${ACC[@]}" --batch 4 --profile --ckpt-dir "$T/g3" --log "$T/g3.csv" > "$T/g3.out" 2>&1
rows=$(grep -cE '^  (embedding|rmsnorm|matmul|rope|attention|swiglu|residual|dropout|crossentropy|zeroing) +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+%$' "$T/g3.out")
[ "$rows" = 10 ] && grep -q '^profile: 6 steps' "$T/g3.out" && grep -q '^  norm+clip+adamw ' "$T/g3.out" &&
  diff -q <(cut -d, -f1-5 "$T/g1.csv") <(cut -d, -f1-5 "$T/g3.csv") > /dev/null &&
  ok "--profile: 10 op rows + data/optimizer rows for 6 steps; losses and grad norms identical to the run without it" ||
  fail "--profile: $rows op rows; $(grep -m1 '^profile' "$T/g3.out"); logs $(diff -q "$T/g1.csv" "$T/g3.csv" >/dev/null && echo same || echo differ)"

# SIGINT: finish the step, save, exit 0 with the resume command
"${TRAIN[@]}" --steps 100000 --eval-every 0 --ckpt-every 0 --ckpt-dir "$T/c" > "$T/c.out" 2> "$T/c.err" &
pid=$!
for _ in $(seq 100); do grep -q '^step ' "$T/c.out" 2>/dev/null && break; sleep 0.1; done
kill -INT $pid
wait $pid
rc=$?
n=$(ls "$T/c" | grep -c '^state_')
[ $rc = 0 ] && [ "$n" = 1 ] && grep -q '^interrupted after step' "$T/c.out" && grep -q 'resume with' "$T/c.out" &&
  ok "SIGINT: exit 0, saved $(ls "$T/c" | grep '^state_'), printed the resume command" ||
  fail "SIGINT: exit $rc, $n states, $(tail -2 "$T/c.out" | tr '\n' '|') $(head -2 "$T/c.err")"

# --trace-step 2: every op's output (each layer's, then the head's) and gradient at update 2.
# Two facts the numbers must show: the head's per-position losses average to the step's logged
# train loss, and the logits' gradient (softmax - one-hot, over B*T) averages to zero.
"${TRAIN[@]}" --ckpt-dir "$T/tr" --log "$T/tr.csv" --steps 4 --trace-step 2 > "$T/tr.out" 2> "$T/tr.err"; rc=$?
nf=$(grep -c '^trace fwd  L[01] ' "$T/tr.out"); ng=$(grep -c '^trace grad L[01] ' "$T/tr.out")
lm=$(awk '$1 == "trace" && $2 == "fwd" && $3 == "head" && $4 == "losses" { print $8 }' "$T/tr.out")
gm=$(awk '$1 == "trace" && $2 == "grad" && $3 == "head" && $4 == "logits" { print $8, $10 }' "$T/tr.out")
l2=$(awk -F, '$1 == 2 { print $2 }' "$T/tr.csv")
[ $rc = 0 ] && [ "$nf" = 36 ] && [ "$ng" = 28 ] &&
  awk -v a="$lm" -v b="$l2" 'BEGIN { exit !(a != "" && (a - b) ^ 2 < (1e-5 * b) ^ 2) }' &&
  awk -v m="${gm% *}" -v s="${gm#* }" 'BEGIN { exit !(s > 0 && (m < 0 ? -m : m) < 1e-6 * s) }' &&
  ok "--trace-step 2: 18 forward and 14 gradient lines per layer; mean loss $lm = logged $l2; d logits mean ${gm% *} (std ${gm#* })" ||
  fail "--trace-step: exit $rc, $nf fwd / $ng grad lines, losses '$lm' vs '$l2', d logits '$gm' $(head -2 "$T/tr.err")"

# --steps 0 --max-minutes: a 9-second budget; 3 s in, three busy loops take the 2 cores for 6 s
# (the steps slow down several times over). The lr follows the share of the time spent, so the
# run still ends inside its budget with the cosine decay finished at min_lr ("time budget spent", or
# "done" when the re-planned last step came before the clock did).
"${BASE[@]}" --dim 32 --n-layers 2 --n-heads 4 --n-kv-heads 2 --hidden-dim 64 --seq 32 --batch 4 --steps 0 \
  --max-minutes 0.15 --warmup 5 --lr 1e-2 --min-lr 1e-4 --lr-schedule cosine --eval-every 0 --eval-batches 2 \
  --sample-chars 0 --ckpt-dir "$T/tb" --log "$T/tb.csv" --threads 2 > "$T/tb.out" 2> "$T/tb.err" &
pid=$!
sleep 3
for i in 1 2 3; do ( end=$((SECONDS + 6)); while [ $SECONDS -lt $end ]; do :; done ) & done
wait $pid; rc=$?
wait
last=$(awk -F, 'NR > 1 && $4 != "" { l = $4; s = $1; e = $7 } END { print s, l, e }' "$T/tb.csv")
read -r ls llr le <<< "$last"
[ $rc = 0 ] && awk -v l="$llr" -v e="$le" 'BEGIN { exit !(l <= 1e-4 + 0.05 * (1e-2 - 1e-4) && e <= 9.5) }' &&
  grep -Eq "^(done|time budget spent): [0-9]* steps in .* tokens/s, 2 threads, OpenBLAS [A-Za-z0-9]*\)" "$T/tb.out" &&
  ok "--max-minutes 0.15 under load: last step $ls at lr $llr (min 1e-4, peak 1e-2), ended at ${le} s" ||
  fail "--max-minutes under load: exit $rc, last step $ls lr $llr at $le s; $(tail -2 "$T/tb.out" | tr '\n' '|') $(head -2 "$T/tb.err")"

# --init from a Hugging Face directory (tests/fixtures/hf_llama3_tiny with Meta's tokenizer.model):
# fine-tuning starts from its weights, N(0, 1) matrices whose loss is far from the ln(128256) =
# 11.76 nats of a fresh small init, with its tokenizer.model
HF="$T/llama3_tiny"; llama3_tiny_dir "$HF"
if [ -d "$HF" ]; then
  mkdir -p "$T/hf"
  $BIN/prepare --tokenizer "$HF/tokenizer.model" --pattern llama3 --out-dir "$T/hf" "$T/text.txt" 2> /dev/null
  $BIN/train --init "$HF" --data "$T/hf/train.bin" --val-data "$T/hf/val.bin" --seq 16 --batch 2 --steps 1 \
    --eval-every 0 --eval-batches 2 --sample-chars 0 --ckpt-dir "$T/hf/c" --threads 2 > "$T/hf.out" 2> "$T/hf.err"
  rc=$?
  v=$(sed -n 's/^final val loss \([0-9.]*\) nats.*/\1/p' "$T/hf.out")
  [ $rc = 0 ] && [ -n "$v" ] && awk -v v="$v" 'BEGIN { exit !(v > 13 && v < 1e3) }' && [ -f "$T/hf/c/model_00000001.bin" ] &&
    ok "--init Hugging Face dir: 1 step, val loss $v nats/token (its N(0,1) weights; a fresh init: 11.76), checkpoint written" ||
    fail "--init Hugging Face dir: exit $rc, val '$v': $(head -2 "$T/hf.err")"
fi

# a NaN gradient at step 7: stop naming the step and tensor, keep the step-4 checkpoint, resumable
SCRATCHLLAMA_DEBUG_NAN_AT=7 "${TRAIN[@]}" --ckpt-dir "$T/n" > "$T/n.out" 2> "$T/n.err"
rc=$?
[ $rc = 1 ] && [ "$(wc -l < "$T/n.err")" = 1 ] && grep -q '^train: step 7: gradient of wq\[0\] is not finite' "$T/n.err" &&
  [ "$(ls "$T/n" | grep -c '^state_')" = 1 ] && [ -f "$T/n/state_00000004.bin" ] &&
  ok "NaN gradient: exit 1, \"$(cat "$T/n.err")\", state_00000004.bin kept" ||
  fail "NaN gradient: exit $rc, $(head -2 "$T/n.err" | tr '\n' '|') $(ls "$T/n" | tr '\n' ' ')"
SCRATCHLLAMA_STOP_AT=6 $BIN/train --resume "$T/n" --threads 2 > "$T/n2.out" 2>&1 && grep -q 'stopped at SCRATCHLLAMA_STOP_AT' "$T/n2.out" &&
  ok "NaN gradient: the kept checkpoint resumes" || fail "NaN gradient: resume failed: $(tail -2 "$T/n2.out")"

# a full disk while saving: a clear error, the previous checkpoint survives (needs root for a
# small tmpfs; skipped, and not counted, where mounting is not allowed)
mkdir -p "$T/full"
if mount -t tmpfs -o size=600k tmpfs "$T/full" 2>/dev/null; then
  "${TRAIN[@]}" --ckpt-dir "$T/full" > "$T/full.out" 2> "$T/full.err"
  rc=$?
  [ $rc = 1 ] && [ "$(wc -l < "$T/full.err")" = 1 ] && grep -q 'No space left on device' "$T/full.err" &&
    [ -f "$T/full/state_00000004.bin" ] && ! ls "$T/full" | grep -q '\.tmp\.' &&
    SCRATCHLLAMA_STOP_AT=5 $BIN/train --resume "$T/full" --ckpt-dir "$T/full2" --threads 2 > /dev/null 2>&1 &&
    ok "disk full: exit 1, \"$(cat "$T/full.err")\"; no temp file left, step 4 checkpoint resumes" ||
    fail "disk full: exit $rc, $(head -2 "$T/full.err" | tr '\n' '|') $(ls "$T/full" | tr '\n' ' ')"
  umount "$T/full"
else
  echo "SKIP disk-full test: cannot mount a tmpfs here"
fi

# bad input: one line on stderr, exit 1
head -c 3000 "$T/a/model_00000020.bin" > "$T/trunc.bin"
INIT=("${BASE[@]}" --seq 32 --batch 4 --steps 2 --ckpt-dir "$T/d")
"${INIT[@]}" --init "$T/a/model_00000020.bin" > "$T/init.out" 2>&1 && grep -q '^eval step 2:' "$T/init.out" &&
  ok "--init from our checkpoint trains on: $(grep '^eval step 0' "$T/init.out")" || fail "--init: $(tail -2 "$T/init.out")"
rm -rf "$T/d"
expect_fail "--init truncated checkpoint" "${INIT[@]}" --init "$T/trunc.bin"
expect_fail "--init foreign file" "${INIT[@]}" --init "$T/text.txt"
expect_fail "--init with a shape flag" "${INIT[@]}" --init "$T/a/model_00000020.bin" --dim 64
mkdir -p "$T/e"
head -c 5000 "$T/a/state_00000020.bin" > "$T/e/state_00000020.bin"
cp "$T/a/model_00000020.bin" "$T/e/"
expect_fail "--resume with a truncated state" $BIN/train --resume "$T/e"
mkdir -p "$T/empty"
expect_fail "--resume of an empty directory" $BIN/train --resume "$T/empty"
expect_fail "--resume of a missing directory" $BIN/train --resume "$T/none"
expect_fail "fresh run into a directory that holds a run" "${TRAIN[@]}" --ckpt-dir "$T/a"
expect_fail "--resume changing --lr" $BIN/train --resume "$T/b" --lr 0.5
expect_fail "--lr abc" $BIN/train --lr abc
expect_fail "unknown flag" $BIN/train --no-such-flag
expect_fail "--data missing file" "${TRAIN[@]}" --ckpt-dir "$T/d" --data "$T/none.bin"
expect_fail "--tokenizer missing file" "${TRAIN[@]}" --ckpt-dir "$T/d" --tokenizer "$T/none.tiktoken"
expect_fail "--n-kv-heads not dividing --n-heads" "${TRAIN[@]}" --ckpt-dir "$T/d" --n-kv-heads 3
expect_fail "--seq 0" $BIN/train --seq 0
expect_fail "--ckpt-dir under a file" "${TRAIN[@]}" --ckpt-dir "$T/text.txt/ckpt"
expect_fail "--min-lr above --lr" "${TRAIN[@]}" --ckpt-dir "$T/d" --min-lr 0.5
expect_fail "--data a text file" "${TRAIN[@]}" --ckpt-dir "$T/d" --data "$T/text.txt"
expect_fail "prepare with a text file as the rank file" $BIN/prepare --tokenizer "$T/text.txt" "$T/text.txt"
$BIN/train --help | grep -q -- '--grad-clip X' && ok "--help lists the flags" || fail "--help"
summary
