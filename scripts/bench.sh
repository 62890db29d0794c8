#!/usr/bin/env bash
# scripts/bench.sh — `make bench`: scratchllama's speed as ratios to this machine's limits.
#
# Runs every measurement (each program under /usr/bin/time for its peak RSS), keeping the raw
# output in bench/run/, then tools/bench_report.py turns it into a table and bench/results.json.
# Limits and speeds come from the same run, because absolute times on shared machines drift.
#
#   1. limits      bin/bench-limits: sgemm GFLOP/s at the presets' training shapes and at the 1B
#                  prefill shapes; memory read/triad GB/s over >= 1 GiB
#   2. training    bin/train --preset tiny|small at B x T = 8 x 256 (random-token shards)
#   3. PyTorch     tools/torch_peer.py, the same step at the same shapes and threads
#   4. inference   bin/infer on a random Llama-3.2-1B-shaped bf16 checkpoint and on the tiny
#                  checkpoint step 2 wrote (decode, 512-token prefill); bin/bench-decode for the
#                  KV cache vs recompute at 256 tokens
#   4b. quantized  the same 1B checkpoint quantized to Q8_0 and Q4_0 at load: bin/bench-gemv's decode
#                  steps against the memory read in one process, and a 512-token prefill in Q8_0
#   4c. perplexity bin/infer --perplexity on held-out Shakespeare (data/shakespeare/val.txt, made by
#                  make train) for make train's checkpoint and, when it is there, the trained
#                  shakespeare-llama3-tiny beside the project: as stored, bf16, Q8_0, Q4_0, Q4_0 + AWQ
#                  (calibrated on the first 200 KB of the train split)
#   5. tokenizer   bin/tokenize --bench per encoding and tokenizer.json; one-character runs (50 MB of
#                  "a", 10 MB of spaces); bin/bpe-train for 4,096 merges
#   6. kascade     bin/bench-kascade: Kascade against dense attention in one process, 16 layers of
#                  the 1B attention shape at 4,096 keys, and decode on the 1B checkpoint at 8,192;
#                  perplexity dense vs Kascade at 512 on checkpoints/kascade_hf1024 when it exists
#                  (docs/kascade.md says how it is made; a fresh clone has none: the row says so)
#
# Environment: BENCH_THREADS (default 2), BENCH_REPS (default 5), BENCH_PAIRS (runs of tiny
# training and of 1B decode, each between two limit measurements; default 5), BENCH_STEP_PAIRS
# (training steps and decode tokens, each beside a limit pass in one process; default 40),
# BENCH_TORCH_PAIRS (tiny runs of ours and of PyTorch in turn; default 3), BENCH_VOCAB (training vocab;
# default: that of data/shakespeare/bpe.tiktoken if make train made one, else 1024),
# BENCH_PRIORITY=1 to run at autogroup niceness -20 on a shared machine (below),
# BENCH_SKIP_1B=1 to leave the 2.5 GB checkpoint out, BENCH_ONLY="limits tokenizer ..." to run
# only some sections (limits training torch inference quant perplexity tokenizer kascade), BENCH_PPL_MODEL (the
# checkpoint for 4c; default checkpoints/model_best.bin). OPENBLAS_CORETYPE is passed through as the
# user set it, never changed.
set -uo pipefail
cd "$(dirname "$0")/.."

# BENCH_PRIORITY=1: on a machine other work shares, run the whole bench in its own session with
# the scheduler's autogroup niceness at -20 (root only), so it gets the cores while it runs. The
# memory bus is still shared: the limits measured in the same run absorb that.
if [ "${BENCH_PRIORITY:-0}" = 1 ] && [ -z "${BENCH_PRIORITY_SET:-}" ]; then
    export BENCH_PRIORITY_SET=1
    exec setsid bash -c 'echo -20 >/proc/self/autogroup && exec "$0" "$@"' "$0" "$@"
fi

THREADS=${BENCH_THREADS:-2}
REPS=${BENCH_REPS:-5}
PAIRS=${BENCH_PAIRS:-5}
STEP_PAIRS=${BENCH_STEP_PAIRS:-40}
TORCH_PAIRS=${BENCH_TORCH_PAIRS:-3}
RUN=bench/run
PY=/usr/bin/python3            # Debian's python3, where python3-torch and numpy live
TOK_DIR=${TOKENIZER_DIR:-data/tokenizers}
MODEL_1B=bench/models/llama-3.2-1b-random
export OMP_NUM_THREADS=$THREADS # OpenMP and OpenBLAS (which reads it too) use the same count
rm -rf "$RUN" && mkdir -p "$RUN"

say() { echo "bench: $*" >&2; }
# timed NAME CMD...: stdout -> RUN/NAME.out, stderr -> RUN/NAME.err, "peak-RSS-KiB elapsed-s" ->
# RUN/NAME.rss, exit status -> RUN/NAME.rc. A failing step is recorded, and the bench goes on.
# Each run is stopped after TMO seconds (default 300; exit 124, reported as "timed out"); a
# repeated run that timed out is not repeated.
timed() {
    local name=$1; shift
    local tmo=${TMO:-300}
    timeout "$tmo" /usr/bin/time -f "%M %e" -o "$RUN/$name.rss" "$@" >"$RUN/$name.out" 2>"$RUN/$name.err"
    local rc=$?
    echo $rc >"$RUN/$name.rc"
    echo "$tmo" >"$RUN/$name.tmo"
    if [ $rc -eq 124 ]; then say "$name timed out after $tmo s"
    elif [ $rc -ne 0 ]; then say "$name failed (exit $rc): $(tail -n 1 "$RUN/$name.err")"; fi
    return $rc
}
have() { [ -x "$1" ]; }
# BENCH_ONLY="limits training torch inference quant perplexity tokenizer kascade" (any subset) runs only those
want() { [ -z "${BENCH_ONLY:-}" ] || [[ " $BENCH_ONLY " == *" $1 "* ]]; }
start=$(date +%s)
# other work on the machine skews every number: record the load before and after
cut -d' ' -f1-3 /proc/loadavg >"$RUN/loadavg_start"
cat /proc/self/autogroup >"$RUN/autogroup" 2>/dev/null

# ---- setup: numpy/torch for Debian's python3 --------------------------------------------------
if ! $PY -c 'import numpy' 2>/dev/null || ! $PY -c 'import torch' 2>/dev/null; then
    say "installing python3-numpy python3-torch (Debian; python3-torch is big, several hundred MB)"
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        python3-numpy python3-torch >&2 || say "could not install python3-torch: PyTorch row skipped"
fi

# ---- training data: random tokens in llm.c's shard format --------------------------------------
# A step's speed does not depend on the tokens, and random shards need no tokenizer or corpus.
VOCAB=${BENCH_VOCAB:-}
if [ -z "$VOCAB" ] && [ -f data/shakespeare/bpe.tiktoken ]; then
    VOCAB=$(grep -c . data/shakespeare/bpe.tiktoken)
fi
VOCAB=${VOCAB:-1024}
$PY - "$RUN" "$VOCAB" <<'EOF'
import sys, numpy as np
run, V = sys.argv[1], int(sys.argv[2])
for name, n in (("train", 1 << 20), ("val", 1 << 16)):
    tok = np.random.default_rng(1).integers(0, V, n).astype(np.uint16 if V <= 65535 else np.uint32)
    tok[0] = V - 1                                        # the vocabulary is max id + 1
    hdr = np.zeros(256, dtype=np.int32)
    hdr[:3] = (20240520, 1, n) if V <= 65535 else (20240801, 7, n)
    with open(f"{run}/{name}.bin", "wb") as f:
        f.write(hdr.tobytes()); f.write(tok.tobytes())
EOF

# ---- 2. training --------------------------------------------------------------------------------
# The presets' shapes at B x T = 8 x 256, and the same regularization in both programs: residual
# dropout 0.1 (the presets train with 0.05 and 0.1; the cost is the same), no dropout on the
# attention probabilities (tools/torch_peer.py has none; the tiny preset trains with 0.1, which
# make train's tok/s includes), AdamW weight decay 0.1 on matrices, clipping at 1.0. The tok/s of
# each step goes to the CSV log; the report takes the median over the steps after the first two.
TRAIN_STEPS=${BENCH_TRAIN_STEPS:-12}
REG="--dropout 0.1 --att-dropout 0 --weight-decay 0.1 --grad-clip 1.0"
# train_run NAME PRESET STEPS CKPT [VAR=VALUE ...]: one such run of bin/train on the random
# shards, with the environment given, its per-step log in RUN/NAME.csv and checkpoints in CKPT
train_run() {
    local name=$1 preset=$2 steps=$3 ckpt=$4
    shift 4
    timed "$name" env "$@" bin/train --preset "$preset" --batch 8 --seq 256 --steps "$steps" \
        --threads "$THREADS" --data $RUN/train.bin --val-data $RUN/val.bin --tokenizer "" \
        --eval-every 0 --eval-batches 1 --sample-every 0 --ckpt-every 0 --keep-last 1 \
        --ckpt-dir "$ckpt" --log $RUN/$name.csv $REG
}
for preset in tiny small; do
    steps=$TRAIN_STEPS; [ $preset = small ] && steps=$(( TRAIN_STEPS * 2 / 3 ))
    if have bin/train && want training; then
        say "training $preset: $steps steps at 8 x 256"
        train_run train_$preset $preset $steps $RUN/ckpt_$preset
    fi
done

# The same tiny run with OMP_WAIT_POLICY=PASSIVE: how much OpenMP's spin-waiting (against
# OpenBLAS's own threads) costs. The table's targets use the default environment above.
if have bin/train && want training; then
    say "training tiny again with OMP_WAIT_POLICY=PASSIVE"
    train_run train_tiny_passive tiny $TRAIN_STEPS $RUN/ckpt_tiny_passive OMP_WAIT_POLICY=PASSIVE
fi

# the shape a preset ran at, from bin/train's "model: ..." line, as flags for the other programs
# ("--dim 128 --n-layers 4 --n-heads 4 --n-kv-heads 2 --hidden-dim 384")
shape() { $PY tools/bench_report.py --shape "$RUN/train_$1.out"; }

# ---- 1. limits ----------------------------------------------------------------------------------
if have bin/bench-limits && want limits; then
    tiny_shape=$(shape tiny) || tiny_shape=""
    small_shape=$(shape small) || small_shape=""
    [ -n "$tiny_shape" ] || say "no tiny shape from bin/train: sgemm measured at bench-limits' defaults"
    say "limits: sgemm at the tiny training shapes + memory bandwidth"
    timed limits_tiny bin/bench-limits --rows 2048 $tiny_shape --vocab "$VOCAB" --reps "$REPS"
    if [ -n "$small_shape" ]; then
        say "limits: sgemm at the small training shapes"
        timed limits_small bin/bench-limits --rows 2048 $small_shape --vocab "$VOCAB" --reps "$REPS" --no-mem
    fi
    # tiny training and its sgemm ceiling alternately, PAIRS pairs (sgemm_1 train_1 sgemm_2 ...
    # sgemm_PAIRS+1), so each run is compared with the ceiling measured next to it, not minutes away
    if [ -n "$tiny_shape" ] && have bin/train && want training; then
        say "training tiny between sgemm measurements, $PAIRS times"
        timed sgemm_tiny_1 bin/bench-limits --rows 2048 $tiny_shape --vocab "$VOCAB" --reps 3 --no-mem
        for r in $(seq "$PAIRS"); do
            train_run train_tiny_pair_$r tiny $TRAIN_STEPS $RUN/ckpt_tiny_pair
            rm -rf $RUN/ckpt_tiny_pair
            timed sgemm_tiny_$((r + 1)) bin/bench-limits --rows 2048 $tiny_shape --vocab "$VOCAB" --reps 3 --no-mem
        done
        # and, tighter: the same step and the same sgemms in turn within one process, a fraction
        # of a second apart, STEP_PAIRS times (bench-limits --train-steps)
        say "tiny training step against its sgemm pass in one process, $STEP_PAIRS pairs"
        timed step_tiny bin/bench-limits --rows 2048 $tiny_shape --vocab "$VOCAB" --reps 3 --no-mem \
            --train-steps "$STEP_PAIRS"
    fi
    say "limits: sgemm at the 1B prefill shapes (512 rows, forward, no head)"
    timed limits_1b bin/bench-limits --rows 512 --seq 512 --dim 2048 --n-layers 16 --n-heads 32 --n-kv-heads 8 \
        --head-dim 64 --hidden-dim 8192 --vocab 128256 --fwd-only --no-head --no-mem --reps 3
fi

# ---- 3. PyTorch peer ----------------------------------------------------------------------------
# torch_run NAME SHAPE STEPS: tools/torch_peer.py at SHAPE (shape's flags), with REG and
# OMP_WAIT_POLICY=PASSIVE
torch_run() {
    timed "$1" env OMP_WAIT_POLICY=PASSIVE $PY tools/torch_peer.py $2 --vocab "$VOCAB" \
        --batch 8 --seq 256 --steps "$3" --warmup 2 --threads "$THREADS" $REG
}
if want torch && $PY -c 'import torch' 2>/dev/null; then
    for preset in tiny small; do
        s=$(shape $preset) || continue
        steps=$TRAIN_STEPS; [ $preset = small ] && steps=$(( TRAIN_STEPS * 2 / 3 ))
        say "PyTorch $preset: $steps steps at 8 x 256 (OMP_WAIT_POLICY=PASSIVE)"
        torch_run torch_$preset "$s" "$steps"
    done
    # ours and PyTorch on tiny in turn, TORCH_PAIRS times: a ratio per pair of neighbouring runs,
    # so that one run slowed by the machine (the rows above each rest on a single run) moves one
    # ratio, not the table's
    s=$(shape tiny)
    if [ -n "$s" ] && have bin/train; then
        say "ours and PyTorch on tiny in turn, $TORCH_PAIRS pairs of $TRAIN_STEPS steps"
        for r in $(seq 1 "$TORCH_PAIRS"); do
            train_run vs_torch_ours_$r tiny $TRAIN_STEPS $RUN/ckpt_vs_torch
            rm -rf $RUN/ckpt_vs_torch
            torch_run vs_torch_torch_$r "$s" "$TRAIN_STEPS"
        done
    fi
fi

# ---- 4. inference -------------------------------------------------------------------------------
ids() { $PY -c "import random,sys; r=random.Random(int(sys.argv[3])); print(' '.join(str(r.randrange(int(sys.argv[1]))) for _ in range(int(sys.argv[2]))))" "$@"; }
if have bin/infer && want inference; then
    if [ "${BENCH_SKIP_1B:-0}" != 1 ]; then
        $PY tools/make_random_hf.py --out $MODEL_1B || say "could not write $MODEL_1B"
    fi
    if [ -f $MODEL_1B/model.safetensors ] && [ "${BENCH_SKIP_1B:-0}" != 1 ]; then
        cat $MODEL_1B/model.safetensors >/dev/null   # into the page cache: time compute, not disk
        # Each decode run sits between two bandwidth measurements (mem_1 decode_1 mem_2 decode_2
        # ... mem_PAIRS+1): this machine's memory bandwidth drifts by tens of percent within minutes, so
        # each run is compared with the bandwidth measured just before and after it.
        say "1B bf16: decode 32 tokens after a 16-token prompt, $PAIRS times, between bandwidth measurements"
        if have bin/bench-limits; then timed mem_1 bin/bench-limits --no-gemm --reps 3; fi
        for r in $(seq "$PAIRS"); do
            TMO=120 timed infer1b_decode_$r bin/infer $MODEL_1B --prompt-ids "$(ids 128256 16 $r)" -n 32 \
                --temperature 0 --ctx 64 --threads "$THREADS" || [ $? -ne 124 ] || break
            if have bin/bench-limits; then timed mem_$((r + 1)) bin/bench-limits --no-gemm --reps 3; fi
        done
        if have bin/bench-gemv; then
            say "1B bf16: one token's gemvs against plain reads, then $STEP_PAIRS decode steps against the memory read, alternating in one process"
            TMO=300 timed gemv_1b bin/bench-gemv $MODEL_1B --reps 7 --decode-steps "$STEP_PAIRS"
        fi
        say "1B bf16: the same decode with OMP_WAIT_POLICY=PASSIVE, 3 times"
        for r in 1 2 3; do
            TMO=120 timed infer1b_passive_$r env OMP_WAIT_POLICY=PASSIVE bin/infer $MODEL_1B \
                --prompt-ids "$(ids 128256 16 $r)" -n 32 --temperature 0 --ctx 64 --threads "$THREADS" \
                || [ $? -ne 124 ] || break
        done
        say "1B bf16: prefill a 512-token prompt, 2 times"
        for r in 1 2; do
            TMO=200 timed infer1b_prefill_$r bin/infer $MODEL_1B --prompt-ids "$(ids 128256 512 $r)" -n 1 \
                --temperature 0 --ctx 520 --threads "$THREADS" || [ $? -ne 124 ] || break
        done
    fi
    ck=$(ls $RUN/ckpt_tiny/model_*.bin 2>/dev/null | grep -v best | head -n 1)
    if [ -n "$ck" ]; then
        say "tiny ($ck): decode 200 tokens, prefill 255, $REPS times"
        for r in $(seq "$REPS"); do
            timed infertiny_decode_$r bin/infer "$ck" --prompt-ids "$(ids "$VOCAB" 16 $r)" -n 200 \
                --temperature 0 --threads "$THREADS"
            timed infertiny_prefill_$r bin/infer "$ck" --prompt-ids "$(ids "$VOCAB" 255 $r)" -n 1 \
                --temperature 0 --threads "$THREADS"
        done
    fi
fi
if have bin/bench-decode && want inference; then
    s=$(shape tiny) || s=""
    say "KV cache vs recompute at 256 tokens (tiny shapes)"
    TMO=120 timed kv_tiny bin/bench-decode $s --vocab "$VOCAB" --kv-only --prompt 16 --kv-len 256 \
        --reps 3 --max-seconds 30
fi

# ---- 4b. quantized weights ----------------------------------------------------------------------
if [ -f $MODEL_1B/model.safetensors ] && [ "${BENCH_SKIP_1B:-0}" != 1 ] && want quant; then
    cat $MODEL_1B/model.safetensors >/dev/null
    if have bin/bench-gemv; then
        for q in q8_0 q4_0; do
            say "1B $q: one token's products against plain reads, then $STEP_PAIRS decode steps against the memory read, in turn in one process"
            TMO=300 timed gemv_1b_$q bin/bench-gemv $MODEL_1B --reps 3 --decode-steps "$STEP_PAIRS" --quant $q
        done
    fi
    if have bin/infer; then
        say "1B q8_0: prefill a 512-token prompt, 2 times"
        for r in 1 2; do
            TMO=200 timed infer1b_q8_0_prefill_$r bin/infer $MODEL_1B --quant q8_0 --prompt-ids "$(ids 128256 512 $r)" \
                -n 1 --temperature 0 --ctx 520 --threads "$THREADS" || [ $? -ne 124 ] || break
        done
    fi
fi

# ---- 4c. perplexity of the quantized formats -----------------------------------------------------
# ppl_runs NAME MODEL: the model as stored, then --quant q8_0, q4_0, and q4_0 with --awq
ppl_runs() {
    local name=$1 model=$2 q
    local -a f
    for q in stored q8_0 q4_0 awq; do
        case $q in stored) f=();; awq) f=(--quant q4_0 --awq "$RUN/calib.txt");; *) f=(--quant $q);; esac
        TMO=600 timed ppl_${name}_$q bin/infer "$model" --perplexity data/shakespeare/val.txt --ctx 256 \
            --threads "$THREADS" "${f[@]}"
    done
}
CK=${BENCH_PPL_MODEL:-checkpoints/model_best.bin}
HF_TINY=${SHARED_DIR:-../shared}/models/shakespeare-llama3-tiny
if have bin/infer && want perplexity && [ -f data/shakespeare/val.txt ] && [ -f data/shakespeare/train.txt ]; then
    head -c 200000 data/shakespeare/train.txt > "$RUN/calib.txt"
    if [ -f "$CK" ]; then
        say "perplexity of $CK on data/shakespeare/val.txt: f32, bf16, q8_0, q4_0, q4_0 + AWQ"
        ppl_runs ckpt "$CK"
        # bf16: the checkpoint exported as a Hugging Face folder with bf16 weights
        if have bin/export && bin/export "$CK" "$RUN/ckpt_bf16" --format hf --dtype bf16 2>"$RUN/export_bf16.err"; then
            TMO=600 timed ppl_ckpt_bf16 bin/infer "$RUN/ckpt_bf16" --perplexity data/shakespeare/val.txt --ctx 256 \
                --threads "$THREADS"
        fi
    fi
    if [ -f "$HF_TINY/config.json" ]; then
        say "perplexity of $HF_TINY (bf16) on data/shakespeare/val.txt: bf16, q8_0, q4_0, q4_0 + AWQ"
        ppl_runs hftiny "$HF_TINY"
    fi
fi

# ---- 5. tokenizer -------------------------------------------------------------------------------
TEXT=data/tinyshakespeare.txt
if have bin/tokenize && [ -f "$TEXT" ] && want tokenizer; then
    scripts/fetch_tokenizers.sh || true
    for enc in gpt2/r50k_base cl100k/cl100k_base llama3/tokenizer.model; do
        f=$TOK_DIR/$enc; [ -f "$f" ] || f=$TOK_DIR/$enc.tiktoken
        [ -f "$f" ] || continue
        name=$(basename "$enc" .model); name=${name%.tiktoken}
        [ "$name" = tokenizer ] && name=llama3
        say "tokenize --bench $name"
        for r in 1 2 3; do timed tok_${name}_$r bin/tokenize --encoding "$f" --bench <"$TEXT"; done
    done
    # Hugging Face tokenizer.json (data/hf_tokenizer.c): Llama 3 byte-level, Llama 2 SentencePiece-style
    for fam in llama3 llama2; do
        f=$TOK_DIR/$fam/tokenizer.json; [ -f "$f" ] || continue
        say "tokenize --bench ${fam} tokenizer.json"
        for r in 1 2 3; do timed tok_${fam}_json_$r bin/tokenize --tokenizer "$f" --bench <"$TEXT"; done
    done
fi
# one character repeated: a single pre-token piece of 50 MB ("a") or 10 MB (spaces); data/tiktoken.c
# encodes it in slices of 25,000 characters, so time and memory stay linear in the input
f=$TOK_DIR/llama3/tokenizer.model
if have bin/tokenize && [ -f "$f" ] && want tokenizer; then
    head -c 50000000 /dev/zero | tr '\0' a >"$RUN/run_a.txt"
    head -c 10000000 /dev/zero | tr '\0' ' ' >"$RUN/run_space.txt"
    say "tokenize 50 MB of \"a\" and 10 MB of spaces (llama3)"
    timed tok_run_a bin/tokenize --encoding "$f" --count <"$RUN/run_a.txt"
    timed tok_run_space bin/tokenize --encoding "$f" --count <"$RUN/run_space.txt"
    rm -f "$RUN/run_a.txt" "$RUN/run_space.txt"
fi
if have bin/bpe-train && [ -f "$TEXT" ] && want tokenizer; then
    # 4,096 merges: 256 byte tokens + 4,096 merges = a 4,352-token vocabulary
    say "bpe-train: 4,096 merges on tiny Shakespeare, 3 times"
    for r in 1 2 3; do
        timed bpe_$r bin/bpe-train --vocab 4352 --quiet --out $RUN/bpe4096.tiktoken "$TEXT"
    done
fi

# ---- 6. Kascade sparse attention ------------------------------------------------------------
# Dense and Kascade in turn within one process (bin/bench-kascade), so their ratio holds on a busy
# machine. Schedule for speed: anchors every 5th layer (4 of 16), tile 16, top-k 8.
if have bin/bench-kascade && want kascade; then
    say "Kascade: 16 layers' attention at 4,096 keys, dense and Kascade in turn"
    timed kascade_attn bin/bench-kascade --ctx 4096 --reps "$REPS"
    if [ -f $MODEL_1B/model.safetensors ]; then
        say "Kascade: 1B bf16 decode at position 8,191, dense and Kascade in turn"
        TMO=600 timed kascade_decode bin/bench-kascade --model $MODEL_1B --decode-ctx 8192 --reps "$REPS"
    fi
    # perplexity with the schedule calibrated on the train split (settings: docs/kascade.md)
    KM=checkpoints/kascade_hf1024; KV=data/shakespeare/val.txt
    if [ -f $KM/config.json ] && [ -f $KV ] && [ -f data/shakespeare/train.txt ] && have bin/kascade-calibrate; then
        say "Kascade: calibrate on $KM, then perplexity at 512, dense and Kascade"
        TMO=900 timed kascade_calib bin/kascade-calibrate $KM data/shakespeare/train.txt --out $RUN/kascade.json \
            --ctx 1024 --tile 16 --top-k 4 --threads "$THREADS"
        TMO=900 timed kascade_ppl_dense bin/infer $KM --perplexity $KV --ctx 512 --threads "$THREADS"
        TMO=900 timed kascade_ppl_sparse bin/infer $KM --perplexity $KV --ctx 512 --threads "$THREADS" \
            --attention kascade --kascade-schedule $RUN/kascade.json
    else
        echo "$KM or data/shakespeare/ missing: docs/kascade.md says how to make the model" >"$RUN/kascade_ppl.skip"
        say "Kascade perplexity skipped: $(cat "$RUN/kascade_ppl.skip")"
    fi
fi

cut -d' ' -f1-3 /proc/loadavg >"$RUN/loadavg_end"
echo $(( $(date +%s) - start )) >"$RUN/elapsed_s"
say "done in $(cat "$RUN/elapsed_s") s"
$PY tools/bench_report.py --run "$RUN" --out bench/results.json --threads "$THREADS" --vocab "$VOCAB"
