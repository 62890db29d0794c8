// model/quant.h — block-quantized weights (GGUF's Q8_0, Q4_0 and K-quants, bit for bit) and the
// matrix-vector kernels that run on them.
//
//   Q8_0: 32 values = f16 scale d + 32 int8 q;            x = d * q
//   Q4_0: 32 values = f16 scale d + 16 bytes of nibbles;  x = d * (q - 8), byte j holds element j
//         in its low nibble and element j + 16 in its high nibble
// The K-quants hold 256 values in sub-blocks with their own small scales. They are read only
// (llama-quantize's Q4_K_M and Q5_K_M files mix them); nothing here writes them.
//   Q6_K: 16 sub-blocks of 16 with int8 scales, 6-bit q (4 low bits in ql, 2 high in qh), f16
//         super-scale d; x = d * scale[sub] * (q - 32)
//   Q4_K: 8 sub-blocks of 32, each with a 6-bit scale sc and a 6-bit min m (12 bytes for the 16),
//         f16 d and dmin; x = d * sc[sub] * q - dmin * m[sub], q the 4-bit code. In each 64 values,
//         32 bytes of qs hold the first 32 codes in their low nibbles, the next 32 in their high.
//   Q5_K: Q4_K plus a fifth bit per value: q = nibble + 16 * (bit 2i or 2i+1 of qh[j % 32]) for
//         the j-th value of the i-th group of 64 (low nibbles bit 2i, high nibbles bit 2i+1).
//
// Products y = x W^T with W in Q8_0/Q4_0 follow llama.cpp: x is quantized to Q8_0 too (per block
// of 32: d = max|x| / 127, q = round(x / d)), and each block pair contributes
// d_w * d_x * sum_j q_w[j] * q_x[j], the inner sum in int8 -> int32 arithmetic. K-quant rows
// are widened to float a block at a time and dotted with x as it is.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "model/dtype.h"
#include "model/model.h"

#define QK8_0 32
#define QK4_0 32
#define QK_K 256

typedef struct { uint16_t d; int8_t qs[QK8_0]; } BlockQ8_0;          // 34 bytes
typedef struct { uint16_t d; uint8_t qs[QK4_0 / 2]; } BlockQ4_0;     // 18 bytes
typedef struct { uint8_t ql[QK_K / 2]; uint8_t qh[QK_K / 4]; int8_t scales[QK_K / 16]; uint16_t d; } BlockQ6_K; // 210
// scales: sub-block j < 4 has sc = scales[j] & 63, m = scales[j + 4] & 63; j >= 4 has its low
// 4 bits in scales[j + 4] (sc low nibble, m high nibble) and its top 2 bits in the top bits of
// scales[j - 4] (sc) and scales[j] (m)
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[QK_K / 2]; } BlockQ4_K;                  // 144
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qh[QK_K / 8]; uint8_t qs[QK_K / 2]; } BlockQ5_K; // 176

// The portable reference (what ggml's *_ref functions compute). k: a multiple of 32.
void quantize_row_q8_0(BlockQ8_0 *y, const float *x, int k);
// The same blocks, by the vector code where the CPU has AVX2 (bit for bit; tests/test_quant.c)
void quant_row_q8_0(BlockQ8_0 *y, const float *x, int k);
void quantize_row_q4_0(BlockQ4_0 *y, const float *x, int k);
// Either of the two (t) with block i's range shrunk to clip_ratio(clip[i]) of its largest
// magnitude: values past it saturate, the others get a finer grid (model/awq.c picks clip).
void quantize_row_clip(DType t, void *y, const float *x, int k, const uint8_t *clip);
// k elements of a row of type t (a multiple of the block), widened to float
void dequantize_row(DType t, const void *src, float *dst, int k);

// A row of activations as the kernels take it: K/32 Q8_0 blocks, and per block its scale as a
// float and the sum of its 32 q (the kernels' unsigned weight bytes are q + 8 or q + 128, and
// the sum takes the excess back out; it depends on x alone, so it is computed once per row).
typedef struct { const BlockQ8_0 *q; const float *d; const int32_t *sum; } QuantAct;
// bytes quant_act needs for a row of K, 64-byte aligned pieces
static inline size_t quant_act_bytes(int K) { return ((size_t)(K / QK8_0) * (sizeof(BlockQ8_0) + 8) + 63) / 64 * 64; }
// x (K floats) quantized into scratch (quant_act_bytes(K), 64-byte aligned), described by *a
void quant_act(QuantAct *a, void *scratch, const float *x, int K);

// Dot products of n/32 weight blocks with n/32 activation blocks: one row, or four rows at
// w, w + stride, w + 2 stride, w + 3 stride (bytes) into out[0], out[os], out[2 os], out[3 os].
typedef float (*QuantDot)(int n, const void *w, const QuantAct *x);
typedef void (*QuantDot4)(int n, const void *w, size_t stride, const QuantAct *x, float *out, int os);
typedef enum { QUANT_KERNEL_REF = 0, QUANT_KERNEL_AVX2, QUANT_KERNEL_AVXVNNI, QUANT_KERNEL_AVX512, QUANT_KERNELS } QuantKernel;
extern const char *const quant_kernel_names[QUANT_KERNELS];
// Whether this CPU runs that kernel (cpuid), and the kernel for a weight type (Q8_0 or Q4_0).
int quant_kernel_supported(QuantKernel k);
QuantDot quant_dot(QuantKernel k, DType t);
QuantDot4 quant_dot4(QuantKernel k, DType t);
// One group of 16 packed rows (quant_pack.c's layout, K columns) against nx activation rows:
// out[m * ldo + r] = row r . x[m] for r < 16, m < nx.
typedef void (*QuantDot16)(int K, const void *group, const QuantAct *x, int nx, float *out, size_t ldo);
QuantDot16 quant_dot16(QuantKernel k, DType t);   // t: Q8_0 or Q4_0, packed or not
// The kernel used by quant_matmul_forward: the best supported one unless set (tests, benches).
QuantKernel quant_kernel_active(void);
void quant_kernel_set(QuantKernel k);

// Packed Q8_0/Q4_0 (model/quant_pack.c): 16 rows interleaved block by block, so that one vector
// instruction works on 16 rows at once. Packable: Q8_0 or Q4_0, rows a multiple of 16, cols a
// multiple of 64. quant_pack_mat writes src's packed form to dst (the same number of bytes; dst
// may be src: packed in place); -1 out of memory. quant_packed_row widens row r of a packed
// matrix; model_pack packs every packable matrix of a model (bin/infer, after loading and
// quantizing: only the matmul and the embedding read packed matrices). model_pack fails only
// out of memory, possibly with some matrices packed: the model is then for model_free only.
int quant_packable(DType t, size_t rows, int cols);
int quant_pack_mat(void *dst, const void *src, DType t, size_t rows, int cols);
void quant_packed_row(DType t, const void *data, size_t r, int cols, float *dst);
int model_pack(Model *m, char *err, size_t errlen);

// out (M,N) = inp (M,K) W^T, W (N,K) in Q8_0/Q4_0, packed or not (int8 kernels, threads over rows of W) or
// a K-quant (dequantized block by block; model/matmul.c sends those only M = 1). K a multiple of
// the block (dtype_block). scratch: at least quant_scratch_bytes(M, K) bytes, 64-byte aligned.
static inline size_t quant_scratch_bytes(int M, int K) { return (size_t)M * quant_act_bytes(K); }
void quant_matmul_forward(float *out, const float *inp, Mat w, void *scratch, int M, int K, int N);

// A (rows, cols) matrix of any dtype quantized to t (Q8_0 or Q4_0) into dst, which holds
// dtype_bytes(t, rows*cols) bytes. cols must be a multiple of 32. Returns -1 out of memory.
int quantize_mat(void *dst, DType t, Mat src, size_t rows, int cols);
// The same for the matrix with column k multiplied by col_scale[k] and row r by row_scale[r]
// (either NULL: 1) before rounding, and block i of row r rounded over clip_ratio(clip[r*cols/32
// + i]) of its range (clip NULL: the whole range, as ggml rounds). t may also be F32: scaled,
// not rounded, clip ignored.
int quantize_mat_scaled(void *dst, DType t, Mat src, size_t rows, int cols, const float *col_scale,
                        const float *row_scale, const uint8_t *clip);
// clip code c: the block's range shrunk to 1 - c/20 of its largest magnitude (0: not clipped)
#define QUANT_CLIP_CODES 11
static inline float clip_ratio(uint8_t c) { return 1.0f - c / 20.0f; }

// Quantize every layer matrix of m to t (Q8_0 or Q4_0) and the output head to head_t (Q8_0,
// Q4_0, or -1: leave it as it is); the embedding table, when not tied to the head, goes to t
// (llama.cpp's default). m->w then points into one new buffer, m->quant_memory (freed by
// model_free). Returns 0, or -1 with a one-line reason (a row length not a multiple of 32,
// out of memory).
int model_quantize(Model *m, DType t, int head_t, char *err, size_t errlen);
// The same with activation-aware scales (model/awq.h) folded in: each layer's matrices are
// rounded as W diag(s), wv's and w3's rows divided by the next matrix's scales, and the RMSNorm
// weights divided by the scales of the matrices they feed (new copies in m->quant_memory), so the
// unrounded model computes the same function. awq NULL: model_quantize. t may be F32 here: the
// scales folded in without rounding (what the tests check the folding with).
struct AwqScales;
int model_quantize_scaled(Model *m, DType t, int head_t, const struct AwqScales *awq, char *err, size_t errlen);
