#!/usr/bin/env python3
"""tools/bench_report.py — turns the raw output scripts/bench.sh left in bench/run/ into the
`make bench` table and bench/results.json.

  tools/bench_report.py --run bench/run --out bench/results.json --threads 2 --vocab 1024
  tools/bench_report.py --shape bench/run/train_tiny.out   # "--dim 128 --n-layers 4 ..." flags

Every number is a median: over training steps (after the first two), over repeated program runs,
or over the repetitions a program does itself. A measurement whose program is missing or failed
is reported as "not available" with the reason, never estimated.

The counts (docs/performance.md says why):
  training FLOPs/token = 6 N + 12 L T C, N = all parameters (a tied embedding once: it is the
                         output head's matmul), L layers, T sequence, C dim
  prefill  FLOPs/token = 2 N_layers + 4 L P (NH HD) + 2 V C / P   (the head runs for the last
                         position only), N_layers = the layers' matrices, P prompt length
  decode bytes/token   = the bytes of every weight matrix, read once per token (bf16: 2 bytes each,
                         our f32 checkpoints: 4); the tied head counts once, the embedding row
                         lookup and the small KV cache are left out
"""
import argparse
import json
import os
import platform
import re
import statistics
import sys

MODEL_RE = re.compile(r"model: dim (\d+), (\d+) layers, (\d+) heads \((\d+) kv\), hidden (\d+), "
                      r"vocab (\d+), seq (\d+): (\d+) parameters")


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


class Run:
    """The files timed() in scripts/bench.sh wrote for one program run."""

    def __init__(self, run_dir, name):
        self.name = name
        self.out = read(os.path.join(run_dir, name + ".out"))
        self.err = read(os.path.join(run_dir, name + ".err")) or ""
        rc = read(os.path.join(run_dir, name + ".rc"))
        self.rc = int(rc) if rc and rc.strip().lstrip("-").isdigit() else None
        self.tmo = (read(os.path.join(run_dir, name + ".tmo")) or "?").strip()
        self.rss_mb = self.wall_s = None
        rss = read(os.path.join(run_dir, name + ".rss"))
        if rss and rss.strip():
            last = rss.strip().splitlines()[-1].split()  # time(1) puts a "Command exited" line first
            try:
                self.rss_mb, self.wall_s = int(last[0]) / 1024.0, float(last[1])
            except (ValueError, IndexError):
                pass

    @property
    def ran(self):
        return self.rc is not None

    @property
    def ok(self):
        return self.rc == 0

    def why(self):
        if not self.ran:
            return "not available (not run: program or input missing)"
        if self.rc == 124:
            return f"not available (timed out after {self.tmo} s)"
        lines = [l for l in self.err.strip().splitlines() if l.strip()]
        return f"not available (exit {self.rc}: {lines[-1][:120] if lines else 'no message'})"

    def json(self):
        try:
            return json.loads(self.out)
        except (TypeError, ValueError):
            return None


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def parse_model(text):
    m = MODEL_RE.search(text or "")
    if not m:
        return None
    k = ("dim", "n_layers", "n_heads", "n_kv_heads", "hidden_dim", "vocab", "seq", "params")
    return dict(zip(k, map(int, m.groups())))


def shape_flags(path):
    cfg = parse_model(read(path))
    if not cfg:
        return 1
    print(f"--dim {cfg['dim']} --n-layers {cfg['n_layers']} --n-heads {cfg['n_heads']} "
          f"--n-kv-heads {cfg['n_kv_heads']} --hidden-dim {cfg['hidden_dim']}")
    return 0


def train_tok_s(csv_text):
    """Median tokens_per_s of the logged steps, leaving out steps 0 and 1 (warm-up)."""
    rows = [l.split(",") for l in csv_text.strip().splitlines()]
    if not rows or rows[0][:6] != ["step", "train_loss", "val_loss", "lr", "grad_norm", "tokens_per_s"]:
        return None, 0
    vals = []
    for r in rows[1:]:
        try:
            step, tps = int(r[0]), float(r[5])
        except (ValueError, IndexError):
            continue
        if step >= 2 and tps > 0:
            vals.append(tps)
    return med(vals), len(vals)


def fmt(x, unit="", digits=1):
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    return f"{x:,.{digits}f}{unit}"


def main():
    ap = argparse.ArgumentParser(description="make bench report")
    ap.add_argument("--shape", help="print bin/train's model shape (from its stdout file) as flags")
    ap.add_argument("--run", default="bench/run")
    ap.add_argument("--out", default="bench/results.json")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--vocab", type=int, default=1024)
    a = ap.parse_args()
    if a.shape:
        return shape_flags(a.shape)

    R = lambda name: Run(a.run, name)  # noqa: E731

    def run_tok_s(run):  # a bin/train run's (tok/s, steps timed), from its log RUN/NAME.csv
        csv = read(os.path.join(a.run, run.name + ".csv"))
        return train_tok_s(csv) if (run.ok and csv) else (None, 0)

    def count_runs(prefix):  # the paired runs scripts/bench.sh made: prefix1, prefix2, ... (BENCH_PAIRS)
        n = 0
        while os.path.exists(os.path.join(a.run, f"{prefix}{n + 1}.rc")):
            n += 1
        return n
    res = {"threads": a.threads, "train_vocab": a.vocab, "machine": {}}
    rows = []  # (section, what, value, ratio, peak RSS MB)

    # ---- machine + limits ----
    cpu = "?"
    for line in (read("/proc/cpuinfo") or "").splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    res["machine"] = {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
                      "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE")}
    load = [read(os.path.join(a.run, "loadavg_" + w)) for w in ("start", "end")]
    res["machine"]["loadavg_start"], res["machine"]["loadavg_end"] = [(x or "").strip() for x in load]
    res["machine"]["autogroup"] = (read(os.path.join(a.run, "autogroup")) or "").strip()
    res["bench_seconds"] = int((read(os.path.join(a.run, "elapsed_s")) or "0").strip() or 0)
    lim = {}
    for shape in ("tiny", "small", "1b"):
        r = R("limits_" + shape)
        j = r.json() if r.ok else None
        lim[shape] = j
        if j:
            res["machine"]["openblas_core"] = j["openblas_core"]
            res["machine"]["openblas_config"] = j["openblas_config"]
            res["machine"]["blas_threads"] = j["blas_threads"]
    res["limits"] = {
        "sgemm_gflops_tiny_step": lim["tiny"] and lim["tiny"].get("sgemm_step_gflops"),
        "sgemm_gflops_small_step": lim["small"] and lim["small"].get("sgemm_step_gflops"),
        "sgemm_gflops_1b_prefill": lim["1b"] and lim["1b"].get("sgemm_step_gflops"),
        "mem_read_gbs": lim["tiny"] and lim["tiny"].get("mem_read_gbs"),
        "mem_triad_gbs": lim["tiny"] and lim["tiny"].get("mem_triad_gbs"),
        "raw": lim,
    }
    L = res["limits"]
    core = res["machine"].get("openblas_core", "?")
    ct = res["machine"]["OPENBLAS_CORETYPE"] or "(unset)"
    rl = R("limits_tiny")
    rows.append(("limits", f"OPENBLAS_CORETYPE={ct}, OpenBLAS core {core}, {a.threads} threads", "", "", None))
    for key, what in (("sgemm_gflops_tiny_step", "sgemm, tiny training-step shapes"),
                      ("sgemm_gflops_small_step", "sgemm, small training-step shapes"),
                      ("sgemm_gflops_1b_prefill", "sgemm, 1B prefill shapes (512 rows, fwd)")):
        name = {"sgemm_gflops_tiny_step": "limits_tiny", "sgemm_gflops_small_step": "limits_small",
                "sgemm_gflops_1b_prefill": "limits_1b"}[key]
        rows.append(("limits", what, fmt(L[key], " GFLOP/s") if L[key] else R(name).why(), "",
                     R(name).rss_mb))
    by = (lim["tiny"] or {}).get("mem_read_gbs_by_streams")
    rows.append(("limits", "memory read (sum, 1 GiB)",
                 fmt(L["mem_read_gbs"], " GB/s") if L["mem_read_gbs"] else rl.why(),
                 "best of 1, 2, 4, 8 streams per thread: " + ", ".join(f"{by[k]:.1f}" for k in ("1", "2", "4", "8"))
                 if by else "", rl.rss_mb))
    rows.append(("limits", "memory triad (3 x 0.5 GiB)",
                 fmt(L["mem_triad_gbs"], " GB/s") if L["mem_triad_gbs"] else rl.why(), "", None))

    # the sections after the limits (tools/bench_sections.py, which imports this file's helpers)
    from bench_sections import inference_rows, kascade_rows, quant_rows, tokenizer_rows, training_rows
    c = argparse.Namespace(R=R, run_tok_s=run_tok_s, count_runs=count_runs, a=a)
    training_rows(c, res, rows)
    inference_rows(c, res, rows)
    quant_rows(R, res, rows)
    tokenizer_rows(c, res, rows)
    kascade_rows(c, res, rows)

    res["table"] = [dict(zip(("section", "what", "value", "ratio", "peak_rss_mb"), r)) for r in rows]
    with open(a.out, "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")

    # ---- the table ----
    # a missing measurement shows "not available" in the value column and its reason after it
    rows = [(sec, what, "not available", val[len("not available "):].strip("()"), rss)
            if isinstance(val, str) and val.startswith("not available") else (sec, what, val, ratio, rss)
            for sec, what, val, ratio, rss in rows]
    w1 = max(len(r[1]) for r in rows)
    w2 = max(len(str(r[2])) for r in rows)
    print(f"\nscratchllama bench — {cpu}, {os.cpu_count()} cores, {a.threads} threads, "
          f"OPENBLAS_CORETYPE={ct}, OpenBLAS core {core}")
    section = None
    for sec, what, val, ratio, rss in rows:
        if sec != section:
            print(f"\n[{sec}]")
            section = sec
        r = f"{rss:7.0f} MB" if rss else ""
        print(f"  {what:<{w1}}  {str(val):<{w2}}  {r:>10}  {ratio}")
    print(f"\n(every number a median of several repetitions; peak RSS per program; written to {a.out})")
    ls, ag = res["machine"]["loadavg_start"], res["machine"]["autogroup"]
    prio = ag.endswith("nice -20")
    if ls and float(ls.split()[0]) > 0.5:
        if prio:
            print(f"note: load average {ls} when the bench started; it ran at autogroup niceness -20 "
                  f"(BENCH_PRIORITY=1), so it had the cores but shared the memory bus")
        else:
            print(f"warning: load average {ls} when the bench started: other processes shared the "
                  f"{os.cpu_count()} cores, so these numbers are low; rerun on a quiet machine "
                  f"or with BENCH_PRIORITY=1 (root)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
