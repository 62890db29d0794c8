#!/usr/bin/env python3
"""tools/bench_sections.py — the rows of the `make bench` table after the limits, one function a
section, for tools/bench_report.py (which has the counts and the file conventions): training
and PyTorch, inference, the quantized formats, the tokenizer, Kascade.

Each function reads the program runs through c (c.R(name): a Run; c.run_tok_s(run); c.count_runs(
prefix); c.a: the command-line arguments), adds its measurements to res (bench/results.json) and
its rows (section, what, value, ratio, peak RSS MB) to rows.
"""
import json
import os
import re

from bench_report import fmt, med, parse_model, read

INFER_RE = re.compile(r"prompt (\d+) tok ([\d.]+) tok/s \| decode (\d+) tok ([\d.]+) tok/s")
TOK_RE = re.compile(r"encode ([\d.]+) MB/s")

PPL_RE = re.compile(r"perplexity ([\d.]+) over (\d+) tokens")
AWQ_RE = re.compile(r"AWQ from (\d+) tokens")


def quant_rows(R, res, rows):
    """Q8_0 / Q4_0: decode against the read bound and Q8_0 prefill (1B), perplexity (trained models)."""
    q = res["quant"] = {}
    for t, target in (("q8_0", 0.90), ("q4_0", 0.85)):
        r = R(f"gemv_1b_{t}")
        j = r.json() if r.ok else None
        q[f"1b_{t}_decode"] = j
        if j and j.get("decode_pairs"):
            n = len(j["decode_pairs"])
            rows.append(("quantized", f"decode 1B {t} and the memory read in turn, one process, {n} pairs",
                         fmt(j["decode_tok_s"], " tok/s", 2),
                         f"{100 * j['decode_ratio_median']:.0f}% of bandwidth bound (target {100 * target:.0f}%; "
                         f"middle half {100 * j['decode_ratio_q1']:.0f}-{100 * j['decode_ratio_q3']:.0f}%; "
                         f"{j['weight_bytes'] / 1e9:.3f} GB read a token, read {j['decode_read_gbs']:.1f} GB/s, "
                         f"{j['decode_read_streams']} streams per thread)", r.rss_mb))
            rows.append(("quantized", f"1B {t} products of a token vs reads (one process)", fmt(j["gemv_gbs"], " GB/s"),
                         f"{100 * j['gemv_gbs'] / j['read_heap_gbs']:.0f}% of a heap read ({j['read_heap_gbs']:.1f} GB/s)",
                         None))
        else:
            rows.append(("quantized", f"decode 1B {t} against the memory read", r.why(), "", None))
    runs = [x for x in (R(f"infer1b_q8_0_prefill_{i}") for i in (1, 2)) if x.ran]
    pre = med([float(m.group(2)) for x in runs if x.ok for m in [INFER_RE.search(x.err)] if m])
    bf = (res["inference"].get("1b_prefill") or {})
    e = {"prefill_tok_s": pre, "runs": len(runs)}
    ratio = []
    if pre and bf.get("prefill_tok_s"):
        e["vs_bf16"] = pre / bf["prefill_tok_s"]
        ratio.append(f"{e['vs_bf16']:.2f}x our bf16 prefill (target 2x)")
    if pre and bf.get("flops_per_token"):
        e["gops"] = pre * bf["flops_per_token"] * 1e-9
        sg = res["limits"]["sgemm_gflops_1b_prefill"]
        ratio.append(f"{e['gops']:.0f} GOP/s" + (f" = {e['gops'] / sg:.1f}x the sgemm rate" if sg else ""))
    q["1b_q8_0_prefill"] = e
    rows.append(("quantized", "prefill 512 tokens, 1B q8_0", fmt(pre, " tok/s") if pre else
                 (runs[0].why() if runs else "not available (bin/infer or the 1B checkpoint missing)"),
                 "; ".join(ratio), med([x.rss_mb for x in runs])))
    # perplexity: each type against the model as stored
    for name, label, kinds in (("ckpt", "make train's checkpoint", ("stored", "bf16", "q8_0", "q4_0", "awq")),
                               ("hftiny", "shakespeare-llama3-tiny", ("stored", "q8_0", "q4_0", "awq"))):
        got = {}
        for k in kinds:
            r = R(f"ppl_{name}_{k}")
            m = PPL_RE.search(r.out or "") if r.ok else None
            got[k] = float(m.group(1)) if m else None
            if m:
                got[k + "_tokens"] = int(m.group(2))
        q[f"perplexity_{name}"] = got
        if not any(got.get(k) for k in kinds):
            continue
        base = got.get("stored")
        for k in kinds:
            what = {"stored": "as stored", "bf16": "bf16", "q8_0": "q8_0", "q4_0": "q4_0", "awq": "q4_0 + AWQ"}[k]
            v = got.get(k)
            note = ""
            if v and base and k != "stored":
                note = f"{100 * (v / base - 1):+.2f}% vs as stored"
                if k == "q8_0":
                    note += " (target within 0.5%)"
                if k == "awq" and got.get("q4_0"):
                    note += f"; {100 * (v / got['q4_0'] - 1):+.2f}% vs plain q4_0 (target: lower)"
            elif k == "stored" and v:
                note = f"{got.get('stored_tokens')} tokens scored, --ctx 256"
            rows.append(("perplexity", f"{label}, val.txt, {what}", fmt(v, "", 3) if v else R(f"ppl_{name}_{k}").why(),
                         note, None))


def training_rows(c, res, rows):
    """bin/train and PyTorch at 8 x 256; the step against its sgemm rate"""
    R, run_tok_s, count_runs = c.R, c.run_tok_s, c.count_runs
    L = res["limits"]

    # ---- training + PyTorch ----
    res["training"] = {}
    for preset in ("tiny", "small"):
        r, t = R("train_" + preset), R("torch_" + preset)
        cfg = parse_model(r.out)
        tps, nsteps = run_tok_s(r)
        e = {"config": cfg, "tok_s": tps, "steps_timed": nsteps, "peak_rss_mb": r.rss_mb}
        sg = L["sgemm_gflops_%s_step" % preset]
        if cfg and tps:
            fpt = 6 * cfg["params"] + 12 * cfg["n_layers"] * cfg["seq"] * cfg["dim"]
            e["flops_per_token"] = fpt
            e["gflops"] = tps * fpt * 1e-9
            e["fraction_of_sgemm"] = e["gflops"] / sg if sg else None
        tj = t.json() if t.ok else None
        e["torch"] = tj
        if tj:
            e["torch_tok_s"] = tj["tok_s"]
            e["torch_fraction_of_sgemm"] = tj["gflops"] / sg if sg else None
            e["ours_over_torch"] = tps / tj["tok_s"] if tps else None
        res["training"][preset] = e
        label = f"train {preset}" + (f" ({cfg['params'] / 1e6:.2f}M params)" if cfg else "")
        ratio = (f"{e['gflops']:.1f} GFLOP/s = {100 * e['fraction_of_sgemm']:.0f}% of sgemm"
                 if e.get("fraction_of_sgemm") else "")
        rows.append(("training 8x256", label, fmt(tps, " tok/s") if tps else r.why(), ratio, r.rss_mb))
        tr = f"ours/PyTorch = {e['ours_over_torch']:.2f}x" if e.get("ours_over_torch") else ""
        if tr and e.get("torch_fraction_of_sgemm"):   # no sgemm limit when BENCH_ONLY left it out
            tr += f"; torch at {100 * e['torch_fraction_of_sgemm']:.0f}% of sgemm"
        rows.append(("training 8x256", f"PyTorch {tj['torch'] if tj else ''} {preset} (PASSIVE)",
                     fmt(e.get("torch_tok_s"), " tok/s") if tj else t.why(), tr, t.rss_mb))

    # ---- ours and PyTorch on tiny in turn: a ratio per pair of neighbouring runs ----
    vs = []
    for i in range(1, count_runs("vs_torch_ours_") + 1):
        o, t = R(f"vs_torch_ours_{i}"), R(f"vs_torch_torch_{i}")
        tps, _ = run_tok_s(o)
        tj = t.json() if t.ok else None
        if tps and tj and tj.get("tok_s"):
            vs.append({"ours_tok_s": tps, "torch_tok_s": tj["tok_s"], "ratio": tps / tj["tok_s"]})
    e = res["training"]["tiny_vs_torch_pairs"] = {"pairs": vs}
    if vs:
        e["ours_over_torch"] = med([x["ratio"] for x in vs])
        rows.append(("training 8x256", f"ours / PyTorch tiny, {len(vs)} runs of each in turn",
                     f"{e['ours_over_torch']:.2f}x",
                     "median of the pairs' ratios; pairs " + ", ".join(
                         f"{x['ours_tok_s']:,.0f} / {x['torch_tok_s']:,.0f}" for x in vs) + " tok/s", None))
    elif count_runs("vs_torch_ours_"):
        o, t = R("vs_torch_ours_1"), R("vs_torch_torch_1")
        why = o.why() if not o.ok else t.why() if not t.ok else "not available (no tok/s in their output)"
        rows.append(("training 8x256", "ours / PyTorch tiny, runs in turn", why, "", None))

    # ---- tiny training between sgemm measurements: a ratio per run, against its neighbours ----
    cfg = res["training"]["tiny"].get("config")
    pairs = []
    for i in range(1, count_runs("train_tiny_pair_") + 1):
        tr, s0, s1 = R(f"train_tiny_pair_{i}"), R(f"sgemm_tiny_{i}"), R(f"sgemm_tiny_{i + 1}")
        tps, _ = run_tok_s(tr)
        g = [x.json().get("sgemm_step_gflops") for x in (s0, s1) if x.ok and x.json()]
        if tps and cfg and len(g) == 2:
            fpt = 6 * cfg["params"] + 12 * cfg["n_layers"] * cfg["seq"] * cfg["dim"]
            pairs.append({"tok_s": tps, "gflops": tps * fpt * 1e-9, "sgemm_gflops": (g[0] + g[1]) / 2,
                          "fraction_of_sgemm": tps * fpt * 1e-9 / ((g[0] + g[1]) / 2)})
    e = res["training"]["tiny_paired"] = {"pairs": pairs}
    if pairs:
        e["tok_s"] = med([x["tok_s"] for x in pairs])
        e["fraction_of_sgemm"] = med([x["fraction_of_sgemm"] for x in pairs])
        rows.append(("training 8x256", f"train tiny, {len(pairs)} runs each between two sgemm runs",
                     fmt(e["tok_s"], " tok/s"),
                     f"{100 * e['fraction_of_sgemm']:.0f}% of sgemm (median; runs "
                     + ", ".join(f"{100 * x['fraction_of_sgemm']:.0f}% of {x['sgemm_gflops']:.0f}" for x in pairs)
                     + " GFLOP/s)", None))

    # ---- the tiny step and its sgemm pass in turn in one process (bench-limits --train-steps) ----
    r = R("step_tiny")
    j = r.json() if r.ok else None
    e = res["training"]["tiny_interleaved"] = {}
    if j and j.get("train_pairs"):
        pr = j["train_pairs"]
        e.update(pairs=len(pr), fraction_of_sgemm=j["train_ratio_median"], q1=j["train_ratio_q1"],
                 q3=j["train_ratio_q3"], step_gflops=j["train_step_gflops"],
                 sgemm_gflops=j["train_pass_sgemm_gflops"], flops_per_step=j["train_step_flops"])
        rows.append(("training 8x256", f"tiny step and sgemm pass in turn, one process, {len(pr)} pairs",
                     f"{j['train_step_gflops']:.1f} GFLOP/s",
                     f"{100 * j['train_ratio_median']:.0f}% of sgemm (median of the pairs' ratios; middle half "
                     f"{100 * j['train_ratio_q1']:.0f}-{100 * j['train_ratio_q3']:.0f}%; pass "
                     f"{j['train_pass_sgemm_gflops']:.0f} GFLOP/s)", r.rss_mb))
    else:
        rows.append(("training 8x256", "tiny step and sgemm pass in turn, one process", r.why(), "", None))

    # ---- the environment experiment: OpenMP waiting passively ----
    r = R("train_tiny_passive")
    tps, _ = run_tok_s(r)
    base = res["training"]["tiny"].get("tok_s")
    res["training"]["tiny_omp_passive"] = {"tok_s": tps, "speedup_vs_default": tps / base if tps and base else None,
                                           "peak_rss_mb": r.rss_mb}
    rows.append(("training 8x256", "train tiny with OMP_WAIT_POLICY=PASSIVE (experiment)",
                 fmt(tps, " tok/s") if tps else r.why(),
                 f"{tps / base:.2f}x the default environment" if tps and base else "", r.rss_mb))


def inference_rows(c, res, rows):
    """bin/infer: the 1B and tiny decode and prefill, the KV cache"""
    R, count_runs = c.R, c.count_runs
    L = res["limits"]

    # ---- inference ----
    inf = res["inference"] = {}
    bw = L["mem_read_gbs"]
    cfg1b = None
    try:
        with open("bench/models/llama-3.2-1b-random/config.json") as f:
            cfg1b = json.load(f)
    except (OSError, ValueError):
        pass

    def infer_runs(prefix, n):
        runs = [R(f"{prefix}_{i}") for i in range(1, n + 1)]
        runs = [x for x in runs if x.ran]
        stats = []
        for x in runs:
            m = INFER_RE.search(x.err) if x.ok else None
            if m:
                stats.append(tuple(float(g) for g in m.groups()))
        return runs, stats

    # 1B
    if cfg1b:
        C, Lr, H, V = cfg1b["hidden_size"], cfg1b["num_hidden_layers"], cfg1b["intermediate_size"], cfg1b["vocab_size"]
        hd = cfg1b.get("head_dim", C // cfg1b["num_attention_heads"])
        q, kv = cfg1b["num_attention_heads"] * hd, cfg1b["num_key_value_heads"] * hd
        layer_params = Lr * (2 * C * q + 2 * C * kv + 3 * C * H)
        bytes_tok = 2 * (layer_params + V * C)
    runs, st = infer_runs("infer1b_decode", 3)
    dec = med([s[3] for s in st])
    e = {"decode_tok_s": dec, "runs": len(st), "peak_rss_mb": med([x.rss_mb for x in runs])}
    if dec and cfg1b:
        e["bytes_per_token"] = bytes_tok
        e["bandwidth_bound_tok_s"] = bw * 1e9 / bytes_tok if bw else None
        e["fraction_of_bandwidth"] = dec / e["bandwidth_bound_tok_s"] if bw else None
    # each decode run against the read bandwidth measured just before and just after it
    # (scripts/bench.sh: mem_1 decode_1 mem_2 ... mem_PAIRS+1); the bandwidth drifts within minutes here
    paired = []
    for i in range(1, count_runs("infer1b_decode_") + 1):
        d, m0, m1 = R(f"infer1b_decode_{i}"), R(f"mem_{i}"), R(f"mem_{i + 1}")
        m = INFER_RE.search(d.err) if d.ok else None
        g = [x.json().get("mem_read_gbs") for x in (m0, m1) if x.ok and x.json()]
        if m and len(g) == 2 and cfg1b:
            tok_s, gbs = float(m.group(4)), (g[0] + g[1]) / 2
            paired.append({"decode_tok_s": tok_s, "read_gbs": gbs, "fraction_of_bandwidth": tok_s * bytes_tok / (gbs * 1e9)})
    if dec and cfg1b:
        e["paired"] = paired
        if paired:
            e["fraction_of_bandwidth"] = med([x["fraction_of_bandwidth"] for x in paired])
            e["read_gbs_paired"] = med([x["read_gbs"] for x in paired])
            e["bandwidth_bound_tok_s"] = e["read_gbs_paired"] * 1e9 / bytes_tok
    inf["1b_decode"] = e
    why = runs[0].why() if runs else "not available (bin/infer or the 1B checkpoint missing)"
    if paired:
        ratio = (f"{100 * e['fraction_of_bandwidth']:.0f}% of bandwidth bound (median of {len(paired)} runs, "
                 f"each against the read bandwidth just before and after it: "
                 + ", ".join(f"{100 * x['fraction_of_bandwidth']:.0f}% of {x['read_gbs']:.1f} GB/s" for x in paired)
                 + f"; {bytes_tok / 1e9:.2f} GB/token)")
    elif e.get("fraction_of_bandwidth"):
        ratio = (f"{100 * e['fraction_of_bandwidth']:.0f}% of bandwidth bound "
                 f"({e['bandwidth_bound_tok_s']:.1f} tok/s = {bw:.1f} GB/s / {bytes_tok / 1e9:.2f} GB)")
    else:
        ratio = ""
    rows.append(("inference", "decode, 1B bf16 (random weights)", fmt(dec, " tok/s") if dec else why,
                 ratio, e["peak_rss_mb"]))
    # the decode's matrix work alone, against reads in the same process (bench/gemv.c): the
    # tightest comparison, since the three alternate within milliseconds
    r = R("gemv_1b")
    j = r.json() if r.ok else None
    inf["1b_gemv_vs_read"] = j
    if j:
        rows.append(("inference", "1B bf16 gemvs of a token vs reads (one process)", fmt(j["gemv_gbs"], " GB/s"),
                     f"{100 * j['gemv_gbs'] / j['read_heap_gbs']:.0f}% of a heap read ({j['read_heap_gbs']:.1f} GB/s), "
                     f"{100 * j['gemv_gbs'] / j['read_map_gbs']:.0f}% of reading the same mapped bytes "
                     f"({j['read_map_gbs']:.1f} GB/s)"
                     + (f"; over a heap copy of the weights {100 * j['gemv_heap_gbs'] / j['read_heap_gbs']:.0f}% "
                        f"of the heap read" if j.get("gemv_heap_gbs") else ""), r.rss_mb))
    if j and j.get("decode_pairs"):
        n = len(j["decode_pairs"])
        inf["1b_decode_interleaved"] = {"pairs": n, "fraction_of_bandwidth": j["decode_ratio_median"],
                                        "q1": j["decode_ratio_q1"], "q3": j["decode_ratio_q3"],
                                        "decode_tok_s": j["decode_tok_s"], "read_gbs": j["decode_read_gbs"]}
        rows.append(("inference", f"decode 1B bf16 and the memory read in turn, one process, {n} pairs",
                     fmt(j["decode_tok_s"], " tok/s", 2),
                     f"{100 * j['decode_ratio_median']:.0f}% of bandwidth bound (median of the pairs' ratios; "
                     f"middle half {100 * j['decode_ratio_q1']:.0f}-{100 * j['decode_ratio_q3']:.0f}%; read "
                     f"{j['decode_read_gbs']:.1f} GB/s, {j['decode_read_streams']} streams per thread)", None))
    runs, st = infer_runs("infer1b_passive", 3)
    pdec = med([s[3] for s in st])
    d = inf["1b_decode"].get("decode_tok_s")
    inf["1b_decode_omp_passive"] = {"decode_tok_s": pdec, "runs": len(st),
                                    "speedup_vs_default": pdec / d if pdec and d else None}
    why = runs[0].why() if runs else "not available (bin/infer or the 1B checkpoint missing)"
    rows.append(("inference", "decode, 1B bf16, OMP_WAIT_POLICY=PASSIVE (experiment)",
                 fmt(pdec, " tok/s") if pdec else why,
                 f"{pdec / d:.2f}x the default environment" if pdec and d else "", None))
    runs, st = infer_runs("infer1b_prefill", 2)
    pre = med([s[1] for s in st])
    e = {"prefill_tok_s": pre, "runs": len(st), "peak_rss_mb": med([x.rss_mb for x in runs])}
    sg1b = L["sgemm_gflops_1b_prefill"]
    if pre and cfg1b and st:
        P = int(st[0][0])
        fpt = 2 * layer_params + 4 * Lr * P * q + 2 * V * C / P
        e.update(prompt=P, flops_per_token=fpt, gflops=pre * fpt * 1e-9)
        e["fraction_of_sgemm"] = e["gflops"] / sg1b if sg1b else None
    inf["1b_prefill"] = e
    why = runs[0].why() if runs else "not available (bin/infer or the 1B checkpoint missing)"
    rows.append(("inference", f"prefill {e.get('prompt', 512)} tokens, 1B bf16", fmt(pre, " tok/s") if pre else why,
                 f"{e['gflops']:.1f} GFLOP/s = {100 * e['fraction_of_sgemm']:.0f}% of sgemm"
                 if e.get("fraction_of_sgemm") else "", e["peak_rss_mb"]))

    # tiny
    tcfg = res["training"]["tiny"]["config"]
    runs, st = infer_runs("infertiny_decode", 64)
    dec = med([s[3] for s in st])
    e = {"decode_tok_s": dec, "runs": len(st), "peak_rss_mb": med([x.rss_mb for x in runs])}
    if dec and tcfg:
        e["bytes_per_token"] = 4 * tcfg["params"]
        e["bandwidth_bound_tok_s"] = bw * 1e9 / e["bytes_per_token"] if bw else None
        e["fraction_of_bandwidth"] = dec / e["bandwidth_bound_tok_s"] if bw else None
    inf["tiny_decode"] = e
    why = runs[0].why() if runs else "not available (bin/infer or the tiny checkpoint missing)"
    rows.append(("inference", "decode, tiny f32 checkpoint", fmt(dec, " tok/s") if dec else why,
                 f"{100 * e['fraction_of_bandwidth']:.0f}% of DRAM bound ({e['bytes_per_token'] / 1e6:.1f} MB "
                 f"of weights: fits in cache)" if e.get("fraction_of_bandwidth") else "", e["peak_rss_mb"]))
    runs, st = infer_runs("infertiny_prefill", 64)
    pre = med([s[1] for s in st])
    e = {"prefill_tok_s": pre, "runs": len(st)}
    if pre and tcfg and st:
        P = int(st[0][0])
        nl = tcfg["params"] - tcfg["vocab"] * tcfg["dim"]
        fpt = 2 * nl + 4 * tcfg["n_layers"] * P * tcfg["dim"] + 2 * tcfg["vocab"] * tcfg["dim"] / P
        e.update(prompt=P, gflops=pre * fpt * 1e-9)
        sg = L["sgemm_gflops_tiny_step"]
        e["fraction_of_sgemm"] = e["gflops"] / sg if sg else None
    inf["tiny_prefill"] = e
    rows.append(("inference", f"prefill {e.get('prompt', 255)} tokens, tiny", fmt(pre, " tok/s") if pre else why,
                 f"{e['gflops']:.1f} GFLOP/s = {100 * e['fraction_of_sgemm']:.0f}% of sgemm (tiny shapes)"
                 if e.get("fraction_of_sgemm") else "", None))

    r = R("kv_tiny")
    j = r.json() if r.ok else None
    inf["kv_vs_recompute_tiny"] = j
    rows.append(("inference", f"KV cache vs recompute, {j['kv_len'] if j else 256} tokens (tiny shapes)",
                 f"{j['kv_speedup']:.1f}x faster" if j else r.why(),
                 f"{j['kv_s'] * 1e3:.0f} ms vs {j['recompute_s'] * 1e3:.0f} ms" if j else "", r.rss_mb))


def tokenizer_rows(c, res, rows):
    """bin/tokenize and bin/bpe-train"""
    R = c.R

    # ---- tokenizer ----
    tk = res["tokenizer"] = {}
    for enc in ("r50k_base", "cl100k_base", "llama3", "llama3_json", "llama2_json"):
        runs = [x for x in (R(f"tok_{enc}_{i}") for i in (1, 2, 3)) if x.ran]
        mbs = med([float(m.group(1)) for x in runs if x.ok for m in [TOK_RE.search(x.out or "")] if m])
        tk[enc] = {"encode_mb_s": mbs, "peak_rss_mb": med([x.rss_mb for x in runs])}
        # tokenizer.json rows: as a ratio to tiktoken.c on Llama 3's rank file in the same run
        base = tk["llama3"]["encode_mb_s"] if enc.endswith("_json") else None
        if base and mbs:
            tk[enc]["vs_tiktoken_llama3"] = mbs / base
        label = f"encode {enc[:-5]} tokenizer.json" if enc.endswith("_json") else f"encode {enc}"
        rows.append(("tokenizer", f"{label} (tiny Shakespeare, 1 thread)",
                     fmt(mbs, " MB/s", 2) if mbs else (runs[0].why() if runs else
                                                        "not available (bin/tokenize or tokenizer file missing)"),
                     f"{mbs / base:.2f}x tiktoken.c llama3" if base and mbs else "", tk[enc]["peak_rss_mb"]))
    # one character repeated: one pre-token piece, encoded in slices of 25,000 characters
    for name, mb, label in (("tok_run_a", 50, '50 MB of "a"'), ("tok_run_space", 10, "10 MB of spaces")):
        r = R(name)
        secs = r.wall_s if r.ok else None
        tk[name[4:]] = {"mb": mb, "seconds": secs, "encode_mb_s": mb / secs if secs else None, "peak_rss_mb": r.rss_mb}
        rows.append(("tokenizer", f"encode {label} (llama3, a single pre-token piece)",
                     fmt(mb / secs, " MB/s", 2) if secs else (r.why() if r.ran else "not available (llama3 rank file missing)"),
                     "", r.rss_mb))
    runs = [x for x in (R(f"bpe_{i}") for i in (1, 2, 3)) if x.ran]
    secs = med([x.wall_s for x in runs if x.ok])
    tk["bpe_train_4096_merges"] = {"seconds": secs, "peak_rss_mb": med([x.rss_mb for x in runs])}
    rows.append(("tokenizer", "bpe-train 4,096 merges (tiny Shakespeare)",
                 fmt(secs, " s", 2) if secs else (runs[0].why() if runs else "not available (bin/bpe-train missing)"),
                 "", tk["bpe_train_4096_merges"]["peak_rss_mb"]))


def kascade_rows(c, res, rows):
    """bin/bench-kascade, and perplexity dense vs Kascade"""
    R, a = c.R, c.a

    # ---- kascade: dense / Kascade from one process each (bin/bench-kascade), and perplexity ----
    ks = res["kascade"] = {}
    r = R("kascade_attn")
    for f in [line.split() for line in (r.out or "").splitlines()] if r.ok else []:
        if len(f) == 8 and f[0].isdigit() and f[1].isdigit():   # ctx queries dense kascade x anchors reuse sparsity
            e = dict(ctx=int(f[0]), queries=int(f[1]), dense_ms=float(f[2]), kascade_ms=float(f[3]),
                     anchors_ms=float(f[5]), reuse_ms=float(f[6]), sparsity_pct=float(f[7].rstrip("%")))
            e["speedup"] = e["dense_ms"] / e["kascade_ms"]
            ks["attention_%s" % ("decode" if e["queries"] == 1 else "prefill")] = e
    for kind, label in (("decode", "1 query"), ("prefill", "a 256-query chunk")):
        e = ks.get("attention_" + kind)
        rows.append(("kascade", f"attention, 16 layers (1B shape) at 4,096 keys, {label}",
                     f"{e['speedup']:.2f}x" if e else r.why() if r.ran and not r.ok else
                     "not available (bin/bench-kascade missing or no output)",
                     f"dense / Kascade (target >= 1.8x): {e['dense_ms']:.1f} vs {e['kascade_ms']:.1f} ms "
                     f"(anchors {e['anchors_ms']:.1f}, reuse {e['reuse_ms']:.1f}); {e['sparsity_pct']:.0f}% of "
                     f"tiles skipped in reuse layers" if e else "", r.rss_mb))
    r = R("kascade_decode")
    f = (r.out or "").strip().splitlines()[-1].split() if r.ok and (r.out or "").strip() else []
    e = ks["decode_1b"] = dict(zip(("ctx", "dense_ms", "kascade_ms", "speedup", "dense_attn_ms", "kascade_attn_ms"),
                                   [float(x.rstrip("x")) for x in f])) if len(f) == 6 else None
    rows.append(("kascade", "decode at position 8,191, 1B bf16 (random weights)",
                 f"{e['dense_ms'] / e['kascade_ms']:.2f}x" if e else r.why() if r.ran else
                 "not available (the 1B checkpoint missing)",
                 f"dense / Kascade ms per token (target > 1): {e['dense_ms']:.0f} vs {e['kascade_ms']:.0f} "
                 f"(attention {e['dense_attn_ms']:.0f} vs {e['kascade_attn_ms']:.0f})" if e else "", r.rss_mb))
    skip = read(os.path.join(a.run, "kascade_ppl.skip"))
    pp = {}
    for w in ("dense", "sparse"):
        r = R("kascade_ppl_" + w)
        m = re.search(r"perplexity ([\d.]+) over (\d+) tokens", r.out or "") if r.ok else None
        sp = re.search(r"sparsity ([\d.]+)%", r.out or "")
        pp[w] = (float(m.group(1)), float(sp.group(1)) if sp else None) if m else None
    cal = re.search(r"(\d+ of \d+ layers anchors:[\d ]+)", R("kascade_calib").err)
    e = ks["perplexity_512"] = dict(dense=pp["dense"][0], kascade=pp["sparse"][0], sparsity_pct=pp["sparse"][1],
                                    schedule=cal.group(1) if cal else None) if pp["dense"] and pp["sparse"] else None
    why = f"not available ({skip.strip()})" if skip else next(
        (R(n).why() for n in ("kascade_calib", "kascade_ppl_dense", "kascade_ppl_sparse") if not R(n).ok),
        "not available (no perplexity in the output)")
    rows.append(("kascade", "perplexity at 512, checkpoints/kascade_hf1024, Kascade vs dense",
                 f"{100 * (e['kascade'] / e['dense'] - 1):+.2f}%" if e else why,
                 f"{e['kascade']:.3f} vs {e['dense']:.3f} (target within 2%), {e['sparsity_pct']:.1f}% of tiles "
                 f"skipped in reuse layers; {e['schedule']}" if e else "", None))
