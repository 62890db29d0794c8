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
//    once, converting in the inner loop, one output per row, rows split across threads.
//    OpenBLAS's M=1 sgemm measured ~2x slower than this (K 2048, N 8192, f32, this 2-core box).
#include <cblas.h>
#include "model/ops.h"

// out[n] = dot(W[n,:], x) for n in [0,N): the decode path (any dtype). `omp simd reduction`
// lets the compiler split each dot product over vector lanes (without it, C's strict float
// order forbids vectorizing a sum, and the loop runs ~4x slower).
static void gemv(float *out, const float *x, Mat w, int K, int N) {
    #pragma omp parallel for if ((size_t)N * K >= OMP_MIN_WORK)
    for (int n = 0; n < N; n++) {
        float acc = 0.0f;
        if (w.dtype == DTYPE_F32) {
            const float *row = (const float *)w.data + (size_t)n * K;
            #pragma omp simd reduction(+:acc)
            for (int k = 0; k < K; k++) acc += row[k] * x[k];
        } else if (w.dtype == DTYPE_BF16) {
            const uint16_t *row = (const uint16_t *)w.data + (size_t)n * K;
            #pragma omp simd reduction(+:acc)
            for (int k = 0; k < K; k++) acc += bf16_to_f32(row[k]) * x[k];
        } else {
            const uint16_t *row = (const uint16_t *)w.data + (size_t)n * K;
            #pragma omp simd reduction(+:acc)
            for (int k = 0; k < K; k++) acc += f16_to_f32(row[k]) * x[k];
        }
        out[n] = acc;
    }
}

void matmul_forward(float *out, const float *inp, Mat weight, float *scratch, int M, int K, int N) {
    if (M == 1) { gemv(out, inp, weight, K, N); return; }
    if (weight.dtype == DTYPE_F32) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K,
                    1.0f, inp, K, (const float *)weight.data, K, 0.0f, out, N);
        return;
    }
    for (int n0 = 0; n0 < N; n0 += MATMUL_BLOCK_ROWS) {
        int nb = N - n0 < MATMUL_BLOCK_ROWS ? N - n0 : MATMUL_BLOCK_ROWS;
        const uint16_t *src = (const uint16_t *)weight.data + (size_t)n0 * K;
        size_t count = (size_t)nb * K;
        if (weight.dtype == DTYPE_BF16) {
            #pragma omp parallel for if (count >= OMP_MIN_WORK)
            for (size_t i = 0; i < count; i++) scratch[i] = bf16_to_f32(src[i]);
        } else {
            #pragma omp parallel for if (count >= OMP_MIN_WORK)
            for (size_t i = 0; i < count; i++) scratch[i] = f16_to_f32(src[i]);
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, nb, K,
                    1.0f, inp, K, scratch, K, 0.0f, out + n0, N);
    }
}

void matmul_backward(float *dinp, float *dweight, const float *dout, const float *inp,
                     const float *weight, int M, int K, int N) {
    if (dinp)      // (M,K) += (M,N)·(N,K)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, K, N,
                    1.0f, dout, N, weight, K, 1.0f, dinp, K);
    if (dweight)   // (N,K) += (M,N)^T·(M,K)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, K, M,
                    1.0f, dout, N, inp, K, 1.0f, dweight, K);
}
