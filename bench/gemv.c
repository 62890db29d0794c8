// bench/gemv.c — where decode's bandwidth goes: one token's matrix-vector products against
// plain reads of the same bytes, in one process, alternating, so the machine's drift hits all
// three alike:
//   gemv      every weight matrix of a token (each layer's wq wk wv wo w1 w3 w2, then the
//             head) through matmul_forward with M = 1 — the code bin/infer decodes with
//   read-map  a sum over the same matrices' bytes, where they are: the mmapped safetensors
//             (4 KB pages of the page cache)
//   read-heap a sum over a 1 GiB malloc'd buffer (bench-limits' "memory read" with one stream
//             per thread; the kernel may back it with 2 MB pages)
//   gemv-heap the same products over a copy of the weights in malloc'd memory (2 MB pages
//             asked for), as if the model were read into memory instead of mapped
// gemv / read-map is our kernel's share of what the mapping allows; read-map / read-heap is what
// reading through the file mapping costs; gemv-heap / read-heap is the kernel's share where the
// pages cost nothing extra. GB/s each as the median of --reps passes.
//
// With --decode-steps N, then the whole decode step against the bandwidth limit, in one process:
// after a 16-token prompt, N times in turn, one greedy decode step (model_forward_kv for one
// token and the argmax of its logits: what bin/infer --temperature 0 does per token) and one pass
// of bench-limits' memory read over a 1 GiB heap buffer (read_streams, bench/bench.h, with the
// stream count that read fastest just before). Each pair gives a ratio, the token's weight bytes
// over its time against the read's GB/s; their median is decode's share of the bandwidth bound.
// The two halves of a pair run within a quarter of a second of each other, so the bandwidth's
// drift (tens of percent over minutes) hits both alike.
//
// With --quant q8_0 or q4_0 the model is quantized first as bin/infer --quant does it (the head
// to Q8_0), and every byte count is of the quantized blocks: decode then reads 8.5 or 4.5 bits a
// weight (about 1.9x and 3.6x fewer bytes than bf16), and its share of the read bound says how
// close the int8 kernels (model/quant.c) come to streaming them at the memory's speed.
//
// With --layout rows the quantized matrices stay in GGUF's row layout (the row kernels) instead
// of packed 16 rows to a group as bin/infer keeps them. --kernels times the kernels alone.
//
// usage: bench-gemv MODEL_DIR [--reps N] [--decode-steps N] [--quant q8_0|q4_0] [--layout packed|rows]
//        bench-gemv --kernels
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <omp.h>
#include "formats/hf_loader.h"
#include "model/ops.h"
#include "model/quant.h"
#include "bench/bench.h"
#include "util/errors.h"
#include "util/flags.h"

// sum of n 32-bit words, threads splitting the range, 16 partial sums each (adds never wait)
static uint32_t read_words(const uint32_t *p, size_t n) {
    uint32_t total = 0;
    #pragma omp parallel reduction(+:total)
    {
        uint32_t s[16] = {0};
        #pragma omp for schedule(static) nowait
        for (size_t i = 0; i < n / 16 * 16; i += 16)
            for (int j = 0; j < 16; j++) s[j] += p[i + j];
        for (int j = 0; j < 16; j++) total += s[j];
    }
    return total;
}

typedef struct { Mat w; int K, N; } Product;
static size_t mat_bytes(const Product *p) { return dtype_bytes(p->w.dtype, (size_t)p->K * p->N); }

typedef struct {
    int reps, decode_steps, kernels;
    char quant[8];   // "" (as stored), "q8_0" or "q4_0"
    int rows;        // 1: leave the quantized matrices unpacked (the row kernels)
} Options;

#define F(field) FLAG_FIELD(Options, field)
static const FlagRow flag_rows[] = {
    {"reps", K_INT, F(reps), 1, 100, 0, NULL, "7", 0, 0, "N", "passes per measurement, median reported"},
    {"decode-steps", K_INT, F(decode_steps), 0, 1000, 0, NULL, "0", 0, 0, "N",
     "also N greedy decode steps against the bandwidth limit (default 0: none)"},
    {"quant", K_CHOICE, F(quant), 0, 0, 0, "q8_0,q4_0", NULL, 0, 0, "q8_0|q4_0",
     "quantize the model first, as bin/infer --quant does (default: as stored)"},
    {"layout", K_ENUM, F(rows), 0, 0, 0, "packed,rows", "packed", 0, 0, "NAME",
     "quantized matrices packed 16 rows to a group, as bin/infer keeps them, or rows as in GGUF"},
    {"kernels", K_SWITCH, F(kernels), 0, 0, 0, NULL, NULL, 0, 0, NULL,
     "instead: each int8 kernel this CPU runs on one 256 x 2048 matrix in cache, one thread,\n"
     "rows and packed, GB/s of Q8_0 and Q4_0 weights (best of 300 calls; no MODEL_DIR)"},
};
static const FlagTable table = {
    .rows = flag_rows, .n_rows = sizeof flag_rows / sizeof flag_rows[0],
    .usage = "usage: bench-gemv MODEL_DIR [options]\n"
             "Decode's matrix-vector products against plain reads of the same bytes (MODEL_DIR: a Hugging\n"
             "Face directory, e.g. bench/models/...).\n",
};

// --kernels: the kernels alone, one thread on one matrix that fits in L2, each call quantizing
// x as the matmul does; docs/quantization.md's table
static int kernels_in_cache(void) {
    enum { N = 256, K = 2048 };
    float *w = malloc(sizeof(float) * N * K), *x = malloc(sizeof(float) * K), *out = malloc(sizeof(float) * N);
    void *scratch = aligned_alloc(64, quant_scratch_bytes(1, K));
    if (!w || !x || !out || !scratch) die("out of memory");
    uint64_t s = 1;
    for (int i = 0; i < N * K; i++) w[i] = (float)((s = s * 6364136223846793005ull + 1442695040888963407ull) >> 40) / (1 << 24) - 0.5f;
    for (int i = 0; i < K; i++) x[i] = (float)((s = s * 6364136223846793005ull + 1442695040888963407ull) >> 40) / (1 << 24) - 0.5f;
    omp_set_num_threads(1);
    printf("| kernel | Q8_0 rows | Q8_0 packed | Q4_0 rows | Q4_0 packed |   (GB/s, one thread, %d x %d in cache)\n", N, K);
    for (int k = 0; k < QUANT_KERNELS; k++) {
        if (!quant_kernel_supported(k)) continue;
        quant_kernel_set(k);
        printf("| %s |", quant_kernel_names[k]);
        for (int t = 0; t < 2; t++) {
            DType type = t ? DTYPE_Q4_0 : DTYPE_Q8_0;
            size_t bytes = dtype_bytes(type, (size_t)N * K);
            char *q = aligned_alloc(64, (bytes + 63) / 64 * 64), *p = aligned_alloc(64, (bytes + 63) / 64 * 64);
            if (!q || !p || quantize_mat(q, type, (Mat){w, DTYPE_F32}, N, K) != 0 || quant_pack_mat(p, q, type, N, K) != 0)
                die("out of memory");
            Mat mats[2] = {{q, type}, {p, t ? DTYPE_Q4_0_X16 : DTYPE_Q8_0_X16}};
            for (int v = 0; v < 2; v++) {
                double best = 1e30;
                for (int it = 0; it < (k == QUANT_KERNEL_REF ? 10 : 300); it++) {
                    double t0 = now_s();
                    quant_matmul_forward(out, x, mats[v], scratch, 1, K, N);
                    double dt = now_s() - t0;
                    if (dt < best) best = dt;
                }
                printf(" %.1f |", bytes / best / 1e9);
            }
            free(q); free(p);
        }
        printf("\n");
    }
    free(w); free(x); free(out); free(scratch);
    return 0;
}

int main(int argc, char **argv) {
    Options o = {0};
    unsigned char given[sizeof flag_rows / sizeof flag_rows[0]];
    int optind = flags_parse(&table, argc, argv, &o, given);
    if (o.kernels) {
        if (optind != argc) die("--kernels takes no MODEL_DIR");
        return kernels_in_cache();
    }
    if (optind != argc - 1) die("expected one MODEL_DIR (see --help)");
    int reps = o.reps, decode_steps = o.decode_steps;
    int quant = !o.quant[0] ? -1 : !strcmp(o.quant, "q8_0") ? DTYPE_Q8_0 : DTYPE_Q4_0;
    HfModel h;
    char err[1024];
    memset(&h, 0, sizeof h);
    int ctx = 16 + decode_steps + 2 > 64 ? 16 + decode_steps + 2 : 64;   // prompt, warm-up, steps
    if (hf_load(&h, argv[optind], 0, ctx, err, sizeof err) != 0) {
        fprintf(stderr, "bench-gemv: %s\n", err);
        return 1;
    }
    if (quant >= 0 && (model_quantize(h.model, quant, DTYPE_Q8_0, err, sizeof err) != 0 ||
                       (!o.rows && model_pack(h.model, err, sizeof err) != 0))) {
        fprintf(stderr, "bench-gemv: %s\n", err);
        return 1;
    }
    const Model *m = h.model;
    const Config *cf = &m->config;
    int C = cf->dim, H = cf->hidden_dim, QD = cf->n_heads * cf->head_dim, KVD = cf->n_kv_heads * cf->head_dim;
    int np = 7 * cf->n_layers + 1, maxK = C > H ? C : H;
    if (QD > maxK) maxK = QD;
    Product *pr = malloc(np * sizeof *pr);
    int k = 0;
    for (int l = 0; l < cf->n_layers; l++) {
        const LayerWeights *w = &m->w.layers[l];
        pr[k++] = (Product){w->wq, C, QD}; pr[k++] = (Product){w->wk, C, KVD};
        pr[k++] = (Product){w->wv, C, KVD}; pr[k++] = (Product){w->wo, QD, C};
        pr[k++] = (Product){w->w1, C, H}; pr[k++] = (Product){w->w3, C, H};
        pr[k++] = (Product){w->w2, H, C};
    }
    pr[k++] = (Product){m->w.lm_head, C, cf->vocab_size};
    size_t bytes = 0, maxN = 0;
    for (int i = 0; i < np; i++) {
        bytes += mat_bytes(&pr[i]);
        if ((size_t)pr[i].N > maxN) maxN = pr[i].N;
    }
    float *x = malloc(maxK * sizeof(float)), *out = malloc(maxN * sizeof(float));
    float *scratch = malloc(matmul_scratch_floats(maxK) * sizeof(float));   // bf16 pairs, or Q8_0 activations
    for (int i = 0; i < maxK; i++) x[i] = (float)((i % 7) - 3) * 0.01f;
    size_t heap_n = (1u << 30) / 4;
    uint32_t *heap = malloc(heap_n * 4);
    if (!pr || !x || !out || !scratch || !heap) { fprintf(stderr, "bench-gemv: out of memory\n"); return 1; }
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < heap_n; i++) heap[i] = (uint32_t)i;   // first touch by the reading thread
    // the weights copied into 2 MB-aligned heap memory, each matrix 64-byte aligned
    size_t huge = 2u << 20, copy_bytes = 0;
    for (int i = 0; i < np; i++) copy_bytes += (mat_bytes(&pr[i]) + 63) / 64 * 64;
    copy_bytes = (copy_bytes + huge - 1) / huge * huge;
    uint8_t *copy = aligned_alloc(huge, copy_bytes);
    Product *pc = malloc(np * sizeof *pc);
    if (!copy || !pc) { fprintf(stderr, "bench-gemv: out of memory\n"); return 1; }
    madvise(copy, copy_bytes, MADV_HUGEPAGE);
    for (size_t off = 0, i = 0; i < (size_t)np; i++) {
        size_t nb = mat_bytes(&pr[i]);
        pc[i] = pr[i];
        pc[i].w.data = copy + off;
        memcpy(copy + off, pr[i].w.data, nb);
        off += (nb + 63) / 64 * 64;
    }

    double *g = malloc(reps * sizeof(double)), *rm = malloc(reps * sizeof(double)), *rh = malloc(reps * sizeof(double));
    double *gh = malloc(reps * sizeof(double));
    if (!g || !rm || !rh || !gh) { fprintf(stderr, "bench-gemv: out of memory\n"); return 1; }
    volatile uint32_t sink = 0;
    for (int r = -1; r < reps; r++) {   // r = -1: warm-up (page tables, caches)
        double t0 = now_s();
        for (int i = 0; i < np; i++) matmul_forward(out, x, pr[i].w, scratch, 1, pr[i].K, pr[i].N);
        double t1 = now_s();
        for (int i = 0; i < np; i++)
            sink += read_words((const uint32_t *)pr[i].w.data, mat_bytes(&pr[i]) / 4);
        double t2 = now_s();
        sink += read_words(heap, heap_n);
        double t3 = now_s();
        for (int i = 0; i < np; i++) matmul_forward(out, x, pc[i].w, scratch, 1, pc[i].K, pc[i].N);
        double t4 = now_s();
        if (r < 0) continue;
        g[r] = bytes / (t1 - t0) / 1e9;
        rm[r] = bytes / (t2 - t1) / 1e9;
        rh[r] = heap_n * 4.0 / (t3 - t2) / 1e9;
        gh[r] = bytes / (t4 - t3) / 1e9;
    }
    double G = median(g, reps), RM = median(rm, reps), RH = median(rh, reps), GH = median(gh, reps);
    fprintf(stderr, "bench-gemv: %d threads, %.2f GB of weights per token, median of %d passes:\n"
                    "  gemv %.2f GB/s, read of the same mapping %.2f GB/s, read of a 1 GiB heap buffer %.2f GB/s,\n"
                    "  gemv over a heap copy of the weights %.2f GB/s\n"
                    "  gemv / read-map = %.0f%%, read-map / read-heap = %.0f%%, gemv / read-heap = %.0f%%, "
                    "gemv-heap / read-heap = %.0f%%\n",
            omp_get_max_threads(), bytes / 1e9, reps, G, RM, RH, GH, 100 * G / RM, 100 * RM / RH,
            100 * G / RH, 100 * GH / RH);
    printf("{\"weight_type\": \"%s\", \"weight_bytes\": %zu, \"gemv_gbs\": %.3f, \"read_map_gbs\": %.3f, \"read_heap_gbs\": %.3f, "
           "\"gemv_heap_gbs\": %.3f, \"sink\": %u", dtype_name(pr[0].w.dtype), bytes, G, RM, RH, GH, (unsigned)sink);
    free(copy);   // the heap copy is not needed below: decode reads the mapping, as bin/infer does
    copy = NULL;

    if (decode_steps) {
        Model *dm = h.model;
        int V = cf->vocab_size, n = decode_steps;
        if (model_kv_alloc(dm, ctx) != 0) { fprintf(stderr, "bench-gemv: cannot allocate the KV cache\n"); return 1; }
        float *hf = (float *)heap;   // refilled with plain floats (its words as floats would include denormals)
        #pragma omp parallel for schedule(static)
        for (size_t i = 0; i < heap_n; i++) hf[i] = (float)(i & 1023) * 1e-3f;
        // the read's stream count: bench-limits' choice, the fastest of 1, 2, 4, 8 here and now
        double by[4], rsum = 0;
        int best_S;
        read_fastest(hf, heap_n, 3, by, &best_S, &rsum);
        sink += (uint32_t)rsum;
        int tok[16];
        uint32_t lcg = 4242;
        for (int i = 0; i < 16; i++) tok[i] = (int)((lcg = lcg * 1664525u + 1013904223u) >> 8) % V;
        if (!model_forward_kv(dm, tok, 16, 0, 0)) { fprintf(stderr, "bench-gemv: prefill failed\n"); return 1; }
        int next = tok[15], pos = 16;
        double *ratio = malloc(n * sizeof(double)), *tps = malloc(n * sizeof(double)),
               *rg = malloc(n * sizeof(double));
        if (!ratio || !tps || !rg) { fprintf(stderr, "bench-gemv: out of memory\n"); return 1; }
        printf(",\n \"decode_read_streams\": %d, \"decode_pairs\": [", best_S);
        for (int i = -2; i < n; i++) {   // two warm-up pairs
            double t0 = now_s();
            const float *logits = model_forward_kv(dm, &next, 1, pos++, 0);
            if (!logits) { fprintf(stderr, "bench-gemv: decode step failed\n"); return 1; }
            int arg = 0;
            for (int v = 1; v < V; v++) if (logits[v] > logits[arg]) arg = v;
            next = arg;
            double t1 = now_s();
            sink += (uint32_t)read_streams(hf, heap_n, best_S);
            double t2 = now_s();
            if (i < 0) continue;
            tps[i] = 1.0 / (t1 - t0);
            rg[i] = heap_n * 4.0 / (t2 - t1) * 1e-9;
            ratio[i] = bytes / (t1 - t0) * 1e-9 / rg[i];
            printf("%s\n  {\"token_ms\": %.2f, \"read_gbs\": %.3f, \"ratio\": %.4f}", i ? "," : "",
                   (t1 - t0) * 1e3, rg[i], ratio[i]);
        }
        double r_med = median(ratio, n), q1 = ratio[n / 4], q3 = ratio[(3 * n) / 4 < n ? (3 * n) / 4 : n - 1];
        double t_med = median(tps, n), g_med = median(rg, n);
        fprintf(stderr, "decode against the memory read, %d pairs in one process (%.3f GB of weights a token; "
                "read: %d streams per thread):\n  decode %.2f tokens/s, read %.2f GB/s (medians); decode / "
                "bound: median %.1f%%, middle half %.1f%% to %.1f%%, range %.1f%% to %.1f%%\n",
                n, bytes / 1e9, best_S, t_med, g_med, 100 * r_med, 100 * q1, 100 * q3, 100 * ratio[0],
                100 * ratio[n - 1]);
        printf("],\n \"decode_tok_s\": %.3f, \"decode_read_gbs\": %.3f, \"decode_ratio_median\": %.4f, "
               "\"decode_ratio_q1\": %.4f, \"decode_ratio_q3\": %.4f", t_med, g_med, r_med, q1, q3);
        free(ratio), free(tps), free(rg);
    }
    printf(", \"sink2\": %u}\n", (unsigned)sink);
    hf_free(&h);
    free(pr); free(pc); free(x); free(out); free(scratch); free(heap); free(g); free(rm); free(rh); free(gh);
    return 0;
}
