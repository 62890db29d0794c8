// model/matmul.c — every matrix product of the model: y = x W^T, W stored (N,K) like
// PyTorch's nn.Linear, all through cblas_sgemm (OpenBLAS).
//
// inp (M,K), W (N,K), out (M,N).
//   forward:  out = inp · W^T
//   backward: dinp += dout · W            (M,N)(N,K)
//             dW   += dout^T · inp        (N,M)(M,K)     — sgemm with beta = 1 accumulates
// The forward caches nothing itself; the backward needs inp, which the caller keeps in its
// activations.
//
// Weight dtypes. Training weights are f32 and go straight to sgemm. A checkpoint's bf16/f16
// weights are used as they are stored:
//  - M > 1 (training-free prefill, batched eval): MATMUL_BLOCK_ROWS rows of W at a time are
//    widened into `scratch`, and sgemm multiplies that block: out[:, n0:n0+nb] = inp · blk^T.
//  - M == 1 (decoding one token): a matrix-vector product that reads each weight row exactly
//    once, converting in the inner loop, rows split across threads (see gemv below).
//    OpenBLAS's M=1 sgemm measured ~2x slower than this (K 2048, N 8192, f32, this 2-core box).
//  - backward through a frozen weight (a LoRA base, matmul_backward_frozen): only dinp, the
//    same blocks widened into `scratch`: dinp += dout[:, n0:n0+nb] · blk.
#include <string.h>
#include <cblas.h>
#include "model/ops.h"
#include "model/quant.h"
#include "util/parallel.h"

// C (M,N) = alpha op(A) op(B) + beta C, row-major, like cblas_sgemm, with the OpenMP threads
// splitting C: each thread one single-threaded sgemm on its share of the rows (or, when C is
// wider than tall, of the columns). OpenBLAS's own threading splits each product much more
// finely and synchronizes its threads inside it; at the training step's shapes the split here
// measured faster at nearly every shape (2 threads, M = 2048: 84 -> 98 GFLOP/s for
// (2048x128)(128x128), 71 -> 93 for N = 64, 107 -> 124 for a backward dx). Shares are rounded to
// 16 rows/columns, the unit of the sgemm kernels. Small products go to OpenBLAS as they are.
static void sgemm_threads(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K,
                          float alpha, const float *A, int lda, const float *B, int ldb,
                          float beta, float *C, int ldc) {
    if ((size_t)M * N * K < 64 * (size_t)OMP_MIN_WORK || omp_in_parallel()) {
        cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    #pragma omp parallel
    {
        int nt = omp_get_num_threads(), t = omp_get_thread_num(), rows = M >= N;
        int len = rows ? M : N;
        int i0 = (int)((long)len * t / nt) / 16 * 16;
        int i1 = t == nt - 1 ? len : (int)((long)len * (t + 1) / nt) / 16 * 16;
        if (i1 > i0 && rows)        // rows i0..i1 of op(A) and C
            cblas_sgemm(CblasRowMajor, ta, tb, i1 - i0, N, K, alpha,
                        ta == CblasNoTrans ? A + (size_t)i0 * lda : A + i0, lda, B, ldb,
                        beta, C + (size_t)i0 * ldc, ldc);
        else if (i1 > i0)           // columns i0..i1 of op(B) and C
            cblas_sgemm(CblasRowMajor, ta, tb, M, i1 - i0, K, alpha, A, lda,
                        tb == CblasNoTrans ? B + i0 : B + (size_t)i0 * ldb, ldb,
                        beta, C + i0, ldc);
    }
}

// out[n] = dot(W[n,:], x) for n in [0,N): the decode path. Decoding is bound by reading the
// weights (each one is used once per token), so this only has to keep the memory busy: rows are
// split across the threads, and each thread takes 4 rows at a time, so that four independent
// sums are in flight (one alone waits on its own FMA latency every step: measured 9.4 vs
// 12 GB/s on one thread) and each x[k] load serves four rows. `omp simd reduction` lets the
// compiler split each sum over vector lanes (C's strict float order otherwise forbids it).
// The four rows are a quarter of the matrix apart (rows n, n+Q, n+2Q, n+3Q with Q = N/4; see
// gemv) and `stride` is Q rows: each of the four reads then runs on through the rows that follow
// it, one long sequential stream per quarter, instead of four streams that each end after one
// row (4 KB at dim 2048 in bf16), where the hardware prefetcher has to start over.
static void dot4_f32(float *out, int ostride, const float *w, size_t stride, const float *x, int K) {
    const float *w0 = w, *w1 = w0 + stride, *w2 = w1 + stride, *w3 = w2 + stride;
    float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
    #pragma omp simd reduction(+:a0,a1,a2,a3)
    for (int k = 0; k < K; k++) {
        a0 += w0[k] * x[k]; a1 += w1[k] * x[k]; a2 += w2[k] * x[k]; a3 += w3[k] * x[k];
    }
    out[0] = a0; out[ostride] = a1; out[2 * ostride] = a2; out[3 * ostride] = a3;
}
// bf16 rows are read two elements per 32-bit word. A little-endian word holds element 2j in its
// low half and 2j+1 in its high half, so (word << 16) and (word & 0xffff0000) are those two
// elements as float32 bits: no widening instruction, about half the work of converting one
// element at a time (one core, weights in cache: 48 vs 26 GB/s), which leaves the memory as the
// only limit. x arrives split into its even- and odd-indexed elements (xe, xo) to line up.
static inline float bf16_pair_dot(const uint16_t *row, int j, float e, float o) {
    uint32_t word, lo, hi;
    memcpy(&word, row + 2 * j, 4);
    lo = word << 16;
    hi = word & 0xffff0000u;
    float flo, fhi;
    memcpy(&flo, &lo, 4);
    memcpy(&fhi, &hi, 4);
    return flo * e + fhi * o;
}
static void dot4_bf16(float *out, int ostride, const uint16_t *w, size_t stride,
                      const float *xe, const float *xo, int K) {
    const uint16_t *w0 = w, *w1 = w0 + stride, *w2 = w1 + stride, *w3 = w2 + stride;
    float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
    #pragma omp simd reduction(+:a0,a1,a2,a3)
    for (int j = 0; j < K / 2; j++) {
        float e = xe[j], o = xo[j];
        a0 += bf16_pair_dot(w0, j, e, o); a1 += bf16_pair_dot(w1, j, e, o);
        a2 += bf16_pair_dot(w2, j, e, o); a3 += bf16_pair_dot(w3, j, e, o);
    }
    out[0] = a0; out[ostride] = a1; out[2 * ostride] = a2; out[3 * ostride] = a3;
}
// one row, any dtype (the N % 4 rows left over; f16, whose conversion does not vectorize; bf16
// with odd K)
static float dot1(Mat w, size_t row, const float *x, int K) {
    float acc = 0.0f;
    if (w.dtype == DTYPE_F32) {
        const float *r = (const float *)w.data + row * K;
        #pragma omp simd reduction(+:acc)
        for (int k = 0; k < K; k++) acc += r[k] * x[k];
    } else if (w.dtype == DTYPE_BF16) {
        const uint16_t *r = (const uint16_t *)w.data + row * K;
        #pragma omp simd reduction(+:acc)
        for (int k = 0; k < K; k++) acc += bf16_to_f32(r[k]) * x[k];
    } else {
        const uint16_t *r = (const uint16_t *)w.data + row * K;
        for (int k = 0; k < K; k++) acc += f16_to_f32(r[k]) * x[k];
    }
    return acc;
}

// xs: scratch of K floats for the even/odd split of x (bf16 only)
static void gemv(float *out, const float *x, Mat w, float *xs, int K, int N) {
    int pairs = w.dtype == DTYPE_BF16 && K % 2 == 0 && xs && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;
    int Q = w.dtype == DTYPE_F32 || pairs ? N / 4 : 0;   // groups of 4 rows: n, n+Q, n+2Q, n+3Q
    size_t stride = (size_t)Q * K;
    float *xe = xs, *xo = xs + K / 2;
    if (pairs)
        for (int j = 0; j < K / 2; j++) { xe[j] = x[2 * j]; xo[j] = x[2 * j + 1]; }
    #pragma omp parallel if ((size_t)N * K >= OMP_MIN_WORK)
    {
        // chunks of 32 groups (4 runs of 32 consecutive rows) handed out as threads finish:
        // when one thread is slowed (another process, an interrupt) the other takes over its
        // rows instead of waiting at the end (with adjacent-row groups this measured 92% of the
        // read bandwidth against 86% for one static half each; with these groups the two
        // measured the same on a quiet machine)
        #pragma omp for nowait schedule(dynamic, 32)
        for (int n = 0; n < Q; n++) {
            if (w.dtype == DTYPE_F32)
                dot4_f32(out + n, Q, (const float *)w.data + (size_t)n * K, stride, x, K);
            else
                dot4_bf16(out + n, Q, (const uint16_t *)w.data + (size_t)n * K, stride, xe, xo, K);
        }
        #pragma omp for
        for (int n = 4 * Q; n < N; n++) out[n] = dot1(w, n, x, K);
    }
}

// Rows n0..n0+nb of a (N,K) bf16/f16/K-quant matrix as f32 into dst (nb*K floats): the blocks the
// prefill forward and the frozen-weight backward hand to sgemm.
static void widen_rows(float *dst, Mat w, int n0, int nb, int K) {
    size_t count = (size_t)nb * K;
    if (w.dtype == DTYPE_BF16 || w.dtype == DTYPE_F16) {
        const uint16_t *src = (const uint16_t *)w.data + (size_t)n0 * K;
        if (w.dtype == DTYPE_BF16) {
            #pragma omp parallel for if (count >= OMP_MIN_WORK)
            for (size_t i = 0; i < count; i++) dst[i] = bf16_to_f32(src[i]);
        } else {
            #pragma omp parallel for if (count >= OMP_MIN_WORK)
            for (size_t i = 0; i < count; i++) dst[i] = f16_to_f32(src[i]);
        }
        return;
    }
    const char *q = (const char *)w.data + dtype_bytes(w.dtype, (size_t)n0 * K);   // block-quantized rows
    #pragma omp parallel for if (count >= OMP_MIN_WORK)
    for (int r = 0; r < nb; r++)
        dequantize_row(w.dtype, q + dtype_bytes(w.dtype, (size_t)r * K), dst + (size_t)r * K, K);
}

// The sgemms below run with beta = 1 on an output zeroed first, not with beta = 0: same result,
// but OpenBLAS's beta = 0 clears C with a slow generic loop (2 threads, M 2048, K 128, N 384:
// 2.9 ms with beta = 0, 2.0 ms zeroing + beta = 1; over a tiny training step's forward, 10 ms).
void matmul_forward(float *out, const float *inp, Mat weight, float *scratch, int M, int K, int N) {
    // Q8_0/Q4_0 weights: int8 kernels (model/quant.c), in pieces of M whose quantized
    // activations fit the scratch (1.06 bytes an element against its 4 * MATMUL_BLOCK_ROWS).
    // K-quants there only for M = 1 (block-wise float dots); for M > 1 they are widened below.
    if (dtype_is_quant(weight.dtype) && (!dtype_is_kquant(weight.dtype) || M == 1)) {
        for (int m0 = 0; m0 < M; m0 += 2 * MATMUL_BLOCK_ROWS) {
            int mb = M - m0 < 2 * MATMUL_BLOCK_ROWS ? M - m0 : 2 * MATMUL_BLOCK_ROWS;
            quant_matmul_forward(out + (size_t)m0 * N, inp + (size_t)m0 * K, weight, scratch, mb, K, N);
        }
        return;
    }
    if (M == 1) { gemv(out, inp, weight, scratch, K, N); return; }
    zero_floats(out, (size_t)M * N);
    if (weight.dtype == DTYPE_F32) {
        sgemm_threads(CblasNoTrans, CblasTrans, M, N, K,
                      1.0f, inp, K, (const float *)weight.data, K, 1.0f, out, N);
        return;
    }
    for (int n0 = 0; n0 < N; n0 += MATMUL_BLOCK_ROWS) {
        int nb = N - n0 < MATMUL_BLOCK_ROWS ? N - n0 : MATMUL_BLOCK_ROWS;
        widen_rows(scratch, weight, n0, nb, K);
        sgemm_threads(CblasNoTrans, CblasTrans, M, nb, K,
                      1.0f, inp, K, scratch, K, 1.0f, out + n0, N);
    }
}

void matmul_backward(float *dinp, float *dweight, const float *dout, const float *inp,
                     const float *weight, int M, int K, int N) {
    if (dinp)      // (M,K) += (M,N)·(N,K)
        sgemm_threads(CblasNoTrans, CblasNoTrans, M, K, N,
                      1.0f, dout, N, weight, K, 1.0f, dinp, K);
    if (dweight)   // (N,K) += (M,N)^T·(M,K)
        sgemm_threads(CblasTrans, CblasNoTrans, N, K, M,
                      1.0f, dout, N, inp, K, 1.0f, dweight, K);
}

void matmul_backward_frozen(float *dinp, const float *dout, Mat weight, float *scratch, int M, int K, int N) {
    if (weight.dtype == DTYPE_F32) {   // (M,K) += (M,N)·(N,K)
        sgemm_threads(CblasNoTrans, CblasNoTrans, M, K, N, 1.0f, dout, N, (const float *)weight.data, K, 1.0f, dinp, K);
        return;
    }
    // dinp = sum over blocks of rows: dinp += dout[:, n0:n0+nb] · W[n0:n0+nb, :]
    for (int n0 = 0; n0 < N; n0 += MATMUL_BLOCK_ROWS) {
        int nb = N - n0 < MATMUL_BLOCK_ROWS ? N - n0 : MATMUL_BLOCK_ROWS;
        widen_rows(scratch, weight, n0, nb, K);
        sgemm_threads(CblasNoTrans, CblasNoTrans, M, K, nb, 1.0f, dout + n0, N, scratch, K, 1.0f, dinp, K);
    }
}
