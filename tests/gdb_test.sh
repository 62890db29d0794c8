#!/usr/bin/env bash
# tests/gdb_test.sh — docs/tour.md's gdb walkthrough, run as written: its ```sh block makes a
# small data set and starts gdb on bin/debug/train, its ```gdb block is the session. Here gdb runs
# the session in batch mode (gdb -batch -x), and the values it prints are checked: the batch
# size, targets = inputs shifted by one, the step-0 loss near ln V, a finite gradient norm, the
# size of tok_emb, and the first weight after AdamW's first update, p·(1 − lr·wd) − lr·sign(g).
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
if ! command -v gdb > /dev/null; then
  echo "SKIP gdb_test: gdb is not installed"; summary; exit
fi
T=$(mktemp -d /tmp/gdb_test.XXXXXX)
trap 'rm -rf "$T"' EXIT
DOC=docs/tour.md
HEAD='## Stepping through one step in gdb'
# the first fenced block of kind $1 after the walkthrough's heading
block() { awk -v h="$HEAD" -v k="$1" '$0 == h { in_sec = 1; next }
  in_sec && !inb && $0 == "```" k { inb = 1; next }
  inb && $0 == "```" { exit }
  inb { print }' "$DOC"; }
block sh > "$T/setup.sh"
block gdb > "$T/step.gdb"
if grep -q '^gdb --args' "$T/setup.sh" && grep -q '^finish' "$T/step.gdb"; then
  ok "walkthrough: $(grep -c '' "$T/setup.sh") shell lines and $(grep -vc '^#' "$T/step.gdb") gdb commands from $DOC"
else fail "walkthrough: no sh/gdb blocks under \"$HEAD\" in $DOC"; summary; exit; fi

# The -O0 build the walkthrough needs (make's own flags reach it only through the environment).
if ! MAKEFLAGS= make -s debug > "$T/make.log" 2>&1; then
  fail "make debug: $(tail -3 "$T/make.log" | tr '\n' '|')"; summary; exit
fi
# The doc's lines as they are (from the repository root, reading the bundled corpus), but for
# three: make debug (done above), the temp dir (ours) and gdb, which runs the session file in
# batch mode, echoing each command ("+p n") before its output.
sed -e '/^make debug$/d' -e '/^D=\$(mktemp -d)$/d' \
    -e "s#^gdb --args#gdb -batch -ex 'set trace-commands on' -x \"\$D/step.gdb\" --args#" \
    "$T/setup.sh" > "$T/run.sh"
D=$T bash "$T/run.sh" > "$T/gdb.out" 2> "$T/gdb.err"
rc=$?
# a container that forbids ptrace cannot run any debugger: say so rather than fail
if grep -q 'ptrace: Operation not permitted' "$T/gdb.err"; then
  echo "SKIP gdb_test: ptrace is not permitted here"; summary; exit
fi
[ $rc = 0 ] && ok "gdb -batch ran the session: exit 0" || fail "gdb: exit $rc: $(tail -3 "$T/gdb.err" | tr '\n' '|')"
# gdb stops a command file at its first error ("No symbol ...", "Invalid character ..."): none allowed
if grep -A1 'Error in sourced command file' "$T/gdb.err" > "$T/gdb.bad"; then
  fail "gdb reported: $(head -2 "$T/gdb.bad" | tr '\n' '|')"
else ok "gdb reported no error"; fi

# val "p EXPR" (or "finish", n-th occurrence): the value printed after that command
val() { awk -v c="+$1" -v k="${2:-1}" '
  $0 == c { if (++seen == k) want = 1; next }
  want && /^\+/ { exit }
  want && match($0, /\$[0-9]+ = /) { print substr($0, RSTART + RLENGTH); exit }' "$T/gdb.out"; }
flag() { grep -o -- "--$1 [0-9]*" "$T/setup.sh" | awk '{ print $2 }'; }
config=$(val 'p m->config')
V=$(printf '%s' "$config" | grep -o 'vocab_size = [0-9]*' | awk '{ print $3 }')
C=$(printf '%s' "$config" | grep -o '\bdim = [0-9]*' | awk '{ print $3 }')
[ -n "$V" ] && [ "$C" = "$(flag dim)" ] && ok "p m->config: vocab_size $V, dim $C (--dim $(flag dim))" ||
  fail "p m->config: \"$config\""
bt=$(awk '/^\+bt$/ { f = 1; next } f && /^\+/ { exit } f' "$T/gdb.out")
printf '%s\n' "$bt" | grep -q '^#0 .*model_forward' && printf '%s\n' "$bt" | grep -q '^#1 .* in train_step ' &&
  printf '%s\n' "$bt" | grep -q '^#2 .* in main ' &&
  ok "bt: model_forward called from train_step, from main" || fail "bt: $(printf '%s' "$bt" | tr '\n' '|')"
st0=$(val 'p step' 1); ga=$(val 'p r->o.grad_accum')
[ "$st0" = 0 ] && [ "$ga" = 1 ] && ok "break train_step: step 0, grad_accum 1" || fail "train_step: step \"$st0\", grad_accum \"$ga\""
bt_=$(val 'p B * T')
[ "$bt_" = $(( $(flag batch) * $(flag seq) )) ] && ok "p B * T = $bt_ = --batch $(flag batch) x --seq $(flag seq)" ||
  fail "p B * T = \"$bt_\""
inp=$(val 'p inputs[0]@8' | tr -d '{},'); tgt=$(val 'p targets[0]@8' | tr -d '{},')
set -- $inp; shift; ins=$*
set -- $tgt; tgs=$*
[ -n "$ins" ] && [ "$(echo $tgs | cut -d' ' -f1-7)" = "$ins" ] &&
  ok "targets[0..6] = inputs[1..7]: ($inp) -> ($tgt)" || fail "targets are not the inputs shifted: ($inp) ($tgt)"
loss=$(val finish 1)
awk -v l="$loss" -v V="$V" 'BEGIN { e = l - log(V); exit !(l != "" && e < 0.1 && e > -0.1) }' &&
  ok "finish model_forward: loss $loss, ln V = $(awk -v V="$V" 'BEGIN { printf "%.4f", log(V) }') (within 0.1)" ||
  fail "finish model_forward: loss \"$loss\", V $V"
norm=$(val 'p norm')
awk -v x="$norm" 'BEGIN { exit !(x + 0 > 0 && x + 0 < 1e6) }' && ok "p norm: $norm (positive, finite)" ||
  fail "p norm: \"$norm\""
n=$(val 'p n')
[ -n "$n" ] && [ "$n" = $((V * C)) ] && ok "p n: $n = V x C (tok_emb comes first)" || fail "p n = \"$n\", V x C = $((V * C))"
t=$(val 'p t')
[ "$t" = 1 ] && ok "p t: 1 (AdamW's first step)" || fail "p t = \"$t\""
lr=$(val 'p lr'); wd=$(val 'p weight_decay'); p0=$(val 'p params[0]'); g=$(val 'p grads[0]')
p1=$(val 'p params[0]' 2); pm=$(val 'p m->params_memory[0]')
# AdamW at t = 1: m/(1−β1) = g, sqrt(v/(1−β2)) = |g|, so p ← p·(1 − lr·wd) − lr·g/(|g| + ε)
if awk -v lr="$lr" -v wd="$wd" -v p0="$p0" -v g="$g" -v p1="$p1" 'BEGIN {
     if (lr == "" || p0 == "" || g == "" || p1 == "" || g == 0) exit 1
     want = p0 * (1 - lr * wd) - lr * (g > 0 ? 1 : -1)
     d = p1 - want; if (d < 0) d = -d
     printf "%.9g", want > "/dev/stderr"; exit !(d <= 1e-3 * lr) }' 2> "$T/want"; then
  ok "after finish: params[0] $p0 -> $p1 = p(1 - lr wd) - lr sign(g) = $(cat "$T/want") (lr $lr, wd $wd, g $g)"
else fail "after finish: params[0] $p0 -> \"$p1\", expected $(cat "$T/want") (lr $lr, wd $wd, g $g)"; fi
st=$(val 'p step' 2)
[ "$st" = 0 ] && [ -n "$pm" ] && [ "$pm" = "$p1" ] && ok "up: step $st, m->params_memory[0] = $pm, the updated weight" ||
  fail "up: step \"$st\", m->params_memory[0] \"$pm\" (params[0] \"$p1\")"
summary
