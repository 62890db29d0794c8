// tests/test_quant.c — Q8_0 / Q4_0 / K-quant blocks and the int8 kernels: every kernel this CPU
// runs against the dequantize-then-float reference; f32 -> f16 against the CPU's own F16C
// conversion; the matmul against a plain double loop; and greedy decoding of a quantized
// fixture model against the unquantized one where the model's margins allow.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "infer/load.h"
#include "model/ops.h"
#include "model/quant.h"
#include "tests/test.h"
#if defined(__x86_64__)
#include <immintrin.h>
#endif

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static float frand(void) { // uniform in [-1, 1)
    rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) * (1.0 / (1 << 23)) - 1.0);
}

#if defined(__x86_64__)
__attribute__((target("f16c"))) static uint16_t f16c_convert(float f) { return _cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT); }
#endif

static void test_f16(void) {
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {  // every finite half survives widen + narrow
        if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) continue; // NaN payloads
        if (f32_to_f16(f16_to_f32((uint16_t)h)) != h) bad++;
    }
    CHECK(bad == 0, "f32_to_f16(f16_to_f32(h)) == h for all 63488 non-NaN halves: %d differ", bad);
#if defined(__x86_64__)
    if (__builtin_cpu_supports("f16c")) {
        int diff = 0;
        for (int i = 0; i < 1000000; i++) {  // random bit patterns over the whole float range
            uint32_t u = (uint32_t)(rng_state >> 16) ^ (uint32_t)i * 2654435761u;
            frand();
            float f;
            memcpy(&f, &u, 4);
            if (isnan(f)) continue;
            if (f32_to_f16(f) != f16c_convert(f)) diff++;
        }
        CHECK(diff == 0, "f32_to_f16 == F16C vcvtps2ph on 1e6 random floats: %d differ", diff);
    }
#endif
}

// x = d * q: the stored blocks give back values within half a step of the input
static void test_roundtrip(void) {
    enum { K = 4096 };
    float x[K], y[K];
    for (int i = 0; i < K; i++) x[i] = frand() * (i % 7 + 1);
    BlockQ8_0 q8[K / 32];
    BlockQ4_0 q4[K / 32];
    quantize_row_q8_0(q8, x, K);
    quantize_row_q4_0(q4, x, K);
    double w8 = 0, w4 = 0;
    dequantize_row(DTYPE_Q8_0, q8, y, K);
    for (int i = 0; i < K; i++) w8 = fmax(w8, fabs(y[i] - x[i]) / f16_to_f32(q8[i / 32].d));
    dequantize_row(DTYPE_Q4_0, q4, y, K);
    for (int i = 0; i < K; i++) w4 = fmax(w4, fabs(y[i] - x[i]) / fabsf(f16_to_f32(q4[i / 32].d)));
    // half a step, plus the f16 rounding of d (relative 2^-11) times the largest |q| (127, 8)
    CHECK(w8 <= 0.5 + 127.0 / 2048, "Q8_0 round trip: max err %.4f steps (tol 0.562)", w8);
    CHECK(w4 <= 1.0 + 8.0 / 2048, "Q4_0 round trip: max err %.4f steps (tol 1.004: the far end of the range clips at 7)", w4);
    // the layout by hand: one block of 0, 1, ..., 31 scaled so d = -31/-8
    float r[32];
    for (int i = 0; i < 32; i++) r[i] = (float)i;
    BlockQ4_0 b;
    quantize_row_q4_0(&b, r, 32);
    // max = 31 -> d = -31/8, q = round(x / d + 8): element 0 -> 8, element 31 -> 0
    int lo0 = b.qs[0] & 0xF, hi15 = b.qs[15] >> 4, lo15 = b.qs[15] & 0xF;
    CHECK(lo0 == 8 && hi15 == 0 && lo15 == (int)(15 / (-31.0f / 8) + 8.5f),
          "Q4_0 nibbles: element 0 in byte 0's low nibble (%d, want 8), element 31 in byte 15's high (%d, want 0)",
          lo0, hi15);
    BlockQ8_0 b8;
    quantize_row_q8_0(&b8, r, 32);
    CHECK(b8.qs[31] == 127 && f16_to_f32(b8.d) == f16_to_f32(f32_to_f16(31.0f / 127)),
          "Q8_0: the largest value maps to 127 (%d), d = max/127 in f16", b8.qs[31]);
}

// every kernel against the reference: dequantize both, dot in double; one row (dot) and four
// rows at a stride (dot4, out at a stride), Q8_0 weights including -128 (ggml never writes it,
// a file may hold it)
static void test_kernels(void) {
    enum { K = 2048 + 32, R = 4 };   // an odd number of blocks
    float w[R * K], x[K], wd[K], xd[K];
    for (int i = 0; i < R * K; i++) w[i] = frand() * 0.1f * (1 + i / K);
    for (int i = 0; i < K; i++) x[i] = frand() * (1 + i % 5);
    BlockQ8_0 w8[R * K / 32];
    BlockQ4_0 w4[R * K / 32];
    quantize_row_q8_0(w8, w, R * K);
    quantize_row_q4_0(w4, w, R * K);
    w8[3].qs[5] = -128;
    QuantAct xa;
    void *xs = malloc(quant_act_bytes(K));
    quant_act(&xa, xs, x, K);
    dequantize_row(DTYPE_Q8_0, xa.q, xd, K);
    DType types[2] = {DTYPE_Q8_0, DTYPE_Q4_0};
    const char *wq[2] = {(const char *)w8, (const char *)w4};
    for (int t = 0; t < 2; t++) {
        size_t row = dtype_bytes(types[t], K);
        double ref[R], mag[R];
        for (int r = 0; r < R; r++) {
            dequantize_row(types[t], wq[t] + r * row, wd, K);
            ref[r] = mag[r] = 0;
            for (int i = 0; i < K; i++) { ref[r] += (double)wd[i] * xd[i]; mag[r] += fabs((double)wd[i] * xd[i]); }
        }
        for (int k = 0; k < QUANT_KERNELS; k++) {
            if (!quant_kernel_supported(k)) { printf("skip %s kernel: not on this CPU\n", quant_kernel_names[k]); continue; }
            float got = quant_dot(k, types[t])(K, wq[t], &xa), got4[3 * R];
            quant_dot4(k, types[t])(K, wq[t], row, &xa, got4, 3);
            double err = fabs(got - ref[0]) / mag[0], err4 = 0;
            for (int r = 0; r < R; r++) err4 = fmax(err4, fabs(got4[3 * r] - ref[r]) / mag[r]);
            CHECK(err < 1e-5, "dot %s x q8_0, %s kernel: rel err %.2e (tol 1e-5)", dtype_name(types[t]),
                  quant_kernel_names[k], err);
            CHECK(err4 < 1e-5, "dot4 %s x q8_0 (4 rows), %s kernel: max rel err %.2e (tol 1e-5)", dtype_name(types[t]),
                  quant_kernel_names[k], err4);
        }
    }
    free(xs);
}

// The largest relative error of out (rows, N) against the double loop over the dequantized
// rows of Wq (N, K, type t, GGUF's layout) and the dequantized activations xd (rows, K)
static double matmul_worst(const float *out, const char *Wq, DType t, const float *xd, int rows, int K, int N, float *wd) {
    double worst = 0;
    for (int n = 0; n < N; n++) {
        dequantize_row(t, Wq + dtype_bytes(t, (size_t)n * K), wd, K);
        for (int m = 0; m < rows; m++) {
            double ref = 0, mag = 0;
            for (int i = 0; i < K; i++) { ref += (double)wd[i] * xd[m * K + i]; mag += fabs(wd[i] * xd[m * K + i]); }
            worst = fmax(worst, fabs(out[m * N + n] - ref) / mag);
        }
    }
    return worst;
}

// quant_act's vector quantization (the kernels' input) against the scalar reference, bit for
// bit: random rows, rows of halves (x / d exactly k + 0.5: roundf goes away from zero), NaN and
// infinities, zeros, subnormals and huge values
static void test_quant_act(void) {
    enum { K = 32 * 12 };
    float x[K];
    int bad = 0, rows = 0;
    QuantKernel saved = quant_kernel_active();
    void *sa = malloc(quant_act_bytes(K)), *sb = malloc(quant_act_bytes(K));
    for (int kind = 0; kind < 6; kind++)
        for (int rep = 0; rep < 50; rep++, rows++) {
            for (int i = 0; i < K; i++) {
                float v = frand();
                switch (kind) {
                case 0: x[i] = v * 3.0f; break;
                case 1: x[i] = i % 32 == 0 ? 127.0f : (float)((int)(v * 127.0f)) + 0.5f; break;   // d = 1
                case 2: x[i] = i % 7 == 0 ? NAN : i % 11 == 0 ? (v < 0 ? -INFINITY : INFINITY) : v; break;
                case 3: x[i] = i % 64 < 32 ? 0.0f : v * 1e-40f; break;
                case 4: x[i] = v * 3e38f; break;
                default: x[i] = (i % 32 == 5 ? -1.0f : 1.0f) * (float)(i % 32) / 31.0f * 127.0f / 2.0f; break;
                }
            }
            QuantAct a, b;
            quant_kernel_set(QUANT_KERNEL_REF);
            quant_act(&a, sa, x, K);
            quant_kernel_set(saved);
            quant_act(&b, sb, x, K);
            for (int i = 0; i < K / 32; i++)
                bad += memcmp(&a.q[i], &b.q[i], sizeof(BlockQ8_0)) != 0 || a.sum[i] != b.sum[i] ||
                       memcmp(&a.d[i], &b.d[i], sizeof(float)) != 0;
            BlockQ8_0 wr[K / 32], wv[K / 32];   // the weights' quantizer at load: the same code
            quantize_row_q8_0(wr, x, K);
            quant_row_q8_0(wv, x, K);
            bad += memcmp(wr, wv, sizeof wr) != 0;
        }
    CHECK(bad == 0, "quant_act and quant_row_q8_0 with the %s kernel == the reference, bit for bit, on %d rows of %d "
          "(random, halves, NaN/inf, zeros/subnormals, huge): %d blocks differ",
          quant_kernel_names[saved], rows, K, bad);
    free(sa); free(sb);
}

// 16-row packed weights: packing keeps every value (rows read back through quant_packed_row
// equal the unpacked rows, bit for bit; in place == into another buffer), the packed matmul of
// every kernel equals the double loop for 1 to 9 input rows (the kernels take up to 4 a call),
// and only Q8_0/Q4_0 with rows a multiple of 16 and columns of 64 are packable
static void test_packed(void) {
    enum { K = 192, N = 48, M = 9 };
    float *W = malloc(sizeof(float) * N * K), *X = malloc(sizeof(float) * M * K), *out = malloc(sizeof(float) * M * N);
    float *wd = malloc(sizeof(float) * K), *wp = malloc(sizeof(float) * K), *xd = malloc(sizeof(float) * M * K);
    void *scratch = malloc(quant_scratch_bytes(M, K));
    for (int i = 0; i < N * K; i++) W[i] = frand() * (1 + i % 3);
    for (int i = 0; i < M * K; i++) X[i] = frand();
    BlockQ8_0 *xq = malloc(quant_scratch_bytes(M, K));
    for (int m = 0; m < M; m++) quantize_row_q8_0(xq + m * (K / 32), X + m * K, K);
    dequantize_row(DTYPE_Q8_0, xq, xd, M * K);
    DType types[2] = {DTYPE_Q8_0, DTYPE_Q4_0}, packed[2] = {DTYPE_Q8_0_X16, DTYPE_Q4_0_X16};
    QuantKernel saved = quant_kernel_active();
    for (int t = 0; t < 2; t++) {
        size_t bytes = dtype_bytes(types[t], (size_t)N * K);
        char *Wq = malloc(bytes), *Wp = malloc(bytes), *Wi = malloc(bytes);
        quantize_mat(Wq, types[t], (Mat){W, DTYPE_F32}, N, K);
        memcpy(Wi, Wq, bytes);
        int rc = quant_pack_mat(Wp, Wq, types[t], N, K) | quant_pack_mat(Wi, Wi, types[t], N, K);
        int same_rows = 0;
        for (int n = 0; n < N; n++) {
            dequantize_row(types[t], Wq + dtype_bytes(types[t], (size_t)n * K), wd, K);
            quant_packed_row(packed[t], Wp, n, K, wp);
            same_rows += memcmp(wd, wp, sizeof(float) * K) == 0;
        }
        CHECK(rc == 0 && same_rows == N && memcmp(Wp, Wi, bytes) == 0 && memcmp(Wp, Wq, bytes) != 0,
              "%s packed: all %d of %d rows read back bit for bit; in place == into a new buffer", dtype_name(types[t]),
              same_rows, N);
        // the embedding reads packed rows too
        int tok[3] = {0, 17, N - 1};
        float e1[3 * K], e2[3 * K];
        embedding_forward(e1, tok, (Mat){Wq, types[t]}, 3, K);
        embedding_forward(e2, tok, (Mat){Wp, packed[t]}, 3, K);
        CHECK(memcmp(e1, e2, sizeof e1) == 0, "%s embedding lookup in a packed table == in the unpacked one",
              dtype_name(types[t]));
        for (int k = 0; k < QUANT_KERNELS; k++) {
            if (!quant_kernel_supported(k)) continue;
            quant_kernel_set(k);
            double worst = 0;
            for (int rows = 1; rows <= M; rows++) {
                quant_matmul_forward(out, X, (Mat){Wp, packed[t]}, scratch, rows, K, N);
                worst = fmax(worst, matmul_worst(out, Wq, types[t], xd, rows, K, N, wd));
            }
            CHECK(worst < 1e-5, "packed %s matmul M=1..%d K=%d N=%d, %s kernel: max rel err %.2e (tol 1e-5)",
                  dtype_name(types[t]), M, K, N, quant_kernel_names[k], worst);
        }
        free(Wq); free(Wp); free(Wi);
    }
    quant_kernel_set(saved);
    CHECK(quant_packable(DTYPE_Q8_0, 32, 128) && quant_packable(DTYPE_Q4_0, 16, 64) && !quant_packable(DTYPE_Q8_0, 40, 128) &&
          !quant_packable(DTYPE_Q4_0, 32, 96) && !quant_packable(DTYPE_BF16, 32, 128) && !quant_packable(DTYPE_Q6_K, 32, 256),
          "packable: Q8_0/Q4_0 with rows a multiple of 16 and columns of 64, nothing else");
    free(W); free(X); free(out); free(wd); free(wp); free(xd); free(scratch); free(xq);
}

// a whole quantized model gives the same logits packed as unpacked (its layer matrices pack,
// its 300-row head does not: both paths in one forward)
static void test_model_packed(const char *path) {
    char err[256];
    for (int t = 0; t < 2; t++) {
        LoadedModel a, b;
        if (load_model(&a, path, 0, err, sizeof err) != 0 || load_model(&b, path, 0, err, sizeof err) != 0) {
            CHECK(0, "load %s: %s", path, err);
            return;
        }
        DType type = t ? DTYPE_Q4_0 : DTYPE_Q8_0;
        if (load_quantize(&a, type, DTYPE_Q8_0, err, sizeof err) != 0 || load_quantize(&b, type, DTYPE_Q8_0, err, sizeof err) != 0 ||
            model_pack(b.m, err, sizeof err) != 0) {
            CHECK(0, "quantize/pack %s: %s", path, err);
            return;
        }
        int V = a.m->config.vocab_size, toks[6] = {1, 72, 101, 108, 108, 111};
        float *la = malloc(sizeof(float) * 6 * V);
        model_kv_alloc(a.m, a.ctx);
        model_kv_alloc(b.m, b.ctx);
        memcpy(la, model_forward_kv(a.m, toks, 6, 0, 1), sizeof(float) * 6 * V);
        float *lb = model_forward_kv(b.m, toks, 6, 0, 1);
        double worst = 0, scale = 0;
        for (int i = 0; i < 6 * V; i++) worst = fmax(worst, fabs(la[i] - lb[i])), scale = fmax(scale, fabs(la[i]));
        CHECK(b.m->w.layers[0].wq.dtype == (t ? DTYPE_Q4_0_X16 : DTYPE_Q8_0_X16) && b.m->w.lm_head.dtype == DTYPE_Q8_0 &&
              worst <= 1e-5 * scale, "%s %s: packed logits == unpacked (6 positions; max abs diff %.2e, max |logit| %.2f)",
              path, dtype_name(type), worst, scale);
        // packed weights are for the kernels only: quantizing them again is refused
        CHECK(load_quantize(&b, DTYPE_Q4_0, DTYPE_Q8_0, err, sizeof err) != 0 && strstr(err, "packed"),
              "quantizing packed weights again: refused (\"%s\")", err);
        free(la);
        unload_model(&a);
        unload_model(&b);
    }
}

// quant_matmul_forward (M = 1 decode and M > 1 prefill, threads over rows) against a double
// loop over the dequantized weights and Q8_0-rounded activations, with each kernel
static void test_matmul(void) {
    enum { M = 5, K = 256, N = 67 };
    float *W = malloc(sizeof(float) * N * K), *X = malloc(sizeof(float) * M * K), *out = malloc(sizeof(float) * M * N);
    float *wd = malloc(sizeof(float) * K), *xd = malloc(sizeof(float) * M * K);
    void *scratch = malloc(quant_scratch_bytes(M, K));
    for (int i = 0; i < N * K; i++) W[i] = frand();
    for (int i = 0; i < M * K; i++) X[i] = frand();
    BlockQ8_0 *xq = malloc(quant_scratch_bytes(M, K));
    for (int m = 0; m < M; m++) quantize_row_q8_0(xq + m * (K / 32), X + m * K, K);
    dequantize_row(DTYPE_Q8_0, xq, xd, M * K);
    DType types[2] = {DTYPE_Q8_0, DTYPE_Q4_0};
    QuantKernel saved = quant_kernel_active();
    for (int t = 0; t < 2; t++) {
        void *Wq = malloc(dtype_bytes(types[t], (size_t)N * K));
        quantize_mat(Wq, types[t], (Mat){W, DTYPE_F32}, N, K);
        for (int k = 0; k < QUANT_KERNELS; k++) {
            if (!quant_kernel_supported(k)) continue;
            quant_kernel_set(k);
            for (int rows = 1; rows <= M; rows += M - 1) {
                quant_matmul_forward(out, X, (Mat){Wq, types[t]}, scratch, rows, K, N);
                double worst = matmul_worst(out, Wq, types[t], xd, rows, K, N, wd);
                CHECK(worst < 1e-5, "matmul %s M=%d K=%d N=%d, %s kernel: max rel err %.2e (tol 1e-5)",
                      dtype_name(types[t]), rows, K, N, quant_kernel_names[k], worst);
            }
        }
        free(Wq);
    }
    quant_kernel_set(saved);
    free(W); free(X); free(out); free(wd); free(xd); free(scratch); free(xq);
}

// a whole model: logits of the Q8_0 model close to the unquantized ones, and greedy tokens equal
// wherever the unquantized top-1 leads its runner-up by more than twice the logit error seen
static void test_model(const char *path) {
    char err[256];
    LoadedModel a, b;
    if (load_model(&a, path, 0, err, sizeof err) != 0 || load_model(&b, path, 0, err, sizeof err) != 0) {
        CHECK(0, "load %s: %s", path, err);
        return;
    }
    CHECK(load_quantize(&b, DTYPE_Q8_0, DTYPE_Q8_0, err, sizeof err) == 0, "quantize %s to q8_0", path);
    CHECK(b.m->w.layers[0].wq.dtype == DTYPE_Q8_0 && b.m->w.lm_head.dtype == DTYPE_Q8_0 &&
          b.weight_bytes < a.weight_bytes * 34 / 64 + 64 * 15, "q8_0 weights: %zu bytes from %zu", b.weight_bytes, a.weight_bytes);
    int V = a.m->config.vocab_size, T = 48;
    model_kv_alloc(a.m, a.ctx);
    model_kv_alloc(b.m, b.ctx);
    int tok_a = a.bos_id >= 0 ? a.bos_id : 1, tok_b = tok_a, same = 0, compared = 0, diverged = 0;
    double worst = 0, scale = 0;
    for (int pos = 0; pos < T && !diverged; pos++) {
        float *la = model_forward_kv(a.m, &tok_a, 1, pos, 0);
        float *lb = model_forward_kv(b.m, &tok_b, 1, pos, 0);
        int a1 = 0, a2 = -1, b1 = 0;
        double e = 0;
        for (int v = 0; v < V; v++) {
            e = fmax(e, fabs(la[v] - lb[v]));
            scale = fmax(scale, fabs(la[v]));
            if (la[v] > la[a1]) { a2 = a1; a1 = v; } else if (v != a1 && (a2 < 0 || la[v] > la[a2])) a2 = v;
            if (lb[v] > lb[b1]) b1 = v;
        }
        worst = fmax(worst, e);
        if (la[a1] - la[a2] > 2 * e) { compared++; same += a1 == b1; }
        if (a1 != b1) diverged = 1;   // past here the two continue different texts
        tok_a = a1; tok_b = b1;
    }
    CHECK(worst < 0.05 * scale, "%s q8_0 vs unquantized logits: max abs err %.4f (tol 5%% of max |logit| %.3f)",
          path, worst, scale);
    CHECK(compared > 0 && same == compared, "%s greedy q8_0 == unquantized at %d of %d steps with a clear margin",
          path, same, compared);
    unload_model(&a);
    unload_model(&b);
}

// K-quant blocks from ggml (tools/make_kquant_fixture.c): our dequantization gives ggml's floats,
// and the matmul (decode: block-wise float dots; prefill: widened tiles through sgemm) their product
static void test_kquant(DType t) {
    char path[64];
    snprintf(path, sizeof path, "tests/fixtures/gguf/%s.bin", dtype_name(t));
    FILE *f = fopen(path, "rb");
    uint32_t hdr[2] = {0, 0};
    if (!f || fread(hdr, 4, 2, f) != 2 || hdr[0] > 64 || hdr[1] > 4096 || hdr[1] % 256) {
        CHECK(0, "read %s", path);
        if (f) fclose(f);
        return;
    }
    int rows = (int)hdr[0], K = (int)hdr[1];
    size_t nb = dtype_bytes(t, (size_t)rows * K);
    unsigned char *blocks = malloc(nb);
    float *want = malloc(sizeof(float) * rows * K), *got = malloc(sizeof(float) * rows * K);
    int ok = fread(blocks, 1, nb, f) == nb && fread(want, 4, (size_t)rows * K, f) == (size_t)rows * K && fgetc(f) == EOF;
    fclose(f);
    CHECK(ok, "%s: %d rows of %d", path, rows, K);
    dequantize_row(t, blocks, got, rows * K);
    int differ = 0;
    for (int i = 0; i < rows * K; i++) differ += memcmp(&got[i], &want[i], sizeof(float)) != 0;
    CHECK(differ == 0, "%s dequantized == ggml's dequantization, %d values bit for bit: %d differ", dtype_name(t),
          rows * K, differ);
    float g = quant_get((Mat){blocks, t}, (size_t)rows * K - 1);
    CHECK(memcmp(&g, &want[rows * K - 1], sizeof g) == 0, "%s quant_get of the last element: %g, ggml %g",
          dtype_name(t), g, want[rows * K - 1]);
    enum { M = 3 };
    float x[M * 4096], out[M * 64], *scratch = malloc(matmul_scratch_floats(K) * sizeof(float));
    for (int i = 0; i < M * K; i++) x[i] = frand();
    for (int m = 1; m <= M; m += M - 1) {
        matmul_forward(out, x, (Mat){blocks, t}, scratch, m, K, rows);
        double worst = 0;
        for (int r = 0; r < m; r++)
            for (int n = 0; n < rows; n++) {
                double ref = 0, mag = 0;
                for (int k = 0; k < K; k++) { ref += (double)want[n * K + k] * x[r * K + k]; mag += fabs(want[n * K + k] * x[r * K + k]); }
                worst = fmax(worst, fabs(out[r * rows + n] - ref) / mag);
            }
        CHECK(worst < 1e-5, "matmul %s M=%d K=%d N=%d: max rel err %.2e (tol 1e-5)", dtype_name(t), m, K, rows, worst);
    }
    free(blocks); free(want); free(got); free(scratch);
}

static void test_bad(void) {
    char err[256];
    LoadedModel lm;
    if (load_model(&lm, "tests/fixtures/hf_llama32_bf16", 0, err, sizeof err) != 0) { CHECK(0, "load: %s", err); return; }
    lm.m->config.dim = 48; // pretend: every row length check must see 48
    int rc = load_quantize(&lm, DTYPE_Q4_0, DTYPE_Q8_0, err, sizeof err);
    lm.m->config.dim = 64;
    CHECK(rc == -1 && strstr(err, "not a multiple of 32"), "row length 48 refused: \"%s\"", rc ? err : "");
    unload_model(&lm);
}

int main(void) {
    test_f16();
    test_roundtrip();
    test_kernels();
    test_matmul();
    test_quant_act();
    test_packed();
    test_model_packed("tests/fixtures/hf_llama32_bf16");
    test_kquant(DTYPE_Q4_K);
    test_kquant(DTYPE_Q5_K);
    test_kquant(DTYPE_Q6_K);
    test_model("tests/fixtures/hf_llama32_bf16");
    test_bad();
    return test_summary();
}
