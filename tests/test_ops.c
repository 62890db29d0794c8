// tests/test_ops.c — every op's backward against central finite differences of its forward
// (tests/gradcheck.h explains the objective, the error measure and the tolerance), and every
// forward and backward against its plain double-precision twin in model/reference.c on random
// inputs whose odd sizes leave tails after the vector loops and blocks; plus the matmul dtype
// paths and dropout's exact identity at p=0.
// Each backward's gradient buffers start at 0.5 and the check subtracts it, so the test also
// proves the backward ACCUMULATES (+=) rather than overwrites.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <omp.h>
#include "model/ops.h"
#include "model/reference.h"
#include "model/vecmath.h"
#include "tests/gradcheck.h"

#define PRE 0.5f   // gradient buffers start here; backward must add to it
static float *pre(size_t n) { float *g = malloc(n * sizeof(float)); for (size_t i = 0; i < n; i++) g[i] = PRE; return g; }
static void unpre(float *g, size_t n) { for (size_t i = 0; i < n; i++) g[i] -= PRE; }

// fast against reference: max |fast - ref| / max |ref| must be <= tol. The tolerances: float32
// round-off of the fast op's sums against the double reference (a few ulp of the scale for
// elementwise ops, ~1e-6 for sums of hundreds of products); 0 where both do the same float ops.
static void ref_cmp(const char *what, const float *fast, const float *ref, size_t n, double tol) {
    double err = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        err = fmax(err, fabs((double)fast[i] - ref[i]));   // a NaN in fast fails below
        if (isnan(fast[i])) err = INFINITY;
        scale = fmax(scale, fabs(ref[i]));
    }
    double rel = err / (scale > 0 ? scale : 1.0);
    CHECK(rel <= tol && scale > 0, "%s vs model/reference.c: max err / max |ref| %.2e (tol %.0e, scale %.2e)",
          what, rel, tol, scale);
}

// ---- embedding ----
enum { EN = 7, EC = 21, EV = 4 };   // EC = 21: a full block of 16 channels and a partial one
static int e_tok[EN] = { 3, 1, 3, 0, 2, 3, 1 };   // repeats: the scatter-add must sum them
static float *e_table, *e_out, *e_R;
static double e_obj(void) {
    embedding_forward(e_out, e_tok, (Mat){ e_table, DTYPE_F32 }, EN, EC);
    return gc_dot(e_out, e_R, EN * EC);
}
static void test_embedding(void) {
    e_table = gc_rand(EV * EC, 1); e_out = malloc(EN * EC * 4); e_R = gc_rand(EN * EC, 1);
    float *g = pre(EV * EC);
    e_obj();
    embedding_backward(g, e_R, e_tok, EN, EC);
    unpre(g, EV * EC);
    gc_check("embedding_backward dtable", e_table, g, EV * EC, e_obj, GC_TOL, 1000);
    free(e_table); free(e_out); free(e_R); free(g);
}

// ---- rmsnorm ----
static int RN, RC;
static float *r_x, *r_w, *r_out, *r_rstd, *r_R;
static double r_obj(void) {
    rmsnorm_forward(r_out, r_rstd, r_x, r_w, RN, RC, 1e-5f);
    return gc_dot(r_out, r_R, RN * RC);
}
static void test_rmsnorm(int N, int C) {
    RN = N; RC = C;
    r_x = gc_rand(RN * RC, 1); r_w = gc_rand(RC, 1); r_out = malloc(RN * RC * 4);
    r_rstd = malloc(RN * 4); r_R = gc_rand(RN * RC, 1);
    float *dx = pre(RN * RC), *dw = pre(RC);
    r_obj();
    rmsnorm_backward(dx, dw, r_R, r_x, r_w, r_rstd, RN, RC);
    unpre(dx, RN * RC); unpre(dw, RC);
    char what[80];
    snprintf(what, sizeof what, "rmsnorm_backward N%d C%d dinp", N, C);
    gc_check(what, r_x, dx, RN * RC, r_obj, GC_TOL, 1000);
    snprintf(what, sizeof what, "rmsnorm_backward N%d C%d dweight", N, C);
    gc_check(what, r_w, dw, RC, r_obj, GC_TOL, 1000);
    free(r_x); free(r_w); free(r_out); free(r_rstd); free(r_R); free(dx); free(dw);
}

// ---- exp_fast (model/vecmath.h), the exp inside softmax, cross-entropy and SwiGLU ----
static void test_exp_fast(void) {
    // against libm's exp in double on ~2 million points of [-87, 88], vectorized as the ops do
    enum { EXN = 1 << 21 };
    float *x = malloc(EXN * 4), *y = malloc(EXN * 4);
    for (int i = 0; i < EXN; i++) x[i] = -87.0f + 175.0f * i / (EXN - 1);
    #pragma omp simd
    for (int i = 0; i < EXN; i++) y[i] = exp_fast(x[i]);
    double worst = 0;
    for (int i = 0; i < EXN; i++) worst = fmax(worst, fabs(y[i] - exp((double)x[i])) / exp((double)x[i]));
    CHECK(worst < 2e-7, "exp_fast vs exp on [-87, 88]: max rel err %.2e (tol 2e-07, ~1.7 float ulp)", worst);
    CHECK(exp_fast(0.0f) == 1.0f && exp_fast(-100.0f) == 0.0f && exp_fast(-INFINITY) == 0.0f &&
          exp_fast(100.0f) == INFINITY && exp_fast(INFINITY) == INFINITY && isnan(exp_fast(NAN)),
          "exp_fast(0) = 1, (-100) = (-inf) = 0, (100) = (inf) = inf, (nan) = nan");
    free(x); free(y);
}

// ---- matmul ----
enum { MM = 5, MK = 7, MN = 6 };
static float *m_x, *m_w, *m_out, *m_R;
static double m_obj(void) {
    matmul_forward(m_out, m_x, (Mat){ m_w, DTYPE_F32 }, NULL, MM, MK, MN);
    return gc_dot(m_out, m_R, MM * MN);
}
static void test_matmul_grad(void) {
    m_x = gc_rand(MM * MK, 1); m_w = gc_rand(MN * MK, 1); m_out = malloc(MM * MN * 4);
    m_R = gc_rand(MM * MN, 1);
    float *dx = pre(MM * MK), *dw = pre(MN * MK);
    m_obj();
    matmul_backward(dx, dw, m_R, m_x, m_w, MM, MK, MN);
    unpre(dx, MM * MK); unpre(dw, MN * MK);
    gc_check("matmul_backward dinp", m_x, dx, MM * MK, m_obj, GC_TOL, 1000);
    gc_check("matmul_backward dweight", m_w, dw, MN * MK, m_obj, GC_TOL, 1000);
    free(m_x); free(m_w); free(m_out); free(m_R); free(dx); free(dw);
}

// The forward's dtype paths against matmul_forward_ref (double sums of the weights as stored).
// W has N = 2 blocks of MATMUL_BLOCK_ROWS + 6 rows (the last block partial), so the block loop
// and its edges run; N % 4 = 2, so the gemv's 4-row groups and its leftover rows both run; an
// odd K takes the bf16 gemv's one-element-at-a-time path instead of its pairs.
static void test_matmul_dtypes(int K) {
    int M = 9, N = 2 * MATMUL_BLOCK_ROWS + 6;
    float *x = gc_rand((size_t)M * K, 1), *w = gc_rand((size_t)N * K, 1);
    float *out = malloc((size_t)M * N * 4), *gemv = malloc((size_t)M * N * 4);
    float *ref = malloc((size_t)M * N * 4), *ref_orig = malloc((size_t)M * N * 4);
    float *scratch = malloc(matmul_scratch_floats(K) * 4);
    uint16_t *wh = malloc((size_t)N * K * 2);
    const char *names[3] = { "f32", "bf16", "f16" };
    matmul_forward_ref(ref_orig, x, (Mat){ w, DTYPE_F32 }, NULL, M, K, N);
    for (int d = 0; d < 3; d++) {
        for (size_t i = 0; i < (size_t)N * K && d > 0; i++) {   // the weights this dtype can hold
            _Float16 h = (_Float16)w[i];
            if (d == 1) wh[i] = f32_to_bf16(w[i]); else memcpy(&wh[i], &h, 2);
        }
        Mat W = { d == 0 ? (const void *)w : (const void *)wh, (DType)d };
        matmul_forward(out, x, W, scratch, M, K, N);            // sgemm (blocked for bf16/f16)
        for (int r = 0; r < M; r++)                             // gemv, one row at a time
            matmul_forward(gemv + (size_t)r * N, x + (size_t)r * K, W, scratch, 1, K, N);
        matmul_forward_ref(ref, x, W, NULL, M, K, N);
        char what[120];
        // float32 accumulation of K=200 products: ~1e-6 of the scale
        snprintf(what, sizeof what, "matmul_forward %s sgemm path (M=%d, K=%d, N=%d)", names[d], M, K, N);
        ref_cmp(what, out, ref, (size_t)M * N, 1e-5);
        snprintf(what, sizeof what, "matmul_forward %s gemv path (M=1, K=%d, N=%d)", names[d], K, N);
        ref_cmp(what, gemv, ref, (size_t)M * N, 1e-5);
        // against the unrounded f32 weights: the dtype's own rounding (bf16 8 bits, f16 11 bits)
        snprintf(what, sizeof what, "matmul_forward %s against the f32 weights' reference", names[d]);
        ref_cmp(what, out, ref_orig, (size_t)M * N, d == 1 ? 1e-2 : d == 2 ? 2e-3 : 1e-5);
    }
    free(x); free(w); free(out); free(gemv); free(ref); free(ref_orig); free(scratch); free(wh);
}

// ---- rope ----
enum { PB = 2, PT = 5, PNH = 3, PHD = 8, PMAX = 16, PPOS = 4 };
static float *p_cos, *p_sin, *p_x, *p_out, *p_R;
static double p_obj(void) {
    rope_forward(p_out, p_x, p_cos, p_sin, PB, PT, PNH, PHD, PPOS);
    return gc_dot(p_out, p_R, PB * PT * PNH * PHD);
}
static void test_rope(void) {
    size_t n = PB * PT * PNH * PHD;
    p_cos = malloc(PMAX * PHD / 2 * 4); p_sin = malloc(PMAX * PHD / 2 * 4);
    // llama3 scaling with original_max_pos 64: HD=8 spans all three frequency bands
    rope_tables(p_cos, p_sin, PMAX, PHD, 10000.0, 8.0, 1.0, 4.0, 64.0);
    p_x = gc_rand(n, 1); p_out = malloc(n * 4); p_R = gc_rand(n, 1);
    float *dx = pre(n);
    p_obj();
    rope_backward(dx, p_R, p_cos, p_sin, PB, PT, PNH, PHD, PPOS);
    unpre(dx, n);
    gc_check("rope_backward dinp (pos0 4, llama3 scaling)", p_x, dx, n, p_obj, GC_TOL, 1000);
    // in place must equal out of place
    float *y = malloc(n * 4); memcpy(y, p_x, n * 4);
    rope_forward(y, y, p_cos, p_sin, PB, PT, PNH, PHD, PPOS);
    CHECK(memcmp(y, p_out, n * 4) == 0, "rope_forward in place == out of place");
    free(y); free(p_cos); free(p_sin); free(p_x); free(p_out); free(p_R); free(dx);
}

// ---- attention ----
static int a_B, a_T, a_Tk, a_NH, a_NKV, a_HD;
static float *a_q, *a_k, *a_v, *a_out, *a_att, *a_R, *a_scr, a_p;
static uint64_t a_key;
static double a_obj(void) {
    attention_forward(a_out, a_att, a_scr, a_q, a_k, a_v, a_B, a_T, a_Tk, a_NH, a_NKV, a_HD, a_p, a_key, 0);
    return gc_dot(a_out, a_R, (size_t)a_B * a_T * a_NH * a_HD);
}
// gradcheck = 0 skips the finite differences (hundreds of forwards), for the large case that is
// there for the threads. p > 0: dropout on the probabilities, with a fixed mask (key)
static void test_attention(int B, int T, int Tk, int NH, int NKV, int HD, int gradcheck, float p) {
    a_B = B; a_T = T; a_Tk = Tk; a_NH = NH; a_NKV = NKV; a_HD = HD; a_p = p; a_key = dropout_key(9, 4, 2, 2);
    size_t nq = (size_t)B * T * NH * HD, nk = (size_t)B * Tk * NKV * HD, na = (size_t)B * NH * T * Tk;
    a_q = gc_rand(nq, 1); a_k = gc_rand(nk, 1); a_v = gc_rand(nk, 1); a_R = gc_rand(nq, 1);
    a_out = malloc(nq * 4); a_att = malloc(na * 4);
    a_scr = p > 0 ? malloc(attention_scratch_floats(B, T, Tk, NH) * 4) : NULL;
    float *dq = pre(nq), *dk = pre(nk), *dv = pre(nk), *datt = malloc(na * 4);
    a_obj();
    // every row of P sums to 1 over its visible keys and is 0 beyond them
    double worst = 0;
    for (int b = 0; b < B; b++) for (int h = 0; h < NH; h++) for (int t = 0; t < T; t++) {
        const float *row = a_att + (((size_t)b * NH + h) * T + t) * Tk;
        double s = 0; int masked_ok = 1;
        for (int j = 0; j < Tk; j++) { s += row[j]; if (j > Tk - T + t && row[j] != 0) masked_ok = 0; }
        worst = fmax(worst, fabs(s - 1) + (masked_ok ? 0 : 1));
    }
    char what[160];
    snprintf(what, sizeof what, "attention B%d T%d Tk%d NH%d NKV%d HD%d%s", B, T, Tk, NH, NKV, HD,
             p > 0 ? " dropout 0.3" : "");
    CHECK(worst < 1e-6, "%s: softmax rows sum to 1, masked keys exactly 0: max err %.2e (tol 1e-06)", what, worst);
    // forward and backward against model/reference.c's attention, the definition in double
    float *out_r = malloc(nq * 4), *att_r = malloc(na * 4), *datt_r = malloc(na * 4);
    float *dq_r = pre(nq), *dk_r = pre(nk), *dv_r = pre(nk);
    attention_forward_ref(out_r, att_r, NULL, a_q, a_k, a_v, B, T, Tk, NH, NKV, HD, p, a_key, 0);
    char w2[200];
    snprintf(w2, sizeof w2, "%s forward out", what); ref_cmp(w2, a_out, out_r, nq, 1e-5);
    snprintf(w2, sizeof w2, "%s forward att", what); ref_cmp(w2, a_att, att_r, na, 1e-6);
    attention_backward(dq, dk, dv, datt, a_scr, a_R, a_q, a_k, a_v, a_att, B, T, Tk, NH, NKV, HD, p, a_key, 0);
    attention_backward_ref(dq_r, dk_r, dv_r, datt_r, NULL, a_R, a_q, a_k, a_v, a_att, B, T, Tk, NH, NKV, HD, p, a_key, 0);
    unpre(dq, nq); unpre(dk, nk); unpre(dv, nk); unpre(dq_r, nq); unpre(dk_r, nk); unpre(dv_r, nk);
    snprintf(w2, sizeof w2, "%s backward dq", what); ref_cmp(w2, dq, dq_r, nq, 1e-5);
    snprintf(w2, sizeof w2, "%s backward dk", what); ref_cmp(w2, dk, dk_r, nk, 1e-5);
    snprintf(w2, sizeof w2, "%s backward dv", what); ref_cmp(w2, dv, dv_r, nk, 1e-5);
    free(out_r); free(att_r); free(datt_r); free(dq_r); free(dk_r); free(dv_r);
    if (gradcheck) {
        snprintf(w2, sizeof w2, "%s dq", what); gc_check(w2, a_q, dq, nq, a_obj, GC_TOL, 400);
        snprintf(w2, sizeof w2, "%s dk", what); gc_check(w2, a_k, dk, nk, a_obj, GC_TOL, 400);
        snprintf(w2, sizeof w2, "%s dv", what); gc_check(w2, a_v, dv, nk, a_obj, GC_TOL, 400);
    }
    // threads split the heads (and, backward, the KV heads): one thread gives the same bits
    int threads = omp_get_max_threads();
    float *out1 = malloc(nq * 4), *att1 = malloc(na * 4), *g1[3] = { pre(nq), pre(nk), pre(nk) };
    float *gn[3] = { pre(nq), pre(nk), pre(nk) };
    attention_backward(gn[0], gn[1], gn[2], datt, a_scr, a_R, a_q, a_k, a_v, a_att, B, T, Tk, NH, NKV, HD, p, a_key, 0);
    omp_set_num_threads(1);
    attention_forward(out1, att1, a_scr, a_q, a_k, a_v, B, T, Tk, NH, NKV, HD, p, a_key, 0);
    attention_backward(g1[0], g1[1], g1[2], datt, a_scr, a_R, a_q, a_k, a_v, a_att, B, T, Tk, NH, NKV, HD, p, a_key, 0);
    omp_set_num_threads(threads);
    a_obj();
    CHECK(!memcmp(out1, a_out, nq * 4) && !memcmp(att1, a_att, na * 4) && !memcmp(g1[0], gn[0], nq * 4) &&
          !memcmp(g1[1], gn[1], nk * 4) && !memcmp(g1[2], gn[2], nk * 4),
          "%s: forward and backward with %d threads bitwise equal to 1 thread", what, threads);
    free(out1); free(att1);
    for (int i = 0; i < 3; i++) { free(g1[i]); free(gn[i]); }
    free(a_q); free(a_k); free(a_v); free(a_R); free(a_out); free(a_att); free(a_scr);
    free(dq); free(dk); free(dv); free(datt);
}

// ---- swiglu ----
enum { SN = 40 };
static float *s_g, *s_u, *s_out, *s_R;
static double s_obj(void) { swiglu_forward(s_out, s_g, s_u, SN); return gc_dot(s_out, s_R, SN); }
static void test_swiglu(void) {
    s_g = gc_rand(SN, 3); s_u = gc_rand(SN, 1); s_out = malloc(SN * 4); s_R = gc_rand(SN, 1);
    float *dg = pre(SN), *du = pre(SN);
    s_obj();
    swiglu_backward(dg, du, s_R, s_g, s_u, SN);
    unpre(dg, SN); unpre(du, SN);
    gc_check("swiglu_backward dgate", s_g, dg, SN, s_obj, GC_TOL, 1000);
    gc_check("swiglu_backward dup", s_u, du, SN, s_obj, GC_TOL, 1000);
    free(s_g); free(s_u); free(s_out); free(s_R); free(dg); free(du);
}

// ---- residual ----
enum { QN = 30 };
static float *q_a, *q_b, *q_out, *q_R;
static double q_obj(void) { residual_forward(q_out, q_a, q_b, QN); return gc_dot(q_out, q_R, QN); }
static void test_residual(void) {
    q_a = gc_rand(QN, 1); q_b = gc_rand(QN, 1); q_out = malloc(QN * 4); q_R = gc_rand(QN, 1);
    float *da = pre(QN), *db = pre(QN);
    q_obj();
    residual_backward(da, db, q_R, QN);
    unpre(da, QN); unpre(db, QN);
    gc_check("residual_backward dinp1", q_a, da, QN, q_obj, GC_TOL, 1000);
    gc_check("residual_backward dinp2", q_b, db, QN, q_obj, GC_TOL, 1000);
    free(q_a); free(q_b); free(q_out); free(q_R); free(da); free(db);
}

// ---- dropout ----
enum { DN = 200 };
static float *d_x, *d_out, *d_R, d_p;
static uint64_t d_key;
static double d_obj(void) { dropout_forward(d_out, d_x, d_p, d_key, 0, DN); return gc_dot(d_out, d_R, DN); }
static void test_dropout(float p) {
    d_p = p; d_key = dropout_key(42, 7, 1, 0);
    d_x = gc_rand(DN, 1); d_out = malloc(DN * 4); d_R = gc_rand(DN, 1);
    float *dx = pre(DN);
    d_obj();
    dropout_backward(dx, d_R, p, d_key, 0, DN);
    unpre(dx, DN);
    char what[80];
    snprintf(what, sizeof what, "dropout_backward dinp (p=%.1f, fixed seed/step)", p);
    gc_check(what, d_x, dx, DN, d_obj, GC_TOL, 1000);
    if (p == 0) {
        CHECK(memcmp(d_out, d_x, DN * 4) == 0, "dropout_forward p=0 is an exact identity");
    }
    free(d_x); free(d_out); free(d_R); free(dx);
}
static void test_dropout_mask(void) {
    // the forward's mask (two elements per hash, eight hashes at a time) == dropout_keep's,
    // element by element, over a length that leaves a tail
    enum { MN = 1003 };
    float *x = malloc(MN * 4), *y = malloc(MN * 4);
    for (int i = 0; i < MN; i++) x[i] = 1.0f + i;
    uint64_t key = dropout_key(5, 11, 3, 1);
    dropout_forward(y, x, 0.3f, key, 0, MN);
    int bad = 0;
    for (int i = 0; i < MN; i++) bad += (y[i] != 0.0f) != dropout_keep(key, i, 0.3f);
    CHECK(bad == 0, "dropout_forward's mask == dropout_keep on %d elements: %d differ", MN, bad);
    // dropout_span (attention's rows) from an odd first element, and across element 2^33, where
    // pair numbers pass 32 bits and the key's second half changes
    size_t firsts[2] = { 77, ((size_t)1 << 33) - 301 };
    for (int f = 0; f < 2; f++) {
        dropout_span(y, x, 0.3f, key, firsts[f], 601);
        bad = 0;
        for (int i = 0; i < 601; i++) bad += (y[i] != 0.0f) != dropout_keep(key, firsts[f] + i, 0.3f);
        CHECK(bad == 0, "dropout_span's mask from element %zu == dropout_keep on 601 elements: %d differ", firsts[f], bad);
    }
    // the two sides of 2^33 are not one mask repeated
    int same = 0;
    for (size_t i = 0; i < 600; i++) same += dropout_keep(key, i, 0.5f) == dropout_keep(key, ((size_t)1 << 33) + i, 0.5f);
    CHECK(same > 240 && same < 360, "masks of elements i and 2^33 + i agree on %d of 600 (independent: 300 +- 60)", same);
    free(x); free(y);
}
static void test_dropout_stats(void) {
    // the mask's keep rate over 1e6 elements, and independence of the sites' keys
    // and of the two elements that share one hash (16g + l and 16g + l + 8)
    size_t n = 1000000, kept = 0, same = 0, pair_same = 0, pairs = 0;
    uint64_t k0 = dropout_key(1, 0, 0, 0), k1 = dropout_key(1, 0, 0, 1);
    for (size_t i = 0; i < n; i++) {
        int a = dropout_keep(k0, i, 0.1f), b = dropout_keep(k1, i, 0.1f);
        kept += a; same += a == b;
        if (i % 16 >= 8) { pair_same += a == dropout_keep(k0, i - 8, 0.1f); pairs++; }
    }
    double rate = 1.0 - (double)kept / n;
    // binomial std of the rate: sqrt(0.1*0.9/1e6) = 3e-4; 5 sigma
    CHECK(fabs(rate - 0.1) < 1.5e-3, "dropout mask drop rate %.5f (want 0.1 +- 1.5e-3)", rate);
    // independent masks agree with probability 0.9^2 + 0.1^2 = 0.82
    double agree = (double)same / n;
    CHECK(fabs(agree - 0.82) < 2e-3, "dropout masks of two sites agree on %.4f (independent: 0.82 +- 2e-3)", agree);
    double pair_agree = (double)pair_same / pairs;   // std 5.4e-4 over 5e5 pairs; 5 sigma
    CHECK(fabs(pair_agree - 0.82) < 2.7e-3, "elements sharing one hash agree on %.4f (independent: 0.82 +- 2.7e-3)", pair_agree);
}

// ---- cross-entropy ----
enum { XN = 5, XV = 9 };
static int x_tgt[XN] = { 3, 0, -1, 8, 3 };   // -1: no target at that position
static float *x_z, *x_loss, *x_R;
static double x_obj(void) {
    crossentropy_forward(x_loss, x_z, x_tgt, XN, XV);
    return gc_dot(x_loss, x_R, XN);
}
static void test_crossentropy(void) {
    x_z = gc_rand(XN * XV, 3); x_loss = malloc(XN * 4); x_R = gc_rand(XN, 1);
    float *dz = pre(XN * XV);
    x_obj();
    // forward against log(sum exp z) - z[y] in double (one target -1: loss 0)
    float want[XN];
    crossentropy_forward_ref(want, x_z, x_tgt, XN, XV);
    ref_cmp("crossentropy_forward (N5 V9, one target -1)", x_loss, want, XN, 1e-6);
    crossentropy_backward(dz, x_R, x_z, x_loss, x_tgt, XN, XV);
    unpre(dz, XN * XV);
    gc_check("crossentropy_backward dlogits (one target -1)", x_z, dz, XN * XV, x_obj, GC_TOL, 1000);
    free(x_z); free(x_loss); free(x_R); free(dz);
}

// ---- the other ops against model/reference.c ----
// Inputs are random, sizes odd: tails after the 8- and 16-wide vector loops, rmsnorm's channel
// chunks of 64, embedding's blocks of 16, dropout's groups of 16 and spans of 4096. Gradient
// buffers start at PRE in both versions, so an op that overwrites instead of accumulating fails.
// cmp2: fast vs reference for two outputs of n1 and n2 floats, PRE subtracted when grads
static void cmp2(const char *op, const char *n1, float *f1, float *r1, size_t c1,
                 const char *n2, float *f2, float *r2, size_t c2, int grads, double tol) {
    char what[120];
    if (grads) { unpre(f1, c1); unpre(r1, c1); if (f2) { unpre(f2, c2); unpre(r2, c2); } }
    snprintf(what, sizeof what, "%s %s", op, n1); ref_cmp(what, f1, r1, c1, tol);
    if (f2) { snprintf(what, sizeof what, "%s %s", op, n2); ref_cmp(what, f2, r2, c2, tol); }
}
static void test_reference_ops(void) {
    enum { N = 13, C = 133, V = 11, BIG = 4096 + 1003 };
    int tok[N], tgt[N];   // tokens repeat (13 draws from 11)
    for (int n = 0; n < N; n++) tok[n] = (n * 7 + 3) % V;
    float *x = gc_rand((size_t)BIG, 1), *y = gc_rand((size_t)BIG, 3), *dy = gc_rand((size_t)BIG, 1);
    float *w = gc_rand((size_t)V * C, 1), *o = malloc(BIG * 4), *o_r = malloc(BIG * 4);
    float *r = malloc(N * 4), *r_r = malloc(N * 4);
    float *g1 = pre(BIG), *g1r = pre(BIG), *g2 = pre(BIG), *g2r = pre(BIG);
    // embedding, f32 and bf16 tables (tokens repeat: the scatter-add sums them); the same float
    // adds in the same order, so exact
    uint16_t *wh = malloc((size_t)V * C * 2);
    for (int i = 0; i < V * C; i++) wh[i] = f32_to_bf16(w[i]);
    embedding_forward(o, tok, (Mat){ w, DTYPE_F32 }, N, C); embedding_forward_ref(o_r, tok, (Mat){ w, DTYPE_F32 }, N, C);
    cmp2("embedding_forward", "f32 (N13 C133)", o, o_r, N * C, NULL, NULL, NULL, 0, 0, 0);
    embedding_forward(o, tok, (Mat){ wh, DTYPE_BF16 }, N, C); embedding_forward_ref(o_r, tok, (Mat){ wh, DTYPE_BF16 }, N, C);
    cmp2("embedding_forward", "bf16", o, o_r, N * C, NULL, NULL, NULL, 0, 0, 0);
    embedding_backward(g1, dy, tok, N, C); embedding_backward_ref(g1r, dy, tok, N, C);
    cmp2("embedding_backward", "dtable", g1, g1r, V * C, NULL, NULL, NULL, 0, 1, 0);
    free(wh);
    // rmsnorm (N13 C133)
    for (int i = 0; i < BIG; i++) g1[i] = g1r[i] = g2[i] = g2r[i] = PRE;
    rmsnorm_forward(o, r, x, w, N, C, 1e-5f); rmsnorm_forward_ref(o_r, r_r, x, w, N, C, 1e-5f);
    cmp2("rmsnorm_forward", "out", o, o_r, N * C, "rstd", r, r_r, N, 0, 1e-6);
    rmsnorm_backward(g1, g2, dy, x, w, r_r, N, C); rmsnorm_backward_ref(g1r, g2r, dy, x, w, r_r, N, C);
    cmp2("rmsnorm_backward", "dinp", g1, g1r, N * C, "dweight", g2, g2r, C, 1, 1e-6);
    // matmul backward: small, and large enough that the sgemms split over threads (M*K*N > 2^20)
    int shapes[2][3] = { { 9, 37, 23 }, { 130, 97, 101 } };
    for (int s = 0; s < 2; s++) {
        int M = shapes[s][0], K = shapes[s][1], Nn = shapes[s][2];
        float *mx = gc_rand((size_t)M * K, 1), *mw = gc_rand((size_t)Nn * K, 1), *md = gc_rand((size_t)M * Nn, 1);
        float *dx = pre((size_t)M * K), *dxr = pre((size_t)M * K), *dw = pre((size_t)Nn * K), *dwr = pre((size_t)Nn * K);
        matmul_backward(dx, dw, md, mx, mw, M, K, Nn); matmul_backward_ref(dxr, dwr, md, mx, mw, M, K, Nn);
        char op[80];
        snprintf(op, sizeof op, "matmul_backward (M%d K%d N%d)", M, K, Nn);
        cmp2(op, "dinp", dx, dxr, (size_t)M * K, "dweight", dw, dwr, (size_t)Nn * K, 1, 1e-5);
        free(mx); free(mw); free(md); free(dx); free(dxr); free(dw); free(dwr);
    }
    // rope: HD 10 (an odd half), positions 3..9, llama3 scaling
    enum { RB = 2, RT = 7, RH = 3, RHD = 10, RN = RB * RT * RH * RHD };
    float *ct = malloc(16 * RHD / 2 * 4), *st = malloc(16 * RHD / 2 * 4);
    rope_tables(ct, st, 16, RHD, 10000.0, 8.0, 1.0, 4.0, 64.0);
    for (int i = 0; i < BIG; i++) g1[i] = g1r[i] = PRE;
    rope_forward(o, x, ct, st, RB, RT, RH, RHD, 3); rope_forward_ref(o_r, x, ct, st, RB, RT, RH, RHD, 3);
    cmp2("rope_forward", "(B2 T7 NH3 HD10 pos0 3)", o, o_r, RN, NULL, NULL, NULL, 0, 0, 1e-6);
    rope_backward(g1, dy, ct, st, RB, RT, RH, RHD, 3); rope_backward_ref(g1r, dy, ct, st, RB, RT, RH, RHD, 3);
    cmp2("rope_backward", "dinp", g1, g1r, RN, NULL, NULL, NULL, 0, 1, 1e-6);
    free(ct); free(st);
    // elementwise ops over BIG elements (exp_fast: within 2e-7 of exp)
    for (int i = 0; i < BIG; i++) g1[i] = g1r[i] = g2[i] = g2r[i] = PRE;
    swiglu_forward(o, y, x, BIG); swiglu_forward_ref(o_r, y, x, BIG);
    cmp2("swiglu_forward", "(N 5099)", o, o_r, BIG, NULL, NULL, NULL, 0, 0, 1e-6);
    swiglu_backward(g1, g2, dy, y, x, BIG); swiglu_backward_ref(g1r, g2r, dy, y, x, BIG);
    cmp2("swiglu_backward", "dgate", g1, g1r, BIG, "dup", g2, g2r, BIG, 1, 1e-6);
    for (int i = 0; i < BIG; i++) g1[i] = g1r[i] = g2[i] = g2r[i] = PRE;
    residual_forward(o, x, y, BIG); residual_forward_ref(o_r, x, y, BIG);
    cmp2("residual_forward", "(N 5099)", o, o_r, BIG, NULL, NULL, NULL, 0, 0, 0);
    residual_backward(g1, g2, dy, BIG); residual_backward_ref(g1r, g2r, dy, BIG);
    cmp2("residual_backward", "dinp1", g1, g1r, BIG, "dinp2", g2, g2r, BIG, 1, 0);
    // (the fast op multiplies by 1/(1-p) rounded to float: within 2 float ulp of the reference)
    for (int k = 0; k < 2; k++) {
        float p = k ? 0.1f : 0.0f;
        uint64_t key = dropout_key(3, 5, 1, 1);
        char op[80];
        for (int i = 0; i < BIG; i++) g1[i] = g1r[i] = PRE;
        // from element 3·2^20 + 5, as a process's rows of a larger batch (train/dist.h) start
        size_t first = k ? 3 * (1u << 20) + 5 : 0;
        dropout_forward(o, x, p, key, first, BIG); dropout_forward_ref(o_r, x, p, key, first, BIG);
        snprintf(op, sizeof op, "dropout_forward (p %.1f, N 5099, from element %zu)", p, first);
        cmp2(op, "out", o, o_r, BIG, NULL, NULL, NULL, 0, 0, 3e-7);
        dropout_backward(g1, dy, p, key, first, BIG); dropout_backward_ref(g1r, dy, p, key, first, BIG);
        snprintf(op, sizeof op, "dropout_backward (p %.1f)", p);
        cmp2(op, "dinp", g1, g1r, BIG, NULL, NULL, NULL, 0, 1, 3e-7);
    }
    // cross-entropy: rows of V = 133 (the logits are x, scale 1, and y, scale 3), one target -1
    for (int n = 0; n < N; n++) tgt[n] = n == 4 ? -1 : (n * 37 + 5) % C;
    for (int i = 0; i < BIG; i++) g1[i] = g1r[i] = PRE;
    crossentropy_forward(r, y, tgt, N, C); crossentropy_forward_ref(r_r, y, tgt, N, C);
    cmp2("crossentropy_forward", "losses (N13 V133)", r, r_r, N, NULL, NULL, NULL, 0, 0, 1e-6);
    crossentropy_backward(g1, dy, y, r, tgt, N, C); crossentropy_backward_ref(g1r, dy, y, r_r, tgt, N, C);
    cmp2("crossentropy_backward", "dlogits", g1, g1r, N * C, NULL, NULL, NULL, 0, 1, 1e-6);
    free(x); free(y); free(dy); free(w); free(o); free(o_r); free(r); free(r_r);
    free(g1); free(g1r); free(g2); free(g2r);
}

int main(void) {
    test_exp_fast();
    test_embedding();
    test_rmsnorm(6, 16);
    test_rmsnorm(3, 150);   // dweight's channel chunks of 64: two whole, one partial
    test_matmul_grad();
    test_matmul_dtypes(200);
    test_matmul_dtypes(201);
    test_rope();
    test_attention(2, 5, 5, 4, 2, 4, 1, 0);   // GQA, 2 query heads per KV head
    test_attention(2, 5, 5, 4, 4, 4, 1, 0);   // plain multi-head
    test_attention(1, 4, 4, 3, 1, 6, 1, 0);   // MQA
    test_attention(2, 3, 7, 4, 2, 4, 1, 0);   // queries at positions 4..6 over 7 keys (KV cache shape)
    test_attention(1, 150, 150, 2, 1, 4, 1, 0); // three blocks of 64 query rows (the last one partial)
    test_attention(1, 70, 80, 2, 2, 4, 1, 0);   // two blocks, against a longer key range
    test_attention(2, 64, 64, 4, 2, 32, 0, 0);  // B*NH*T*Tk*HD >= ATT_MIN_WORK: threads split the heads
    // dropout on the probabilities (odd Tk: mask pairs straddle rows; 150: several blocks)
    test_attention(2, 5, 5, 4, 2, 4, 1, 0.3f);
    test_attention(1, 150, 150, 2, 1, 4, 1, 0.3f);
    test_attention(2, 64, 64, 4, 2, 32, 0, 0.3f);
    test_swiglu();
    test_residual();
    test_dropout(0.0f);
    test_dropout(0.1f);
    test_dropout_mask();
    test_dropout_stats();
    test_crossentropy();
    test_reference_ops();
    return test_summary();
}
