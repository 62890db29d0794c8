#!/usr/bin/env python3
"""tools/fuzz_table.py — rewrite the fuzzing table in docs/reliability.md from build-fuzz/stats.tsv.

scripts/fuzz.sh appends one line per run to build-fuzz/stats.tsv: date, target, seconds,
executions, result. A run whose result starts with FAILED found a crash; the bug was then fixed,
so only the executions after a target's last FAILED run count as "since the last fix".

usage: python3 tools/fuzz_table.py [--stats build-fuzz/stats.tsv] [--doc docs/reliability.md]
"""
import argparse
import re

ORDER = ["tiktoken_load", "tiktoken_roundtrip", "safetensors", "hf_config", "hf_index",
         "llama2c_bin", "sp_tokenizer", "checkpoint", "train_state", "shard"]
GOAL = 10_000_000


def table(stats_path):
    runs, secs, execs, crashes, since = {}, {}, {}, {}, {}
    for line in open(stats_path):
        f = line.rstrip("\n").split("\t")
        if len(f) != 5:
            continue
        _, t, s, n, result = f
        n = int(n) if n.isdigit() else 0
        runs[t] = runs.get(t, 0) + 1
        secs[t] = secs.get(t, 0) + (int(s) if s.isdigit() else 0)
        execs[t] = execs.get(t, 0) + n
        if result.startswith("FAILED"):
            crashes[t] = crashes.get(t, 0) + 1
            since[t] = 0
        else:
            since[t] = since.get(t, 0) + n
    out = ["| target | runs | seconds | executions | crashes found | executions since the last fix, clean |",
           "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for t in ORDER + sorted(set(runs) - set(ORDER)):
        if t not in runs:
            continue
        mark = " **≥ 10M**" if since[t] >= GOAL else ""
        out.append(f"| `{t}` | {runs[t]} | {secs[t]:,} | {execs[t]:,} | {crashes.get(t, 0)} | {since[t]:,}{mark} |")
    out.append(f"| all | | | {sum(execs.values()):,} | | |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stats", default="build-fuzz/stats.tsv")
    ap.add_argument("--doc", default="docs/reliability.md")
    a = ap.parse_args()
    doc = open(a.doc).read()
    new, n = re.subn(r"(<!-- fuzz-counts -->\n).*?(\n<!-- /fuzz-counts -->)",
                     lambda m: m.group(1) + table(a.stats) + m.group(2), doc, flags=re.S)
    if n != 1:
        raise SystemExit(f"{a.doc}: no <!-- fuzz-counts --> ... <!-- /fuzz-counts --> block")
    open(a.doc, "w").write(new)
    print(table(a.stats))


if __name__ == "__main__":
    main()
