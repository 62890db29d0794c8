#!/usr/bin/env bash
# tests/lora_test.sh — bin/train --lora end to end on the committed bf16 fixture
# (tests/fixtures/lora/base): 8 steps in one run == 4 + --resume + 4, bit for bit (dropout on);
# checkpoints hold only the adapters; bin/infer on a LoRA checkpoint generates what the merged
# export generates; bad flags, a base whose files changed, and broken adapter files get one line
# naming the problem and exit 1.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
T=$(mktemp -d /tmp/lora_test.XXXXXX)
trap 'rm -rf "$T"' EXIT
F=tests/fixtures/lora

# expect_msg "what" PATTERN CMD...: exit 1, one line on stderr, and it says PATTERN
expect_msg() {
  local what=$1 pat=$2; shift 2
  local err rc
  err=$("$@" 2>&1 >/dev/null); rc=$?
  if [ "$rc" = 1 ] && [ "$(printf '%s' "$err" | grep -c '')" = 1 ] && [[ $err == *"$pat"* ]]; then ok "$what: exit 1, \"$err\""
  else fail "$what: exit $rc, expected one line saying '$pat': $(printf '%s' "$err" | head -3 | tr '\n' '|')"; fi
}

cp -r $F/base "$T/base"   # a copy this test may change
DATA=(--data $F/train.bin --val-data $F/val.bin --batch 2 --seq 16 --eval-batches 1 --sample-chars 0 --threads 2)
TRAIN=($BIN/train --init "$T/base" --lora 4 --lora-alpha 16 --lora-targets q,v,o,down "${DATA[@]}" --steps 8 --warmup 2
       --lr 1e-2 --min-lr 1e-3 --dropout 0.1 --att-dropout 0.1 --eval-every 4 --ckpt-every 2)

"${TRAIN[@]}" --ckpt-dir "$T/a" --log "$T/a.csv" > "$T/a.out" 2> "$T/a.err"
rc=$?
[ $rc = 0 ] && grep -q '^LoRA: rank 4, alpha 16 (scale 4) on q,v,o,down: 2176 trainable parameters' "$T/a.out" &&
  ok "8-step LoRA run: exit 0, $(grep '^LoRA' "$T/a.out" | cut -c1-120)" || fail "LoRA run: exit $rc: $(head -3 "$T/a.err")"
# the checkpoint: the adapters (2176 f32) after a header, not the base
size=$(stat -c %s "$T/a/model_00000008.bin" 2>/dev/null)
hb=$(od -An -tu4 -j12 -N4 "$T/a/model_00000008.bin" 2>/dev/null | tr -d ' ')
[ -n "$size" ] && [ "$size" = $((hb + 4 * 2176)) ] && [ "$(head -c 6 "$T/a/model_00000008.bin")" = SLLORA ] &&
  ok "LoRA checkpoint: $size bytes, a $hb-byte header and the 2176 adapter floats (the base's safetensors: $(stat -c %s $F/base/model.safetensors) bytes)" ||
  fail "LoRA checkpoint size $size (header $hb)"

# 4 steps, stop, resume for the other 4: the same log and the same adapters
SCRATCHLLAMA_STOP_AT=4 "${TRAIN[@]}" --ckpt-dir "$T/b" --log "$T/b.csv" > /dev/null 2> "$T/b1.err"
$BIN/train --resume "$T/b" --threads 2 > "$T/b2.out" 2> "$T/b2.err"
rc=$?
if [ $rc = 0 ] && diff <(cut -d, -f1-5 "$T/a.csv") <(cut -d, -f1-5 "$T/b.csv") > /dev/null &&
   cmp -s "$T/a/model_00000008.bin" "$T/b/model_00000008.bin"; then
  ok "resume: losses, lr and grad norms of all 8 steps and the final adapters bit-identical (dropout 0.1 on both sites)"
else fail "resume: exit $rc: $(head -2 "$T/b2.err" | tr '\n' '|') $(diff <(cut -d, -f1-5 "$T/a.csv") <(cut -d, -f1-5 "$T/b.csv") | head -3 | tr '\n' '|')"; fi

# inference on the checkpoint (the base found by its path, the adapters applied) against the
# merged export (W + s B A in f32): the same greedy ids, and logits within float rounding
ids=1,17,200,5,99,42,7
a=$($BIN/infer "$T/a/model_00000008.bin" --prompt-ids $ids -n 16 --temperature 0 --dump-logits "$T/a.logits" 2> "$T/i.err")
$BIN/export "$T/a/model_00000008.bin" "$T/merged" --format hf --dtype f32 2> /dev/null
b=$($BIN/infer "$T/merged" --prompt-ids $ids -n 16 --temperature 0 --dump-logits "$T/m.logits" 2> /dev/null)
c=$($BIN/infer "$T/base" --prompt-ids $ids -n 16 --temperature 0 2> /dev/null)
d=$(cmp -l "$T/a.logits" "$T/m.logits" 2>/dev/null | wc -l)
[ -n "$a" ] && [ "$a" = "$b" ] && [ "$a" != "$c" ] &&
  ok "bin/infer on the LoRA checkpoint = bin/infer on its merged f32 export: '$a' (the base alone: '$c'; $d of 1024 logit bytes differ in rounding)" ||
  fail "infer: checkpoint '$a', merged '$b', base '$c': $(head -2 "$T/i.err")"
$BIN/export "$T/a/model_00000008.bin" "$T/peft" --format peft 2> /dev/null &&
  grep -q "\"base_model_name_or_path\":.*\"$T/base\"" "$T/peft/adapter_config.json" &&
  grep -q '"target_modules":.*\["q_proj", "v_proj", "o_proj", "down_proj"\]' "$T/peft/adapter_config.json" &&
  grep -q '"lora_alpha":.*16' "$T/peft/adapter_config.json" &&
  ok "bin/export --format peft: adapter_config.json names the base, r, lora_alpha 16, the four target modules" ||
  fail "peft export: $(tr -d '\n\t' < "$T/peft/adapter_config.json" | cut -c1-300)"

# ---- bad input ----
expect_msg "--lora 0" "the rank must be at least 1" $BIN/train --init "$T/base" --lora 0 "${DATA[@]}" --ckpt-dir "$T/x"
expect_msg "--lora -2" "--lora: expected an integer in [0, 65536]" $BIN/train --init "$T/base" --lora -2 "${DATA[@]}" --ckpt-dir "$T/x"
expect_msg "--lora abc" "--lora: expected an integer" $BIN/train --init "$T/base" --lora abc "${DATA[@]}" --ckpt-dir "$T/x"
expect_msg "--lora without --init" "--lora needs --init MODEL" $BIN/train --lora 4 "${DATA[@]}" --ckpt-dir "$T/x"
expect_msg "--lora-alpha 0" "--lora-alpha: expected a number in (0" $BIN/train --init "$T/base" --lora 4 --lora-alpha 0 "${DATA[@]}" --ckpt-dir "$T/x"
expect_msg "--lora-alpha without --lora" "need --lora R" $BIN/train --init "$T/base" --lora-alpha 4 "${DATA[@]}" --ckpt-dir "$T/x"
expect_msg "--lora-targets q,lm_head" 'unknown target "lm_head"' $BIN/train --init "$T/base" --lora 4 --lora-targets q,lm_head "${DATA[@]}" --ckpt-dir "$T/x"
expect_msg "--lora 20 on k_proj (16 outputs)" "rank 20 is larger than self_attn.k_proj's 16 output features" \
  $BIN/train --init "$T/base" --lora 20 --lora-targets k "${DATA[@]}" --ckpt-dir "$T/x"
expect_msg "--lora-init with --lora" "leave out --lora" $BIN/train --init "$T/base" --lora 4 --lora-init $F/adapter "${DATA[@]}" --ckpt-dir "$T/x"
expect_msg "--lora-init of a missing folder" "adapter_config.json: cannot open: No such file" $BIN/train --init "$T/base" --lora-init "$T/none" "${DATA[@]}" --ckpt-dir "$T/x"
mkdir -p "$T/rs" && cp $F/adapter/* "$T/rs/" && sed -i 's/"use_rslora": false/"use_rslora": true/' "$T/rs/adapter_config.json"
expect_msg "--lora-init with use_rslora" '"use_rslora" is set' $BIN/train --init "$T/base" --lora-init "$T/rs" "${DATA[@]}" --ckpt-dir "$T/x"
mkdir -p "$T/r8" && cp $F/adapter/* "$T/r8/" && sed -i 's/"r": 4,/"r": 8,/' "$T/r8/adapter_config.json"
expect_msg "--lora-init whose r is not its tensors' rank" "expected F32/BF16/F16 (8, 32)" $BIN/train --init "$T/base" --lora-init "$T/r8" "${DATA[@]}" --ckpt-dir "$T/x"
expect_msg "--init a LoRA checkpoint" "a LoRA checkpoint is not a base" $BIN/train --init "$T/a/model_00000008.bin" --lora 4 "${DATA[@]}" --ckpt-dir "$T/x"
expect_msg "--format peft of a model that is not a LoRA checkpoint" "--format peft needs a LoRA checkpoint" $BIN/export "$T/base" "$T/p2" --format peft
head -c 300 "$T/a/model_00000008.bin" > "$T/trunc.bin"
expect_msg "truncated LoRA checkpoint" "trunc.bin: 300 bytes, expected" $BIN/infer "$T/trunc.bin" --prompt-ids 1 -n 1
# the base changes under the adapters: resume, inference and export all refuse it
printf '\x01' | dd of="$T/base/model.safetensors" bs=1 seek=3000 conv=notrunc 2> /dev/null
expect_msg "--resume after the base changed" "changed since the adapters were trained" $BIN/train --resume "$T/b" --steps 10 --threads 2
expect_msg "bin/infer after the base changed" "changed since the adapters were trained" $BIN/infer "$T/a/model_00000008.bin" --prompt-ids 1 -n 1
expect_msg "bin/export after the base changed" "changed since the adapters were trained" $BIN/export "$T/a/model_00000008.bin" "$T/m2" --format hf
rm -rf "$T/base"
expect_msg "bin/infer with the base gone" "$T/base: No such file or directory" $BIN/infer "$T/a/model_00000008.bin" --prompt-ids 1 -n 1
summary
