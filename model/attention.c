// model/attention.c — causal grouped-query self-attention on already-projected, already-rotated
// q, k, v.
//
// q (B,T,NH*HD); k, v (B,Tk,NKV*HD); out (B,T,NH*HD); att (B,NH,T,Tk).
// Query t of a batch row sits at absolute position Tk-T+t and may see keys 0..Tk-T+t: in
// training Tk == T (plain causal mask); against a KV cache the T new queries see all Tk = pos+T
// cached keys up to their own position. GQA: query head h reads KV head g = h / (NH/NKV), so
// NH/NKV query heads share one K/V head (MQA when NKV = 1).
//
//   forward:  S = q_h k_g^T / sqrt(HD),  P = softmax(S + mask) row-wise,  out_h = D v_g
//   backward: dD = dout_h v_g^T,  dv_g += D^T dout_h,  dP = dD masked like D
//             dS = P * (dP - rowsum(dP * P))                  (softmax Jacobian)
//             dq_h += dS k_g / sqrt(HD),  dk_g += dS^T q_h / sqrt(HD)
//   D = dropout(P) while training with p > 0 (each probability kept with 1-p and scaled by
//   1/(1-p), model/dropout.c's counter mask over att's element index), else D = P.
//   Because several heads share k_g, v_g, their dk/dv contributions add up (the += does it).
// Caches P in att: the backward needs it for the softmax Jacobian; D is rebuilt from P and the
// mask, a block at a time, in scratch (a block of rows per (b, h)), in the forward and again in
// the backward, rather than stored; the backward reads the mask for dP off D.
//
// Every product is a cblas_sgemm on strided views (a head is HD columns of a row of width
// NH*HD, hence lda = NH*HD). The products are small (at T = 256, HD = 32: 64 x 256 x 32), too
// small for OpenBLAS to split across threads profitably, and there are many (B·NH·T/64 blocks,
// five sgemms each in the backward). So the threads split the *heads* instead: one OpenMP
// region per call, each thread running whole heads, each sgemm single-threaded (OpenBLAS's
// OpenMP build runs single-threaded when called inside a parallel region — see the Makefile).
// The backward splits over (b, KV head), so the heads that share a KV head, and so add into the
// same dk, dv, run on one thread in a fixed order: the result does not depend on the number of
// threads.
#include <math.h>
#include <string.h>
#include <cblas.h>
#include "model/ops.h"
#include "model/vecmath.h"

// Causal masking makes the upper-right of S all zeros after the softmax: the loops run over
// blocks of ATT_BLOCK query rows and multiply only against the keys the block's last row can
// see (about half the work of the full T x Tk products in training).
#define ATT_BLOCK 64

// Threads split the heads only when the multiply-adds (B·NH·T·Tk·HD, about a millisecond of
// work here) outweigh starting the threads, which on a busy machine can cost far more than the
// few microseconds it takes on a quiet one.
#define ATT_MIN_WORK (64 * OMP_MIN_WORK)

// The (nb, nk) products S and dP run with beta = 1 on rows zeroed here, rather than beta = 0:
// OpenBLAS clears C for beta = 0 with a slow generic loop (64 x 256 x 32: 24 us against 19.5).
static void zero_rows(float *A, int rows, int cols, int ld) {
    for (int i = 0; i < rows; i++) memset(A + (size_t)i * ld, 0, (size_t)cols * sizeof(float));
}

// row[0..n) = softmax(row[0..n)), row[n..len) = 0 (the masked keys)
static void softmax_causal_row(float *row, int n, int len) {
    float mx = row[0];
    #pragma omp simd reduction(max:mx)
    for (int j = 1; j < n; j++) mx = row[j] > mx ? row[j] : mx;
    float sum = 0.0f;
    #pragma omp simd reduction(+:sum)
    for (int j = 0; j < n; j++) { row[j] = exp_fast(row[j] - mx); sum += row[j]; }
    float inv = 1.0f / sum;
    #pragma omp simd
    for (int j = 0; j < n; j++) row[j] *= inv;
    memset(row + n, 0, (size_t)(len - n) * sizeof(float));
}

size_t attention_scratch_floats(int B, int T, int Tk, int NH) {
    return (size_t)B * NH * (T < ATT_BLOCK ? T : ATT_BLOCK) * Tk;
}

// D's rows for a block (nb rows from query t0 of head h of batch row b): row i keeps the
// dropout-masked P over its n visible keys and is 0 from there to nk
static const float *dropped_block(float *scratch, const float *P, int b, int h, int t0, int nb, int nk,
                                  int past, int T, int Tk, int NH, float p, uint64_t key,
                                  size_t first0) {
    float *D = scratch + ((size_t)b * NH + h) * attention_scratch_floats(1, T, Tk, 1);   // (b, h)'s slab
    for (int i = 0; i < nb; i++) {
        int n = past + t0 + i + 1;
        size_t first = first0 + (((size_t)b * NH + h) * T + t0 + i) * Tk;   // the element's index in att
        dropout_span(D + (size_t)i * Tk, P + (size_t)i * Tk, p, key, first, n);
        memset(D + (size_t)i * Tk + n, 0, (size_t)(nk - n) * sizeof(float));
    }
    return D;
}

void attention_forward(float *out, float *att, float *scratch, const float *q, const float *k,
                       const float *v, int B, int T, int Tk, int NH, int NKV, int HD, float p, uint64_t key,
                       size_t first) {
    int QD = NH * HD, KVD = NKV * HD, group = NH / NKV, past = Tk - T;
    float scale = 1.0f / sqrtf((float)HD);
    #pragma omp parallel for collapse(2) if ((size_t)B * NH * T * Tk * HD >= ATT_MIN_WORK)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int t0 = 0; t0 < T; t0 += ATT_BLOCK) {
                int nb = T - t0 < ATT_BLOCK ? T - t0 : ATT_BLOCK;   // query rows t0..t0+nb-1
                int nk = past + t0 + nb;                            // keys they can see
                int g = h / group;
                const float *qh = q + ((size_t)b * T + t0) * QD + (size_t)h * HD;
                const float *kg = k + (size_t)b * Tk * KVD + (size_t)g * HD;
                const float *vg = v + (size_t)b * Tk * KVD + (size_t)g * HD;
                float *P = att + (((size_t)b * NH + h) * T + t0) * Tk;
                float *oh = out + ((size_t)b * T + t0) * QD + (size_t)h * HD;
                // S (nb,nk) = scale * q_h (nb,HD) · k_g^T   (beta = 1 on zeroed rows: see zero_rows)
                zero_rows(P, nb, nk, Tk);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nb, nk, HD,
                            scale, qh, QD, kg, KVD, 1.0f, P, Tk);
                // causal softmax in place: row t keeps keys 0..past+t, the rest become exact 0
                for (int i = 0; i < nb; i++) softmax_causal_row(P + (size_t)i * Tk, past + t0 + i + 1, Tk);
                // out_h (nb,HD) = D (nb,nk) · v_g (nk,HD)
                const float *D = p > 0 ? dropped_block(scratch, P, b, h, t0, nb, nk, past, T, Tk, NH, p, key, first) : P;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nb, HD, nk,
                            1.0f, D, Tk, vg, KVD, 0.0f, oh, QD);
            }
}

void attention_backward(float *dq, float *dk, float *dv, float *datt, float *scratch, const float *dout,
                        const float *q, const float *k, const float *v, const float *att,
                        int B, int T, int Tk, int NH, int NKV, int HD, float p, uint64_t key,
                       size_t first) {
    int QD = NH * HD, KVD = NKV * HD, group = NH / NKV, past = Tk - T;
    float scale = 1.0f / sqrtf((float)HD);
    #pragma omp parallel for collapse(2) if ((size_t)B * NH * T * Tk * HD >= ATT_MIN_WORK)
    for (int b = 0; b < B; b++)
        for (int g = 0; g < NKV; g++)
            for (int h = g * group; h < (g + 1) * group; h++)
                for (int t0 = 0; t0 < T; t0 += ATT_BLOCK) {
                    int nb = T - t0 < ATT_BLOCK ? T - t0 : ATT_BLOCK;
                    int nk = past + t0 + nb;
                    size_t qoff = ((size_t)b * T + t0) * QD + (size_t)h * HD;
                    size_t kvoff = (size_t)b * Tk * KVD + (size_t)g * HD;
                    const float *P = att + (((size_t)b * NH + h) * T + t0) * Tk;
                    // dP lives only within this block: every block of this (b, g) reuses the
                    // same nb rows of datt (the first rows of head g*group's slab), which stay
                    // in cache, instead of walking the whole cold (B,NH,T,Tk) buffer
                    float *dP = datt + ((size_t)b * NH + (size_t)g * group) * T * Tk;
                    // dD (nb,nk) = dout_h (nb,HD) · v_g^T
                    zero_rows(dP, nb, nk, Tk);
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nb, nk, HD,
                                1.0f, dout + qoff, QD, v + kvoff, KVD, 1.0f, dP, Tk);
                    // dv_g (nk,HD) += D^T · dout_h
                    const float *D = p > 0 ? dropped_block(scratch, P, b, h, t0, nb, nk, past, T, Tk, NH, p, key, first) : P;
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nk, HD, nb,
                                1.0f, D, Tk, dout + qoff, QD, 1.0f, dv + kvoff, KVD);
                    // dP = dD through the dropout mask; then dS = P * (dP - sum_j dP_j P_j), in
                    // place in dP (masked entries have P = 0). The mask is read off D instead of
                    // hashed again: D_j != 0 means kept, and where P_j is 0 (so D_j too) dS_j is
                    // 0 whatever dP_j is, so the shortcut changes nothing.
                    for (int i = 0; i < nb; i++) {
                        const float *pr = P + (size_t)i * Tk;
                        float *d = dP + (size_t)i * Tk;
                        int n = past + t0 + i + 1;
                        if (p > 0) {
                            const float *dr = D + (size_t)i * Tk;
                            float inv = 1.0f / (1.0f - p);
                            #pragma omp simd
                            for (int j = 0; j < n; j++) d[j] *= dr[j] != 0.0f ? inv : 0.0f;  // no branch
                        }
                        float dot = 0.0f;
                        #pragma omp simd reduction(+:dot)
                        for (int j = 0; j < n; j++) dot += d[j] * pr[j];
                        #pragma omp simd
                        for (int j = 0; j < n; j++) d[j] = pr[j] * (d[j] - dot);
                        for (int j = n; j < nk; j++) d[j] = 0.0f;
                    }
                    // dq_h (nb,HD) += scale * dS · k_g;   dk_g (nk,HD) += scale * dS^T · q_h
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nb, HD, nk,
                                scale, dP, Tk, k + kvoff, KVD, 1.0f, dq + qoff, QD);
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nk, HD, nb,
                                scale, dP, Tk, q + qoff, QD, 1.0f, dk + kvoff, KVD);
                }
}
