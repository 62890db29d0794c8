#!/usr/bin/env bash
# tests/entropix_test.sh — bin/infer --trace and --sampler entropix end to end, on a byte-level
# model this test trains in a second (so it needs nothing outside the repository):
#  - the trace's first row against entropy and varentropy recomputed from --dump-logits of the
#    same run by an independent Python script (plain floats, no numpy), to 1e-4 relative;
#  - every row: step, token = the printed ids, text = the token's byte (CSV-escaped), and the
#    quadrant and settings recomputed from the row's own metrics by the same script's copy of
#    entropix's table, with each quadrant forced in turn through the thresholds;
#  - the same --seed gives the same trace, thresholds that make every step LELV give greedy's
#    ids, --temperature/--top-k/--top-p/--min-p set entropix's base settings, bad flags end in
#    one line and exit 1, and scripts/plot.sh draws the trace.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
I=$BIN/infer
T=$(mktemp -d /tmp/entropix_test.XXXXXX)
trap 'rm -rf "$T"' EXIT

# a byte-level tokenizer (the 256 bytes as ranks 0..255) and 100 steps on the bundled corpus
byte_tokenizer "$T/bytes.tiktoken"
head -c 100000 "$CORPUS" > "$T/text.txt"
$BIN/prepare --tokenizer "$T/bytes.tiktoken" --pattern gpt2 --out-dir "$T" "$T/text.txt" > /dev/null 2>&1 &&
  $BIN/train --data "$T/train.bin" --val-data "$T/val.bin" --tokenizer "$T/bytes.tiktoken" --dim 32 --n-layers 2 \
    --n-heads 4 --n-kv-heads 2 --hidden-dim 64 --seq 128 --batch 4 --steps 100 --warmup 5 --lr 2e-2 --min-lr 2e-3 \
    --seed 7 --eval-every 100 --eval-batches 1 --sample-every 0 --ckpt-every 100 --threads 2 --ckpt-dir "$T/ck" \
    > "$T/train.out" 2>&1
M=$T/ck/model_best.bin
[ -f "$M" ] && ok "a byte-level model trained for the test: $(grep '^final' "$T/train.out")" ||
  { fail "training the test model: $(tail -3 "$T/train.out")"; summary; exit 1; }
PROMPT='Set "x", then \ and
a tab	here'

# check.py TRACE IDS DUMP|- plain|entropix [NAME=VALUE...] (--entropix thresholds and base
# settings): one line per finding, "OK ..." or "FAIL ...", then the quadrants and actions seen
cat > "$T/check.py" <<'PY'
import csv, math, struct, sys
trace, ids_file, dump, sampler = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
th = dict(low_ent_thresh=0.1, low_vent_thresh=0.1, med_ent_thresh=3.0, high_ent_thresh=5.0, high_vent_thresh=5.0,
          temp=0.666, top_p=0.9, top_k=27, min_p=0.03)
for kv in sys.argv[5:]:
    k, v = kv.split("="); th[k] = float(v)
HEADER = ["step", "token", "entropy", "varentropy", "attn_entropy", "attn_varentropy", "agreement", "interaction",
          "quadrant", "action", "temperature", "top_p", "top_k", "min_p", "text"]
rows = list(csv.reader(open(trace, newline="", encoding="utf-8")))
ids = [int(t) for t in open(ids_file).read().split()]
out = []
def check(ok, what): out.append(("OK   " if ok else "FAIL ") + what)
check(rows[0] == HEADER, "header is " + ",".join(HEADER[:4]) + ",...,text")
rows = rows[1:]
toks = [int(r[1]) for r in rows]
# bin/infer prints every token but a stop token (here <|endoftext|>, id 256), which ends the run
stopped = len(toks) == len(ids) + 1 and toks[-1] == 256
check((toks == ids or stopped and toks[:-1] == ids) and [int(r[0]) for r in rows] == list(range(len(rows))) and all(len(r) == 15 for r in rows),
      "%d rows, 15 fields each, steps 0..%d, token ids = the ids bin/infer printed%s" %
      (len(rows), len(rows) - 1, " and the stop token" if stopped else ""))
def unescape(s):
    b, i = bytearray(), 0
    while i < len(s):
        if s[i] == "\\":
            c = s[i + 1]
            if c == "x": b.append(int(s[i + 2:i + 4], 16)); i += 4; continue
            b += {"n": b"\n", "t": b"\t", "r": b"\r", "\\": b"\\"}[c]; i += 2; continue
        b += s[i].encode(); i += 1
    return bytes(b)
def text_of(t): return b"<|endoftext|>" if t == 256 else bytes([t])
bad = [r for r in rows if unescape(r[14]) != text_of(int(r[1]))]
special = sorted(set(chr(int(r[1])) for r in rows if int(r[1]) < 32 or chr(int(r[1])) in ',"\\'))
check(not bad and all("\n" not in r[14] for r in rows),
      "text = the token's byte after CSV unquoting and C unescaping, one line per row (%d rows with %s)" %
      (sum(1 for r in rows if int(r[1]) < 32 or chr(int(r[1])) in ',"\\'), repr("".join(special))))
if dump != "-":
    data = open(dump, "rb").read()
    l = struct.unpack("<%df" % (len(data) // 4), data)
    m = max(l); z = sum(math.exp(x - m) for x in l)
    lp = [(x - m) - math.log(z) for x in l]
    H = -sum(math.exp(a) * a for a in lp) / math.log(2)
    V = sum(math.exp(a) * (a / math.log(2) + H) ** 2 for a in lp)
    eh, ev = abs(float(rows[0][2]) - H) / H, abs(float(rows[0][3]) - V) / V
    check(eh < 1e-4 and ev < 1e-4, "first row vs Python on the %d dumped logits: entropy %s vs %.9g, varentropy %s vs "
          "%.9g: max rel err %.1e (tol 1e-04)" % (len(l), rows[0][2], H, rows[0][3], V, max(eh, ev)))
# entropix's table (entropix/sampler.py at cceeb84), from each row's own metrics
def table(H, V, aH, aV, ag, it):
    t, p, k, m = th["temp"], th["top_p"], int(th["top_k"]), th["min_p"]
    if H < th["low_ent_thresh"] and V < th["low_vent_thresh"]: return "LELV", (0, None, None, None)
    if H > th["high_ent_thresh"] and V < th["low_vent_thresh"]:
        return "HELV", (min(1.5, t * (1.3 + 0.2 * aH)), p, k, m)
    if H < th["high_ent_thresh"] and V > th["high_vent_thresh"]:
        return "LEHV", (min(1.5, t * (1.2 + 0.3 * it)), p, max(5, int(k * (1 + 0.5 * (1 - ag)))), m)
    if H > th["med_ent_thresh"] and V > th["high_vent_thresh"]:
        return "HEHV", (max(2.0, t * (2.0 + 0.5 * aV)), max(0.5, p - 0.2 * aH), k, m)
    lu = H + V
    return "adaptive", (t * (1 + 0.3 * lu + 0.2 * (aH + aV) - 0.2 * ag), min(1.0, max(0.1, p * (1 + 0.1 * aV))),
                        int(min(100, max(1, round(k * (1 + 0.3 * it - 0.2 * ag))))), min(0.5, max(0.01, m * (1 - 0.5 * lu))))
def same(got, want):
    return got == "" if want is None else abs(float(got) - want) <= 1e-4 * max(1, abs(want))
seen, wrong = {}, []
for r in rows:
    q, want = table(*(float(x) for x in r[2:8]))
    seen[q] = seen.get(q, 0) + 1
    if sampler == "plain": want = (1.0, 0.9, 0, 0)   # bin/infer's defaults, whatever the quadrant
    if r[9] == "clarify": want = (None, None, None, None)
    if r[8] != q or not all(same(g, w) for g, w in zip(r[10:14], want)): wrong.append(r)
check(not wrong, "quadrant and temperature/top-p/top-k/min-p of every row = %s (%s)%s" %
      ("the table on the row's metrics" if sampler == "entropix" else "the table's quadrant, the plain settings", ", ".join("%s %d" % kv for kv in sorted(seen.items())), (": first wrong row " + ",".join(wrong[0][:14])) if wrong else ""))
print("\n".join(out))
print("QUADRANTS " + " ".join(sorted(seen)))
print("ACTIONS " + " ".join(sorted(set(r[9] for r in rows))))
PY
# runs check.py, counting its OK/FAIL lines; leaves its QUADRANTS and ACTIONS lines in $T/last
pycheck() {
  python3 "$T/check.py" "$@" > "$T/last" 2>&1 || echo "FAIL check.py $*: $(tail -2 "$T/last")" >> "$T/last"
  while IFS= read -r line; do
    case $line in OK*) ok "${line#OK   }";; FAIL*) fail "${line#FAIL }";; esac
  done < "$T/last"
}

# ---- the plain sampler: the trace against the dumped logits ----
$I "$M" --prompt "$PROMPT" -n 100 --seed 5 --trace "$T/plain.csv" --dump-logits "$T/plain.f32" --print-ids \
  > "$T/plain.ids" 2> "$T/err" && ok "plain sampler with --trace and --dump-logits: exit 0" || fail "plain run: $(cat "$T/err")"
pycheck "$T/plain.csv" "$T/plain.ids" "$T/plain.f32" plain
grep -q "ACTIONS sample$" "$T/last" && ok "plain sampler rows: action sample, its own settings" || fail "plain actions: $(cat "$T/last")"

# ---- --sampler entropix: the same first row, every row by the table, deterministic ----
$I "$M" --prompt "$PROMPT" -n 100 --seed 5 --sampler entropix --trace "$T/ex.csv" --dump-logits "$T/ex.f32" --print-ids \
  > "$T/ex.ids" 2> "$T/err" && ok "--sampler entropix --trace: exit 0" || fail "entropix run: $(cat "$T/err")"
pycheck "$T/ex.csv" "$T/ex.ids" "$T/ex.f32" entropix
$I "$M" --prompt "$PROMPT" -n 100 --seed 5 --sampler entropix --trace "$T/ex2.csv" --print-ids > "$T/ex2.ids" 2>/dev/null
$I "$M" --prompt "$PROMPT" -n 100 --seed 6 --sampler entropix --print-ids > "$T/ex3.ids" 2>/dev/null
cmp -s "$T/ex.csv" "$T/ex2.csv" && cmp -s "$T/ex.ids" "$T/ex2.ids" && ! cmp -s "$T/ex.ids" "$T/ex3.ids" &&
  ok "--sampler entropix --seed 5 twice: the same ids and trace; --seed 6: other ids" ||
  fail "entropix determinism: $(head -c 80 "$T/ex.ids") / $(head -c 80 "$T/ex2.ids") / $(head -c 80 "$T/ex3.ids")"

# ---- each quadrant forced through the thresholds, checked row by row ----
force() { # name, the quadrant every row must be in, thresholds...
  local name=$1 want=$2; shift 2
  local flags=() kv
  for kv in "$@"; do flags+=(--entropix "$kv"); done
  $I "$M" --prompt "$PROMPT" -n 60 --seed 9 --sampler entropix "${flags[@]}" --trace "$T/$name.csv" --print-ids \
    > "$T/$name.ids" 2> "$T/err" || { fail "$name run: $(cat "$T/err")"; return; }
  pycheck "$T/$name.csv" "$T/$name.ids" - entropix "$@"
  grep -q "^QUADRANTS $want$" "$T/last" && ok "$* -> every step $want" || fail "$name: $(grep QUADRANTS "$T/last")"
}
force lelv LELV low_ent_thresh=1000 low_vent_thresh=1000
$I "$M" --prompt "$PROMPT" -n 60 --temperature 0 --print-ids > "$T/greedy.ids" 2>/dev/null
cmp -s "$T/lelv.ids" "$T/greedy.ids" && ok "every step LELV (argmax) = --temperature 0's ids" ||
  fail "LELV vs greedy: $(head -c 60 "$T/lelv.ids") / $(head -c 60 "$T/greedy.ids")"
force helv HELV low_ent_thresh=0 high_ent_thresh=0 low_vent_thresh=1000 clarifying_question_token=34
first=$(sed -n 2p "$T/helv.csv")
n_clar=$(grep -c ',clarify,' "$T/helv.csv")
[[ $first == 0,34,*,HELV,clarify,,,,,'""""' ]] && [ "$n_clar" = 1 ] && grep -q "ACTIONS clarify sample$" "$T/last" &&
  ok "HELV: the clarifying token (34, a quote: written \"\"\"\" in the CSV) once, at the first step, then hotter sampling" ||
  fail "HELV: first row $first, $n_clar clarify rows"
$I "$M" --prompt "$PROMPT" -n 1 --sampler entropix --entropix low_ent_thresh=0 --entropix high_ent_thresh=0 \
  --entropix low_vent_thresh=1000 --entropix clarifying_question_token=92 --trace "$T/bs.csv" > /dev/null 2>&1
[[ $(sed -n 2p "$T/bs.csv") == 0,92,*,clarify,,,,,'\\' ]] && ok "a backslash token's text is written \\\\ in the CSV" ||
  fail "backslash token row: $(sed -n 2p "$T/bs.csv")"
force lehv LEHV low_ent_thresh=0 high_ent_thresh=1000 high_vent_thresh=0
force hehv HEHV low_ent_thresh=0 low_vent_thresh=0 high_ent_thresh=0 med_ent_thresh=0 high_vent_thresh=0
force adaptive adaptive low_ent_thresh=0 high_ent_thresh=1000 high_vent_thresh=1000
# the base settings: from --entropix, or from --temperature/--top-k/--top-p/--min-p, the same
force base LEHV low_ent_thresh=0 high_ent_thresh=1000 high_vent_thresh=0 temp=0.5 top_k=10 top_p=0.8 min_p=0.05
$I "$M" --prompt "$PROMPT" -n 60 --seed 9 --sampler entropix --entropix low_ent_thresh=0 --entropix high_ent_thresh=1000 \
  --entropix high_vent_thresh=0 --temperature 0.5 --top-k 10 --top-p 0.8 --min-p 0.05 --trace "$T/flags.csv" > /dev/null 2>&1
cmp -s "$T/base.csv" "$T/flags.csv" && ok "--temperature 0.5 --top-k 10 --top-p 0.8 --min-p 0.05 set entropix's base: the same trace as --entropix temp=0.5 ..." ||
  fail "plain flags as entropix's base: traces differ"

# ---- bad flags: one line, exit 1 ----
expect_fail "--sampler unknown" $I "$M" --sampler greedy
expect_fail "--entropix unknown name" $I "$M" --sampler entropix --entropix low_entropy=1
expect_fail "--entropix without =" $I "$M" --sampler entropix --entropix low_ent_thresh
expect_fail "--entropix top_p=0" $I "$M" --sampler entropix --entropix top_p=0
expect_fail "--entropix clarifying token past the vocabulary" $I "$M" --sampler entropix --entropix clarifying_question_token=257
expect_fail "--trace unwritable" $I "$M" -n 2 --trace /nonexistent/dir/t.csv
$I --help | grep -q -- "--trace FILE" && $I --help | grep -q "high_vent_thresh=5" && ok "--help lists --sampler, --entropix's names and defaults, --trace" ||
  fail "--help"

# ---- the picture ----
expect_fail "plot: not a trace or a log" scripts/plot.sh "$T/bytes.tiktoken" "$T/x.png"
expect_fail "plot: no such file" scripts/plot.sh "$T/none.csv"
if command -v gnuplot > /dev/null; then
  scripts/plot.sh "$T/ex.csv" > /dev/null 2>&1 && [ "$(head -c 4 "$T/ex.png" | od -An -c | tr -d ' ')" = '211PNG' ] &&
    ok "scripts/plot.sh (make plot-trace) draws the trace: $(stat -c %s "$T/ex.png")-byte PNG" || fail "plot of the trace"
else
  echo "SKIP plot-trace drawing: gnuplot is not installed (make plot-trace installs it)"
fi

summary
