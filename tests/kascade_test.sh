#!/usr/bin/env bash
# tests/kascade_test.sh — Kascade as programs: bin/kascade-calibrate writes a schedule that
# bin/infer --attention kascade reads, for --perplexity and generation; a schedule keeping every
# tile gives dense attention's perplexity exactly; bad flags and schedules end in one line, exit 1.
# (The attention itself is checked in tests/test_kascade.c.)
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
I=$BIN/infer; K=$BIN/kascade-calibrate
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
M=$tmp/llama3_tiny; llama3_tiny_dir "$M"   # Llama 3 vocabulary, 2 layers of 2 heads, random weights
head -c 20000 "$CORPUS" > "$tmp/text.txt"

$K "$M" "$tmp/text.txt" --out "$tmp/s.json" --ctx 256 --tile 16 --top-k 2 --threshold 1 2>"$tmp/err"; rc=$?
[ $rc = 0 ] && grep -q '"anchors":\s*\[0\]' "$tmp/s.json" && grep -q '"source":\s*0' "$tmp/s.json" &&
  grep -q "query blocks of 8 chunks of 256 tokens; 1 of 2 layers anchors: 0; wrote" "$tmp/err" &&
  ok "kascade-calibrate --threshold 1: layer 1 reuses anchor 0 ($(cat "$tmp/err"))" ||
  fail "kascade-calibrate: exit $rc, $(cat "$tmp/err"), $(tr -d '\n ' < "$tmp/s.json")"
$K "$M" "$tmp/text.txt" --out "$tmp/s0.json" --ctx 256 --tile 16 --top-k 2 --threshold 0 2>/dev/null &&
  grep -q '"anchors":\s*\[0,\s*1\]' "$tmp/s0.json" && ok "kascade-calibrate --threshold 0: both layers anchors" ||
  fail "--threshold 0: $(tr -d '\n ' < "$tmp/s0.json")"

dense=$($I "$M" --perplexity "$tmp/text.txt" --ctx 256 2>/dev/null)
sed 's/"top_k":\s*2/"top_k": 1000/' "$tmp/s.json" > "$tmp/all.json"
all=$($I "$M" --perplexity "$tmp/text.txt" --ctx 256 --attention kascade --kascade-schedule "$tmp/all.json" 2>/dev/null)
# the same numbers up to float rounding (the gathered keys' softmax sums run in another order)
[ -n "$dense" ] && awk -v d="$dense" -v a="$all" 'BEGIN { split(d, x, " "); n = split(a, y, "\n"); split(y[1], z, " ");
    r = (z[2] - x[2]) / x[2]; exit !(z[1] == "perplexity" && (r < 0 ? -r : r) < 1e-6 && z[4] == x[4] &&
    y[2] == "sparsity 0.0% (tiles skipped in reuse layers)") }' &&
  ok "--perplexity, every tile kept: \"$(echo $all)\" against dense's \"$dense\" (rel tol 1e-6)" ||
  fail "all tiles: dense '$dense', kascade '$all'"
sp=$($I "$M" --perplexity "$tmp/text.txt" --ctx 256 --attention kascade --kascade-schedule "$tmp/s.json" 2>/dev/null)
pct=$(printf '%s\n' "$sp" | awk '$1 == "sparsity" { print $2 + 0 }')
[ -n "$pct" ] && awk -v p="$pct" 'BEGIN { exit !(p > 40 && p < 100) }' && [ "$(printf '%s\n' "$sp" | head -1)" != "$dense" ] &&
  ok "--perplexity, top-k 2 of 16 tiles: $(echo $sp)" || fail "kascade perplexity: '$sp'"
out=$($I "$M" --prompt "ROMEO:" --temperature 0 -n 150 --attention kascade --kascade-schedule "$tmp/s.json" 2>"$tmp/err"); rc=$?
[ $rc = 0 ] && [[ $out == ROMEO:* ]] && grep -q "^infer: sparsity [1-9][0-9.]*% (tiles skipped in reuse layers)" "$tmp/err" &&
  ok "generation with --attention kascade: $(grep sparsity "$tmp/err")" || fail "kascade generation: exit $rc, $(cat "$tmp/err")"

# ---- bad input ----
expect_fail "--attention kascade without a schedule" $I "$M" --prompt x --attention kascade
expect_fail "--kascade-schedule without --attention kascade" $I "$M" --prompt x --kascade-schedule "$tmp/s.json"
expect_fail "--attention unknown" $I "$M" --prompt x --attention sparse
printf '{"tile": 16, "top_k": 8, "layers": [{"source": 0, "heads": [0, 0]}]}' > "$tmp/bad.json"
expect_fail "a schedule for another layer count" $I "$M" --prompt x --attention kascade --kascade-schedule "$tmp/bad.json"
printf '{"tile": 16, "top_k"' > "$tmp/trunc.json"
expect_fail "a truncated schedule" $I "$M" --prompt x --attention kascade --kascade-schedule "$tmp/trunc.json"
expect_fail "a missing schedule" $I "$M" --prompt x --attention kascade --kascade-schedule "$tmp/none.json"
expect_fail "--attention-png with kascade" $I "$M" --prompt x --attention kascade --kascade-schedule "$tmp/s.json" --attention-png "$tmp/a.png"
expect_fail "kascade-calibrate without --out" $K "$M" "$tmp/text.txt"
expect_fail "kascade-calibrate without TEXT" $K "$M" --out "$tmp/x.json"
expect_fail "kascade-calibrate on a missing text" $K "$M" "$tmp/none.txt" --out "$tmp/x.json"
expect_fail "kascade-calibrate --tile 0" $K "$M" "$tmp/text.txt" --out "$tmp/x.json" --tile 0
expect_fail "kascade-calibrate --ctx too short for the tiles" $K "$M" "$tmp/text.txt" --out "$tmp/x.json" --ctx 64
expect_fail "kascade-calibrate into a missing folder" $K "$M" "$tmp/text.txt" --out "$tmp/no/x.json" --ctx 256
$K --help | grep -q -- "--max-reuse D" && ok "kascade-calibrate --help lists its flags" || fail "kascade-calibrate --help"
$I --help | grep -q -- "--kascade-schedule FILE" && ok "infer --help lists --attention and --kascade-schedule" || fail "infer --help"
summary
