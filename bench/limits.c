// bench/limits.c — this machine's two speed limits, measured the way our programs meet them.
//
// 1. Matmul: OpenBLAS cblas_sgemm GFLOP/s at the shapes of one training step of a given model
//    config (every linear layer forward + both backward products, with the same transposes the
//    model uses), each shape timed as the median of several repetitions, plus their
//    FLOP-weighted aggregate: the rate a training step made only of sgemm would reach.
// 2. Memory: bandwidth GB/s, STREAM-style, over arrays of >= 1 GiB so no cache helps:
//      read   s += a[i]              bytes = 4 * n       (what decode does with its weights),
//             with 1, 2, 4 and 8 streams per thread; the fastest counts
//      triad  a[i] = b[i] + q * c[i] bytes = 3 * 4 * n   (STREAM's count: write-allocate not counted)
//    OpenMP threads split the arrays; first touch happens in the same threads so pages are local.
// 3. With --train-steps N: the training step itself against those sgemms, in one process. N times
//    in turn, one training step of a model of these shapes (what bin/train runs per update) and
//    one pass over the step's sgemm shapes; each pair gives a ratio (the step's FLOP rate over
//    the pass's), and their median is the step's share of the sgemm limit. The two halves of a
//    pair run within half a second of each other, so the machine's drift (tens of percent over
//    minutes, and one core often slower than the other for seconds at a time) hits both alike.
//
// Data (one JSON object) goes to stdout; a readable summary to stderr. OPENBLAS_CORETYPE is only
// reported, never set: the user's environment decides which OpenBLAS kernels run.
#include <cblas.h>
#include <getopt.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bench/bench.h"
#include "util/errors.h"
#include "util/flags.h"
#include "model/model.h"
#include "train/adamw.h"

// One sgemm of a training step: C(M,N) = op(A) op(B), row-major, as the model calls it.
//   forward   out(BT,out)  = x(BT,in)    . W(out,in)^T     NoTrans, Trans
//   backward  dx(BT,in)   += dout(BT,out) . W(out,in)      NoTrans, NoTrans
//             dW(out,in)  += dout(BT,out)^T . x(BT,in)     Trans,   NoTrans
//   attention, per (sequence, head, layer), on views into the (T, NH*HD) / (T, NKV*HD) rows:
//   S = Q K^T, O = P V forward; dP = dO V^T, dV = P^T dO, dQ = dS K, dK = dS^T Q backward
typedef struct {
    char name[48];
    int M, N, K;
    int transA, transB;
    int count;          // how many times a training step runs it (e.g. n_layers)
    int lda, ldb, ldc;  // leading dimensions; 0 = packed
    int attention;      // 1: one of attention's products (else a linear layer's)
    double gflops;      // the faster of the two ways time_gemm tries
    int split;          // 1: the OpenMP split was the faster
} Gemm;

static int ld_a(const Gemm *g) { return g->lda ? g->lda : (g->transA ? g->M : g->K); }
static int ld_b(const Gemm *g) { return g->ldb ? g->ldb : (g->transB ? g->K : g->N); }
static int ld_c(const Gemm *g) { return g->ldc ? g->ldc : g->N; }
static size_t elems_a(const Gemm *g) { return (size_t)(g->transA ? g->K : g->M) * ld_a(g); }
static size_t elems_b(const Gemm *g) { return (size_t)(g->transB ? g->N : g->K) * ld_b(g); }
static size_t elems_c(const Gemm *g) { return (size_t)g->M * ld_c(g); }

// Time one product two ways and keep the faster, so the limit is the best OpenBLAS offers:
//   "blas"  one cblas_sgemm call, OpenBLAS splitting it over its threads;
//   "split" (OpenMP build only, where a call inside a parallel region runs on one thread) the
//           OpenMP threads each run single-threaded sgemms: a share of the rows of a linear
//           layer, or whole heads of attention — how the model may choose to run them.
// Attention's products are small and come one per head: a run of them is timed, call overhead
// included. C accumulates (beta = 1); each thread of a head split writes its own C.
static double time_one(const Gemm *g, int reps, int split, const float *A, const float *B, float *C) {
    double t[64];
    int lda = ld_a(g), ldb = ld_b(g), ldc = ld_c(g);
    int calls = g->attention ? (g->count < 64 ? g->count : 64) : 1;
    CBLAS_TRANSPOSE ta = g->transA ? CblasTrans : CblasNoTrans, tb = g->transB ? CblasTrans : CblasNoTrans;
    for (int r = -1; r < reps; r++) { // r = -1: warm-up (threads start, pages fault in)
        double t0 = now_s();
        if (!split) {
            for (int c = 0; c < calls; c++)
                cblas_sgemm(CblasRowMajor, ta, tb, g->M, g->N, g->K, 1.0f, A, lda, B, ldb, 1.0f, C, ldc);
        } else if (g->attention) {
#pragma omp parallel for schedule(static)
            for (int c = 0; c < calls; c++)
                cblas_sgemm(CblasRowMajor, ta, tb, g->M, g->N, g->K, 1.0f, A, lda, B, ldb, 1.0f,
                            C + (size_t)omp_get_thread_num() * elems_c(g), ldc);
        } else {
#pragma omp parallel
            {
                int nt = omp_get_num_threads(), id = omp_get_thread_num();
                int m0 = (int)((long)g->M * id / nt), m1 = (int)((long)g->M * (id + 1) / nt);
                const float *a = g->transA ? A + m0 : A + (size_t)m0 * lda;
                if (m1 > m0)
                    cblas_sgemm(CblasRowMajor, ta, tb, m1 - m0, g->N, g->K, 1.0f, a, lda, B, ldb,
                                1.0f, C + (size_t)m0 * ldc, ldc);
            }
        }
        double dt = now_s() - t0;
        if (r >= 0) t[r] = dt / calls;
    }
    return 2.0 * g->M * g->N * g->K / median(t, reps) * 1e-9;
}

static void time_gemm(Gemm *g, int reps, int can_split, const float *A, const float *B, float *C) {
    if (reps > 64) reps = 64;
    double blas = time_one(g, reps, 0, A, B, C);
    double split = can_split ? time_one(g, reps, 1, A, B, C) : 0;
    g->gflops = blas >= split ? blas : split;
    g->split = split > blas;
}

// The linear layers of one (BT rows) training step; lm_head is (V,C), so its forward is
// (BT,C).(C,V) — the largest product of a small model.
static int step_gemms(Gemm *g, int BT, int T, int C, int L, int NH, int NKV, int HD, int H, int V,
                      int fwd_only, int no_head) {
    struct { const char *name; int out, in, count; } lin[] = {
        {"wq", NH * HD, C, L},  {"wk", NKV * HD, C, L}, {"wv", NKV * HD, C, L},
        {"wo", C, NH * HD, L},  {"w1", H, C, L},        {"w3", H, C, L},
        {"w2", C, H, L},        {"lm_head", V, C, 1},
    };
    int n = 0;
    for (size_t i = 0; i < sizeof lin / sizeof lin[0]; i++) {
        if (no_head && !strcmp(lin[i].name, "lm_head")) continue;
        int o = lin[i].out, in = lin[i].in;
        Gemm fwd = {"", BT, o, in, 0, 1, lin[i].count, 0, 0, 0, 0, 0, 0};
        Gemm dx = {"", BT, in, o, 0, 0, lin[i].count, 0, 0, 0, 0, 0, 0};
        Gemm dw = {"", o, in, BT, 1, 0, lin[i].count, 0, 0, 0, 0, 0, 0};
        snprintf(fwd.name, sizeof fwd.name, "%s fwd", lin[i].name);
        snprintf(dx.name, sizeof dx.name, "%s bwd dx", lin[i].name);
        snprintf(dw.name, sizeof dw.name, "%s bwd dW", lin[i].name);
        g[n++] = fwd;
        if (!fwd_only) g[n++] = dx, g[n++] = dw;
    }
    // attention over the full T x T square (what the FLOP count assumes), one sgemm per head
    int qd = NH * HD, kd = NKV * HD, cnt = BT / T * NH * L;
    Gemm att[6] = {
        {"att S=QK^T fwd", T, T, HD, 0, 1, cnt, qd, kd, T, 1, 0, 0},
        {"att O=PV fwd", T, HD, T, 0, 0, cnt, T, kd, qd, 1, 0, 0},
        {"att dP=dO V^T", T, T, HD, 0, 1, cnt, qd, kd, T, 1, 0, 0},
        {"att dV=P^T dO", T, HD, T, 1, 0, cnt, T, qd, kd, 1, 0, 0},
        {"att dQ=dS K", T, HD, T, 0, 0, cnt, T, kd, qd, 1, 0, 0},
        {"att dK=dS^T Q", T, HD, T, 1, 0, cnt, T, qd, kd, 1, 0, 0},
    };
    for (int i = 0; i < (fwd_only ? 2 : 6); i++) g[n++] = att[i];
    return n;
}


// One training step, as bin/train runs an update (train/train.c's loop, one micro-batch):
// zero the gradients, forward with dropout, backward, global-norm clip, AdamW over every tensor
// (weight decay on all but the RMSNorm gains). The settings are scripts/bench.sh's for its
// bin/train runs: dropout 0.1 on the residual branches, none on attention, weight decay 0.1,
// clip at 1.0. Random weights and tokens: the shapes, not the values, set the speed.
typedef struct {
    Model *m;
    float *adam_m, *adam_v;
    int decay[NUM_PARAM_TENSORS];
    int *inputs, *targets;
    int B, T;
    long step;
} StepRun;

static int step_run_init(StepRun *s, int BT, int T, int C, int L, int NH, int NKV, int HD, int H, int V) {
    memset(s, 0, sizeof *s);
    Config c = {0};
    c.dim = C; c.n_layers = L; c.n_heads = NH; c.n_kv_heads = NKV; c.head_dim = HD;
    c.hidden_dim = H; c.vocab_size = V; c.max_seq_len = T;
    c.norm_eps = 1e-5f; c.rope_theta = 10000.0f; c.tied_embeddings = 1;   // as bin/train's models
    c.dropout = 0.1f; c.att_dropout = 0.0f;
    char err[256];
    s->m = model_create(&c, 1, err, sizeof err);
    if (!s->m) { fprintf(stderr, "bench-limits: %s\n", err); return -1; }
    model_init_random(s->m, 1);
    s->m->training = 1;
    s->m->dropout_seed = 2;
    s->B = BT / T, s->T = T;
    for (int t = 0; t < NUM_PARAM_TENSORS; t++) s->decay[t] = adamw_decays(param_tensor_names[t], 0);
    size_t np = s->m->num_parameters;
    s->adam_m = calloc(np, sizeof(float));
    s->adam_v = calloc(np, sizeof(float));
    s->inputs = malloc(BT * sizeof(int));
    s->targets = malloc(BT * sizeof(int));
    if (!s->adam_m || !s->adam_v || !s->inputs || !s->targets) { fprintf(stderr, "bench-limits: out of memory\n"); return -1; }
    uint32_t x = 777;
    for (int i = 0; i < BT; i++) {
        s->inputs[i] = (int)((x = x * 1664525u + 1013904223u) >> 8) % V;
        s->targets[i] = (int)((x = x * 1664525u + 1013904223u) >> 8) % V;
    }
    return 0;
}

static double step_run_once(StepRun *s) {   // seconds
    Model *m = s->m;
    double t0 = now_s();
    model_zero_grad(m);
    m->dropout_step = (uint64_t)s->step;
    model_forward(m, s->inputs, s->targets, s->B, s->T);
    model_backward(m);
    size_t np = m->num_parameters;
    double norm = grad_global_norm(m->grads_memory, np);
    grad_clip(m->grads_memory, np, norm, 1.0f);
    adamw_update_tensors(m->params_memory, m->grads_memory, s->adam_m, s->adam_v, m->param_sizes, s->decay,
                         NUM_PARAM_TENSORS, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, (uint64_t)s->step + 1);
    s->step++;
    return now_s() - t0;
}

static void step_run_free(StepRun *s) {
    model_free(s->m);
    free(s->adam_m), free(s->adam_v), free(s->inputs), free(s->targets);
}

typedef struct {
    int rows, T, C, L, NH, NKV, HD, H, V, reps, no_mem, no_gemm, fwd_only, no_head, train_steps;
    double mem_gib;
} Options;

#define F(field) FLAG_FIELD(Options, field)
#define MAX (1 << 30)
static const FlagRow flag_rows[] = {
    {"rows", K_INT, F(rows), 1, MAX, 0, NULL, "2048", 0, 0, "N", "B*T rows of the training step (2048 = 8x256)"},
    {"seq", K_INT, F(T), 1, MAX, 0, NULL, "256", 0, 0, "N", "sequence length T of attention's products"},
    {"dim", K_INT, F(C), 1, MAX, 0, NULL, "128", 0, 0, "N", "model dim C"},
    {"n-layers", K_INT, F(L), 1, MAX, 0, NULL, "4", 0, 0, "N", "layers L"},
    {"n-heads", K_INT, F(NH), 1, MAX, 0, NULL, "4", 0, 0, "N", "query heads"},
    {"n-kv-heads", K_INT, F(NKV), 1, MAX, 0, NULL, NULL, 0, 0, "N", "key/value heads (default = n-heads)"},
    {"head-dim", K_INT, F(HD), 1, MAX, 0, NULL, NULL, 0, 0, "N", "head dim (default dim / n-heads)"},
    {"hidden-dim", K_INT, F(H), 1, MAX, 0, NULL, NULL, 0, 0, "N",
     "SwiGLU width H (default 8*dim/3 rounded up to a multiple of 256, as Llama: 512 for 128)"},
    {"vocab", K_INT, F(V), 1, MAX, 0, NULL, "1024", 0, 0, "N", "vocabulary V"},
    {"reps", K_INT, F(reps), 1, MAX, 0, NULL, "7", 0, 0, "N", "repetitions per measurement (at most 64 are run), median reported"},
    {"mem-gib", K_F64, F(mem_gib), 0, 16, 1, NULL, "1", 0, 0, "X", "size of the read array in GiB; triad uses 3 arrays of half"},
    {"fwd-only", K_SWITCH, F(fwd_only), 0, 0, 0, NULL, NULL, 0, 0, NULL, "only the forward products (prefill: no backward)"},
    {"no-head", K_SWITCH, F(no_head), 0, 0, 0, NULL, NULL, 0, 0, NULL, "leave out the output head (prefill runs it for one row only)"},
    {"no-mem", K_SWITCH, F(no_mem), 0, 0, 0, NULL, NULL, 0, 0, NULL, "skip the bandwidth measurement"},
    {"no-gemm", K_SWITCH, F(no_gemm), 0, 0, 0, NULL, NULL, 0, 0, NULL, "skip the sgemm measurement"},
    {"train-steps", K_INT, F(train_steps), 1, MAX, 0, NULL, NULL, 0, 0, "N",
     "alternate N training steps with N passes over the sgemm shapes (default 0: none)"},
};
static const FlagTable table = {
    flag_rows, sizeof flag_rows / sizeof flag_rows[0],
    "usage: bench-limits [options]\n"
    "Measures OpenBLAS sgemm GFLOP/s at a training step's shapes and memory bandwidth.\n",
    NULL, NULL, NULL, NULL,
};

int main(int argc, char **argv) {
    Options o = {0};
    unsigned char given[sizeof flag_rows / sizeof flag_rows[0]];
    if (flags_parse(&table, argc, argv, &o, given) < argc) die("unexpected argument \"%s\"", argv[optind]);
    int T = o.T, C = o.C, L = o.L, NH = o.NH, NKV = o.NKV, HD = o.HD, H = o.H, V = o.V, reps = o.reps < 64 ? o.reps : 64;
    double mem_gib = o.mem_gib;
    int do_mem = !o.no_mem, do_gemm = !o.no_gemm, fwd_only = o.fwd_only, no_head = o.no_head, train_steps = o.train_steps;
    int rows = o.rows;
    if (!NKV) NKV = NH;
    if (!HD) HD = C / NH;
    if (!H) H = 256 * ((8 * C / 3 + 255) / 256); // Llama's rounding of 8C/3 up to a multiple of 256
    if (rows % T) {
        fprintf(stderr, "bench-limits: --rows %d is not a multiple of --seq %d\n", rows, T);
        return 1;
    }
    if (train_steps && (!do_gemm || fwd_only || no_head)) {
        fprintf(stderr, "bench-limits: --train-steps needs the whole step's sgemms (no --no-gemm, "
                "--fwd-only or --no-head)\n");
        return 1;
    }
    if (NH % NKV) {
        fprintf(stderr, "bench-limits: --n-heads %d is not a multiple of --n-kv-heads %d\n", NH, NKV);
        return 1;
    }

    const char *coretype = getenv("OPENBLAS_CORETYPE");
    char *cfg = openblas_get_config(), *core = openblas_get_corename();
    int blas_threads = openblas_get_num_threads(), omp_threads = omp_get_max_threads();
    fprintf(stderr, "OPENBLAS_CORETYPE=%s  core=%s  blas threads=%d  omp threads=%d\n  config: %s\n",
            coretype ? coretype : "(unset)", core, blas_threads, omp_threads, cfg);
    printf("{\n  \"openblas_coretype_env\": %s%s%s,\n  \"openblas_core\": \"%s\",\n"
           "  \"openblas_config\": \"%s\",\n  \"blas_threads\": %d,\n  \"omp_threads\": %d",
           coretype ? "\"" : "", coretype ? coretype : "null", coretype ? "\"" : "", core, cfg,
           blas_threads, omp_threads);

    if (do_gemm) {
        Gemm g[40];
        int ng = step_gemms(g, rows, T, C, L, NH, NKV, HD, H, V, fwd_only, no_head);
        size_t maxa = 0, maxb = 0, maxc = 0;
        for (int i = 0; i < ng; i++) {
            size_t a = elems_a(&g[i]), b = elems_b(&g[i]), cc = elems_c(&g[i]);
            if (a > maxa) maxa = a;
            if (b > maxb) maxb = b;
            if (cc > maxc) maxc = cc;
        }
        float *A = aligned_alloc(64, (maxa * 4 + 63) / 64 * 64);
        float *B = aligned_alloc(64, (maxb * 4 + 63) / 64 * 64);
        // one C per OpenMP thread for the head split
        float *Cm = aligned_alloc(64, (maxc * omp_threads * 4 + 63) / 64 * 64);
        if (!A || !B || !Cm) { fprintf(stderr, "bench-limits: out of memory\n"); return 1; }
        uint32_t x = 12345; // small LCG: values in [-1, 1), no denormals
        for (size_t i = 0; i < maxa; i++) A[i] = ((x = x * 1664525u + 1013904223u) >> 8) * 0x1p-23f - 1.0f;
        for (size_t i = 0; i < maxb; i++) B[i] = ((x = x * 1664525u + 1013904223u) >> 8) * 0x1p-23f - 1.0f;
        memset(Cm, 0, maxc * omp_threads * 4);
        // openblas_get_parallel(): 0 sequential, 1 pthreads, 2 OpenMP
        int can_split = openblas_get_parallel() == 2 && omp_threads > 1;
        fprintf(stderr, "sgemm at %s shapes (rows %d, T=%d, C=%d L=%d NH=%d NKV=%d HD=%d H=%d V=%d%s), "
                "median of %d:\n", fwd_only ? "forward" : "a training step's", rows, T, C, L, NH, NKV, HD,
                H, V, no_head ? ", no head" : "", reps);
        double flops = 0, secs = 0, best = 0, lm_fwd = 0, aflops = 0, asecs = 0;
        printf(",\n  \"shape\": {\"rows\": %d, \"seq\": %d, \"dim\": %d, \"n_layers\": %d, \"n_heads\": %d, "
               "\"n_kv_heads\": %d, \"head_dim\": %d, \"hidden_dim\": %d, \"vocab\": %d, "
               "\"fwd_only\": %d, \"no_head\": %d},\n"
               "  \"sgemm\": [", rows, T, C, L, NH, NKV, HD, H, V, fwd_only, no_head);
        // a first untimed pass over every shape: thread pools start, the CPU leaves idle clocks,
        // buffers fault in (the first shapes measured were otherwise several times too slow)
        for (int i = 0; i < ng; i++) time_gemm(&g[i], 1, can_split, A, B, Cm);
        for (int i = 0; i < ng; i++) {
            time_gemm(&g[i], reps, can_split, A, B, Cm);
            double f = 2.0 * g[i].M * g[i].N * g[i].K * g[i].count;
            flops += f;
            secs += f / (g[i].gflops * 1e9);
            if (g[i].attention) aflops += f, asecs += f / (g[i].gflops * 1e9);
            if (g[i].gflops > best) best = g[i].gflops;
            if (!strcmp(g[i].name, "lm_head fwd")) lm_fwd = g[i].gflops;
            fprintf(stderr, "  %-16s (%5d x %5d) . (%5d x %5d)%s  x%-4d %7.1f GFLOP/s%s\n", g[i].name,
                    g[i].M, g[i].K, g[i].K, g[i].N,
                    g[i].transA ? " A^T" : (g[i].transB ? " B^T" : "    "), g[i].count, g[i].gflops,
                    g[i].split ? "  (OpenMP split)" : "");
            printf("%s\n    {\"name\": \"%s\", \"M\": %d, \"N\": %d, \"K\": %d, \"transA\": %d, "
                   "\"transB\": %d, \"count\": %d, \"gflops\": %.2f, \"method\": \"%s\"}",
                   i ? "," : "", g[i].name, g[i].M, g[i].N, g[i].K, g[i].transA, g[i].transB,
                   g[i].count, g[i].gflops, g[i].split ? "split" : "blas");
        }
        // The aggregate: all of a step's matmul FLOPs (linear layers + attention, the same
        // products the FLOP count 6N + 12LTC counts) over the time their sgemms take.
        double step_rate = flops / secs * 1e-9;
        double lin_rate = (flops - aflops) / (secs - asecs) * 1e-9, att_rate = aflops / asecs * 1e-9;
        fprintf(stderr, "  step aggregate (FLOP-weighted): %.1f GFLOP/s  (%.3f GFLOP, %.1f ms); linear "
                "layers %.1f, attention %.1f; best shape %.1f\n", step_rate, flops * 1e-9, secs * 1e3,
                lin_rate, att_rate, best);
        printf("\n  ],\n  \"sgemm_step_gflops\": %.2f,\n  \"sgemm_step_gflop\": %.4f,\n"
               "  \"sgemm_linear_gflops\": %.2f,\n  \"sgemm_attention_gflops\": %.2f,\n"
               "  \"sgemm_best_gflops\": %.2f,\n  \"sgemm_lm_head_fwd_gflops\": %.2f",
               step_rate, flops * 1e-9, lin_rate, att_rate, best, lm_fwd);

        if (train_steps) {
            // step / pass pairs; the first two are warm-up (buffers fault in, thread pools start)
            StepRun sr;
            if (step_run_init(&sr, rows, T, C, L, NH, NKV, HD, H, V) != 0) return 1;
            double step_flops = (6.0 * sr.m->num_parameters + 12.0 * L * T * C) * rows;
            int n = train_steps;
            double *ratio = malloc(n * sizeof(double)), *sg = malloc(n * sizeof(double)),
                   *st = malloc(n * sizeof(double));
            if (!ratio || !sg || !st) { fprintf(stderr, "bench-limits: out of memory\n"); return 1; }
            printf(",\n  \"train_pairs\": [");
            for (int i = -2; i < n; i++) {
                double secs_step = step_run_once(&sr), secs_pass = 0;
                for (int k = 0; k < ng; k++) {
                    Gemm one = g[k];
                    double f = 2.0 * one.M * one.N * one.K * one.count;
                    secs_pass += f / (time_one(&one, 1, one.split, A, B, Cm) * 1e9);
                }
                if (i < 0) continue;
                st[i] = step_flops / secs_step * 1e-9;
                sg[i] = flops / secs_pass * 1e-9;
                ratio[i] = st[i] / sg[i];
                printf("%s\n    {\"step_ms\": %.2f, \"step_gflops\": %.2f, \"sgemm_gflops\": %.2f, "
                       "\"ratio\": %.4f}", i ? "," : "", secs_step * 1e3, st[i], sg[i], ratio[i]);
            }
            // medians, and the middle half of the ratios (quartiles) to show how tight they are
            double r_med = median(ratio, n), q1 = ratio[n / 4], q3 = ratio[(3 * n) / 4 < n ? (3 * n) / 4 : n - 1];
            double st_med = median(st, n), sg_med = median(sg, n);
            fprintf(stderr, "training step against the sgemm pass, %d pairs in one process (%.4g FLOP a step: "
                    "6 x %zu params + 12 L T C, per token, x %d tokens):\n  step %.1f GFLOP/s, sgemm pass "
                    "%.1f GFLOP/s (medians); step / pass: median %.1f%%, middle half %.1f%% to %.1f%%, "
                    "range %.1f%% to %.1f%%\n", n, step_flops, sr.m->num_parameters, rows, st_med, sg_med,
                    100 * r_med, 100 * q1, 100 * q3, 100 * ratio[0], 100 * ratio[n - 1]);
            printf("\n  ],\n  \"train_step_flops\": %.6g,\n  \"train_params\": %zu,\n"
                   "  \"train_step_gflops\": %.2f,\n  \"train_pass_sgemm_gflops\": %.2f,\n"
                   "  \"train_ratio_median\": %.4f,\n  \"train_ratio_q1\": %.4f,\n  \"train_ratio_q3\": %.4f",
                   step_flops, sr.m->num_parameters, st_med, sg_med, r_med, q1, q3);
            free(ratio), free(sg), free(st);
            step_run_free(&sr);
        }
        free(A), free(B), free(Cm);
    }

    if (do_mem) {
        size_t n = (size_t)(mem_gib * (1ull << 30)) / 4 / 4096 * 4096; // floats in the read array
        size_t nt = n / 2;                                 // each triad array: half of that
        float *a = aligned_alloc(64, n * 4);
        if (!a) { fprintf(stderr, "bench-limits: out of memory for %.2f GiB\n", mem_gib); return 1; }
        // first touch by the threads that will read: pages land where they are used
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) a[i] = (float)(i & 1023) * 1e-3f;
        // the read, once for each number of streams per thread; the fastest is the limit
        double sum = 0, read_by[4];
        int best_streams;
        double read_gbs = read_fastest(a, n, reps, read_by, &best_streams, &sum);
        free(a);

        float *ta = aligned_alloc(64, nt * 4), *tb = aligned_alloc(64, nt * 4),
              *tc = aligned_alloc(64, nt * 4);
        if (!ta || !tb || !tc) { fprintf(stderr, "bench-limits: out of memory for triad\n"); return 1; }
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < nt; i++) ta[i] = 0.0f, tb[i] = 1.0f, tc[i] = 2.0f;
        const float q = 3.0f;
        double tt[64];
        for (int r = -1; r < reps; r++) {
            double t0 = now_s();
#pragma omp parallel for simd schedule(static)
            for (size_t i = 0; i < nt; i++) ta[i] = tb[i] + q * tc[i];
            double dt = now_s() - t0;
            if (r >= 0) tt[r] = dt;
        }
        double triad_gbs = 3.0 * 4.0 * nt / median(tt, reps) * 1e-9;
        sum += ta[nt / 3];
        free(ta), free(tb), free(tc);
        fprintf(stderr, "memory bandwidth (%d OpenMP threads, median of %d): read %.1f GB/s over "
                "%.2f GiB (%d streams per thread; 1, 2, 4, 8 streams: %.1f, %.1f, %.1f, %.1f); "
                "triad %.1f GB/s over 3 x %.2f GiB   (checksum %.3g)\n",
                omp_threads, reps, read_gbs, n * 4.0 / (1ull << 30), best_streams, read_by[0],
                read_by[1], read_by[2], read_by[3], triad_gbs, nt * 4.0 / (1ull << 30), sum);
        printf(",\n  \"mem_read_gbs\": %.2f,\n  \"mem_read_streams\": %d,\n"
               "  \"mem_read_gbs_by_streams\": {\"1\": %.2f, \"2\": %.2f, \"4\": %.2f, \"8\": %.2f},\n"
               "  \"mem_triad_gbs\": %.2f,\n  \"mem_read_bytes\": %zu,\n  \"mem_triad_bytes\": %zu",
               read_gbs, best_streams, read_by[0], read_by[1], read_by[2], read_by[3], triad_gbs,
               n * 4, 3 * nt * 4);
    }
    printf(",\n  \"reps\": %d\n}\n", reps);
    return 0;
}
