// model/quant.c — see quant.h. The portable reference first, then the x86 kernels (compiled
// with target attributes, picked at run time from cpuid), then the matmul and the quantizer.
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#include "model/quant.h"
#include "model/quant_kernels.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "util/errors.h"
#include "model/awq.h"
#include "model/ops.h"

_Static_assert(sizeof(BlockQ8_0) == 34, "Q8_0 block is 34 bytes");
_Static_assert(sizeof(BlockQ4_0) == 18, "Q4_0 block is 18 bytes");
_Static_assert(sizeof(BlockQ6_K) == 210, "Q6_K block is 210 bytes");
_Static_assert(sizeof(BlockQ4_K) == 144, "Q4_K block is 144 bytes");
_Static_assert(sizeof(BlockQ5_K) == 176, "Q5_K block is 176 bytes");

// ---- reference ----

// float -> int8 and 4-bit codes, as ggml's casts for every finite input in range; NaN (a weight
// or activation gone bad) becomes 0 and out-of-range values clamp, instead of an undefined cast
static inline int8_t q8_of(float v) {
    return v >= -127.0f && v <= 127.0f ? (int8_t)roundf(v) : v > 127.0f ? 127 : v < -127.0f ? -127 : 0;
}
static inline int q4_of(float t) { // t = x/d + 8.5, truncated like ggml's (int8_t) cast, at most 15
    return t >= 0.0f && t < 15.0f ? (int)t : t >= 15.0f ? 15 : 0;
}

void quantize_row_q8_0(BlockQ8_0 *y, const float *x, int k) {
    for (int i = 0; i < k / QK8_0; i++, x += QK8_0) {
        float amax = 0.0f;
        for (int j = 0; j < QK8_0; j++) amax = fmaxf(amax, fabsf(x[j]));
        float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = f32_to_f16(d);
        for (int j = 0; j < QK8_0; j++) y[i].qs[j] = q8_of(x[j] * id);
    }
}

void quant_row_q8_0(BlockQ8_0 *y, const float *x, int k) {
#if defined(__x86_64__) || defined(__i386__)
    if (quant_kernel_active() != QUANT_KERNEL_REF) { quantize_row_q8_0_avx2(y, NULL, NULL, x, k); return; }
#endif
    quantize_row_q8_0(y, x, k);
}

// d = (the value of largest magnitude) / -8, so that value lands exactly on q = 0 and the
// other end of the range keeps 15 of the 16 levels.
void quantize_row_q4_0(BlockQ4_0 *y, const float *x, int k) {
    for (int i = 0; i < k / QK4_0; i++, x += QK4_0) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < QK4_0; j++)
            if (amax < fabsf(x[j])) { amax = fabsf(x[j]); max = x[j]; }
        float d = max / -8.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = f32_to_f16(d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            y[i].qs[j] = (uint8_t)(q4_of(x[j] * id + 8.5f) | q4_of(x[j + 16] * id + 8.5f) << 4);
        }
    }
}

void quantize_row_clip(DType t, void *dst, const float *x, int k, const uint8_t *clip) {
    for (int i = 0; i < k / QK8_0; i++, x += QK8_0) {
        float amax = 0.0f, max = 0.0f, r = clip_ratio(clip[i]);
        for (int j = 0; j < QK8_0; j++)
            if (amax < fabsf(x[j])) { amax = fabsf(x[j]); max = x[j]; }
        if (t == DTYPE_Q8_0) {
            BlockQ8_0 *y = (BlockQ8_0 *)dst + i;
            float d = amax * r / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
            y->d = f32_to_f16(d);
            for (int j = 0; j < QK8_0; j++) y->qs[j] = q8_of(x[j] * id);
        } else {
            BlockQ4_0 *y = (BlockQ4_0 *)dst + i;
            float d = max * r / -8.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
            y->d = f32_to_f16(d);
            for (int j = 0; j < QK4_0 / 2; j++)
                y->qs[j] = (uint8_t)(q4_of(x[j] * id + 8.5f) | q4_of(x[j + 16] * id + 8.5f) << 4);
        }
    }
}

static void dequantize_q6_K(const BlockQ6_K *x, float *y, int k) {
    for (int i = 0; i < k / QK_K; i++) {
        float d = f16_to_f32(x[i].d);
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        const int8_t *sc = x[i].scales;
        for (int n = 0; n < QK_K; n += 128, y += 128, ql += 64, qh += 32, sc += 8)
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int q1 = ((ql[l] & 0xF) | ((qh[l] >> 0 & 3) << 4)) - 32;
                int q2 = ((ql[l + 32] & 0xF) | ((qh[l] >> 2 & 3) << 4)) - 32;
                int q3 = ((ql[l] >> 4) | ((qh[l] >> 4 & 3) << 4)) - 32;
                int q4 = ((ql[l + 32] >> 4) | ((qh[l] >> 6 & 3) << 4)) - 32;
                y[l] = d * sc[is] * q1;
                y[l + 32] = d * sc[is + 2] * q2;
                y[l + 64] = d * sc[is + 4] * q3;
                y[l + 96] = d * sc[is + 6] * q4;
            }
    }
}

// sub-block j's 6-bit scale and min from a Q4_K/Q5_K block's 12 scale bytes (quant.h: the packing)
static void scale_min_K(const uint8_t *s, int j, int *sc, int *m) {
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 0xF) | (s[j - 4] >> 6) << 4;
        *m = (s[j + 4] >> 4) | (s[j] >> 6) << 4;
    }
}

// One Q4_K or Q5_K block (qh NULL: Q4_K). Sub-block j (32 values) is x = (d sc_j) q - dmin m_j,
// both products rounded to float first, then one multiply and one subtraction, each rounded:
// ggml's order. The two are separate statements so that no compiler fuses them into an FMA.
static void dequantize_q45_K(uint16_t d16, uint16_t dmin16, const uint8_t *scales, const uint8_t *qs,
                             const uint8_t *qh, float *y) {
    float d = f16_to_f32(d16), dmin = f16_to_f32(dmin16);
    for (int j = 0; j < QK_K / 32; j++, y += 32) {
        int sc, m, shift = j % 2 * 4;       // even j: the low nibbles of 32 bytes, odd j: the high
        scale_min_K(scales, j, &sc, &m);
        float ds = d * sc, dm = dmin * m;
        const uint8_t *q = qs + j / 2 * 32;
        for (int l = 0; l < 32; l++) {
            int v = (q[l] >> shift & 0xF) | (qh ? (qh[l] >> j & 1) << 4 : 0);
            float p = ds * v;
            y[l] = p - dm;
        }
    }
}

void dequantize_row(DType t, const void *src, float *dst, int k) {
    if (t == DTYPE_Q8_0) {
        const BlockQ8_0 *b = src;
        for (int i = 0; i < k / QK8_0; i++) {
            float d = f16_to_f32(b[i].d);
            for (int j = 0; j < QK8_0; j++) dst[i * QK8_0 + j] = d * b[i].qs[j];
        }
    } else if (t == DTYPE_Q4_0) {
        const BlockQ4_0 *b = src;
        for (int i = 0; i < k / QK4_0; i++) {
            float d = f16_to_f32(b[i].d);
            for (int j = 0; j < QK4_0 / 2; j++) {
                dst[i * QK4_0 + j] = d * ((b[i].qs[j] & 0xF) - 8);
                dst[i * QK4_0 + j + 16] = d * ((b[i].qs[j] >> 4) - 8);
            }
        }
    } else if (t == DTYPE_Q6_K) {
        dequantize_q6_K(src, dst, k);
    } else if (t == DTYPE_Q4_K) {
        const BlockQ4_K *b = src;
        for (int i = 0; i < k / QK_K; i++) dequantize_q45_K(b[i].d, b[i].dmin, b[i].scales, b[i].qs, NULL, dst + i * QK_K);
    } else if (t == DTYPE_Q5_K) {
        const BlockQ5_K *b = src;
        for (int i = 0; i < k / QK_K; i++) dequantize_q45_K(b[i].d, b[i].dmin, b[i].scales, b[i].qs, b[i].qh, dst + i * QK_K);
    } else if (t == DTYPE_F32) {
        memcpy(dst, src, (size_t)k * sizeof(float));
    } else {
        const uint16_t *h = src;
        if (t == DTYPE_BF16) for (int i = 0; i < k; i++) dst[i] = bf16_to_f32(h[i]);
        else                 for (int i = 0; i < k; i++) dst[i] = f16_to_f32(h[i]);
    }
}

float quant_get(Mat m, size_t i) {
    if (dtype_is_packed(m.dtype)) return NAN;   // its rows are interleaved: quant_packed_row reads them
    int bk = dtype_block(m.dtype);
    float blk[QK_K];
    dequantize_row(m.dtype, (const char *)m.data + dtype_bytes(m.dtype, i / bk * bk), blk, bk);
    return blk[i % bk];
}

float quant_f16_table[65536];
__attribute__((constructor)) static void fill_f16_table(void) {
    for (int h = 0; h < 65536; h++) quant_f16_table[h] = f16_to_f32((uint16_t)h);
}

// where quant_act puts a row: nb float scales, nb int sums, nb blocks
static QuantAct act_at(void *scratch, int K) {
    int nb = K / QK8_0;
    float *d = scratch;
    int32_t *sum = (int32_t *)(d + nb);
    return (QuantAct){(const BlockQ8_0 *)(sum + nb), d, sum};
}

void quant_act(QuantAct *a, void *scratch, const float *x, int K) {
    *a = act_at(scratch, K);
    BlockQ8_0 *q = (BlockQ8_0 *)a->q;
    float *d = (float *)a->d;
    int32_t *sum = (int32_t *)a->sum;
#if defined(__x86_64__) || defined(__i386__)
    if (quant_kernel_active() != QUANT_KERNEL_REF) { quantize_row_q8_0_avx2(q, d, sum, x, K); return; }
#endif
    quantize_row_q8_0(q, x, K);
    for (int b = 0; b < K / QK8_0; b++) {
        int s = 0;
        for (int j = 0; j < QK8_0; j++) s += q[b].qs[j];
        d[b] = f16_to_f32(q[b].d);
        sum[b] = s;
    }
}

static float dot_q8_0_ref(int n, const void *wv, const QuantAct *xa) {
    const BlockQ8_0 *w = wv, *x = xa->q;
    float acc = 0.0f;
    for (int i = 0; i < n / QK8_0; i++) {
        int s = 0;
        for (int j = 0; j < QK8_0; j++) s += w[i].qs[j] * x[i].qs[j];
        acc += f16_to_f32(w[i].d) * f16_to_f32(x[i].d) * (float)s;
    }
    return acc;
}

static float dot_q4_0_ref(int n, const void *wv, const QuantAct *xa) {
    const BlockQ4_0 *w = wv;
    const BlockQ8_0 *x = xa->q;
    float acc = 0.0f;
    for (int i = 0; i < n / QK4_0; i++) {
        int s = 0;
        for (int j = 0; j < QK4_0 / 2; j++)
            s += ((w[i].qs[j] & 0xF) - 8) * x[i].qs[j] + ((w[i].qs[j] >> 4) - 8) * x[i].qs[j + 16];
        acc += f16_to_f32(w[i].d) * f16_to_f32(x[i].d) * (float)s;
    }
    return acc;
}

static void dot4_q8_0_ref(int n, const void *w, size_t stride, const QuantAct *x, float *out, int os) {
    for (int r = 0; r < 4; r++) out[r * os] = dot_q8_0_ref(n, (const char *)w + r * stride, x);
}
static void dot4_q4_0_ref(int n, const void *w, size_t stride, const QuantAct *x, float *out, int os) {
    for (int r = 0; r < 4; r++) out[r * os] = dot_q4_0_ref(n, (const char *)w + r * stride, x);
}

// ---- dispatch ----

const char *const quant_kernel_names[QUANT_KERNELS] = {"ref", "avx2", "avxvnni", "avx512vnni"};

int quant_kernel_supported(QuantKernel k) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    // every AVX2 CPU has F16C too (it came a generation earlier); clang cannot ask for "f16c"
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (k == QUANT_KERNEL_AVX2) return avx2;
    int gfni = __builtin_cpu_supports("gfni");
    // AVX-VNNI is CPUID leaf 7, subleaf 1, EAX bit 4 (asked directly: clang 14 has no "avxvnni" name)
    unsigned a = 0, b = 0, c = 0, d = 0;
    int avxvnni = __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a >> 4 & 1);
    if (k == QUANT_KERNEL_AVXVNNI) return avx2 && gfni && avxvnni;
    if (k == QUANT_KERNEL_AVX512)
        return avx2 && gfni && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni");
#endif
    return k == QUANT_KERNEL_REF;
}

static const QuantKernels *kernels_of(QuantKernel k) {
    static const QuantKernels ref = {dot_q8_0_ref, dot_q4_0_ref, dot4_q8_0_ref, dot4_q4_0_ref, dot16_q8_0_ref,
                                     dot16_q4_0_ref};
#if defined(__x86_64__) || defined(__i386__)
    if (k >= QUANT_KERNEL_AVX2 && k <= QUANT_KERNEL_AVX512) return &quant_kernels_x86[k - QUANT_KERNEL_AVX2];
#endif
    return &ref;
}
QuantDot quant_dot(QuantKernel k, DType t) {
    return t == DTYPE_Q8_0 ? kernels_of(k)->dot_q8_0 : kernels_of(k)->dot_q4_0;
}
QuantDot4 quant_dot4(QuantKernel k, DType t) {
    return t == DTYPE_Q8_0 ? kernels_of(k)->dot4_q8_0 : kernels_of(k)->dot4_q4_0;
}
QuantDot16 quant_dot16(QuantKernel k, DType t) {
    return dtype_unpacked(t) == DTYPE_Q8_0 ? kernels_of(k)->dot16_q8_0 : kernels_of(k)->dot16_q4_0;
}

static int active_kernel = -1;
QuantKernel quant_kernel_active(void) {
    if (active_kernel < 0) {
        active_kernel = QUANT_KERNEL_REF;
        for (int k = QUANT_KERNEL_AVX512; k > QUANT_KERNEL_REF && active_kernel == QUANT_KERNEL_REF; k--)
            if (quant_kernel_supported(k)) active_kernel = k;
    }
    return active_kernel;
}
void quant_kernel_set(QuantKernel k) { active_kernel = k; }

// ---- matmul ----

// K-quant row dot: widen one 256-value block at a time and dot in float
static float dot_kquant_f32(DType t, const char *w, const float *x, int K) {
    float acc = 0.0f, buf[QK_K];
    size_t block = dtype_bytes(t, QK_K);
    for (int b = 0; b < K / QK_K; b++, x += QK_K) {
        dequantize_row(t, w + b * block, buf, QK_K);
        #pragma omp simd reduction(+:acc)
        for (int j = 0; j < QK_K; j++) acc += buf[j] * x[j];
    }
    return acc;
}

void quant_matmul_forward(float *out, const float *inp, Mat w, void *scratch, int M, int K, int N) {
    size_t row_bytes = dtype_bytes(w.dtype, K);
    const char *wd = w.data;
    if (dtype_is_kquant(w.dtype)) {
        #pragma omp parallel for if ((size_t)N * K * M >= OMP_MIN_WORK)
        for (int n = 0; n < N; n++)
            for (int m = 0; m < M; m++)
                out[(size_t)m * N + n] = dot_kquant_f32(w.dtype, wd + n * row_bytes, inp + (size_t)m * K, K);
        return;
    }
    // activations to Q8_0, one row of K/32 blocks per input row
    size_t act = quant_act_bytes(K);
    #pragma omp parallel for if ((size_t)M * K >= OMP_MIN_WORK)
    for (int m = 0; m < M; m++) {
        QuantAct unused;
        quant_act(&unused, (char *)scratch + m * act, inp + (size_t)m * K, K);
    }
    QuantKernel k = quant_kernel_active();
    if (dtype_is_packed(w.dtype)) {
        // 16 rows a kernel call (quant_pack.c). Decoding: guided chunks, large first, then
        // smaller toward the end, each a stretch of consecutive groups that a thread reads as
        // one stream (chunks of one group alternate between threads and cost a third of the
        // speed: each thread's prefetches run into the other's rows). Prefill: a group at a
        // time, read from memory once and kept in cache while every input row passes over it,
        // four at a time.
        QuantDot16 dot16 = quant_dot16(k, w.dtype);
        size_t group = 16 * row_bytes;
        int G = N / 16;
        if (M == 1) {
            QuantAct x = act_at(scratch, K);
            #pragma omp parallel for schedule(guided) if ((size_t)N * K >= OMP_MIN_WORK)
            for (int g = 0; g < G; g++) dot16(K, wd + g * group, &x, 1, out + 16 * g, N);
        } else {
            #pragma omp parallel for schedule(dynamic, 1) if ((size_t)N * K >= OMP_MIN_WORK)
            for (int g = 0; g < G; g++)
                for (int m0 = 0; m0 < M; m0 += 4) {
                    QuantAct xs[4];
                    int nx = M - m0 < 4 ? M - m0 : 4;
                    for (int i = 0; i < nx; i++) xs[i] = act_at((char *)scratch + (m0 + i) * act, K);
                    dot16(K, wd + g * group, xs, nx, out + (size_t)m0 * N + 16 * g, N);
                }
        }
        return;
    }
    QuantDot dot = quant_dot(k, w.dtype);
    QuantDot4 dot4 = quant_dot4(k, w.dtype);
    if (M == 1) {
        // Decoding streams W once. Each kernel call dots four rows a quarter of the matrix apart
        // (n, n+Q, n+2Q, n+3Q): four sequential streams per thread that run on through the rows
        // after them, instead of four that each end after one row (a page, or half of one, at
        // dim 2048), where the hardware prefetcher has to start over; chunks of 16 such groups
        // handed out as threads finish.
        QuantAct x = act_at(scratch, K);
        int Q = N / 4;
        #pragma omp parallel if ((size_t)N * K >= OMP_MIN_WORK)
        {
            #pragma omp for schedule(dynamic, 16) nowait
            for (int n = 0; n < Q; n++) dot4(K, wd + n * row_bytes, Q * row_bytes, &x, out + n, Q);
            #pragma omp for
            for (int n = 4 * Q; n < N; n++) out[n] = dot(K, wd + n * row_bytes, &x);
        }
    } else {
        // Threads split the rows of W. Each tile of 16 rows is read from memory once and, while it
        // sits in cache, dotted with every input row, four rows of W per kernel call.
        #pragma omp parallel for schedule(dynamic, 1) if ((size_t)N * K >= OMP_MIN_WORK)
        for (int n0 = 0; n0 < N; n0 += 16) {
            int n1 = n0 + 16 < N ? n0 + 16 : N;
            for (int m = 0; m < M; m++) {
                QuantAct x = act_at((char *)scratch + m * act, K);
                int n = n0;
                for (; n + 4 <= n1; n += 4) dot4(K, wd + n * row_bytes, row_bytes, &x, out + (size_t)m * N + n, 1);
                for (; n < n1; n++) out[(size_t)m * N + n] = dot(K, wd + n * row_bytes, &x);
            }
        }
    }
}

int quantize_mat_scaled(void *dst, DType t, Mat src, size_t rows, int cols, const float *col_scale,
                        const float *row_scale, const uint8_t *clip) {
    size_t out_row = dtype_bytes(t, cols);
    int failed = 0;
    #pragma omp parallel reduction(|:failed)
    {
        float *buf = malloc((size_t)cols * sizeof(float)); // one row, widened
        failed |= !buf;
        #pragma omp for
        for (size_t r = 0; r < rows; r++) {
            if (!buf) continue;
            dequantize_row(src.dtype, (const char *)src.data + dtype_bytes(src.dtype, r * cols), buf, cols);
            float rs = row_scale ? row_scale[r] : 1.0f;
            if (col_scale) for (int k = 0; k < cols; k++) buf[k] *= col_scale[k] * rs;
            else if (row_scale) for (int k = 0; k < cols; k++) buf[k] *= rs;
            char *out = (char *)dst + r * out_row;
            if (clip && dtype_is_quant(t)) quantize_row_clip(t, out, buf, cols, clip + r * (cols / QK8_0));
            else if (t == DTYPE_Q8_0) quant_row_q8_0((BlockQ8_0 *)out, buf, cols);
            else if (t == DTYPE_Q4_0) quantize_row_q4_0((BlockQ4_0 *)out, buf, cols);
            else memcpy(out, buf, (size_t)cols * sizeof(float));
        }
        free(buf);
    }
    return failed ? -1 : 0;
}

int quantize_mat(void *dst, DType t, Mat src, size_t rows, int cols) {
    return quantize_mat_scaled(dst, t, src, rows, cols, NULL, NULL, NULL);
}

// ---- a whole model ----

// Room for the quantized weights, in 2 MB pages where the kernel gives them: decoding streams
// every byte once per token, and with 4 KB pages each page is a TLB miss (a two-level walk in a
// virtual machine) and a restart of the hardware prefetcher.
char *quant_alloc_huge(size_t bytes) {
    size_t huge = (size_t)2 << 20, n = (bytes + huge - 1) / huge * huge;
    char *p = aligned_alloc(huge, n ? n : huge);
#ifdef MADV_HUGEPAGE
    if (p) madvise(p, n ? n : huge, MADV_HUGEPAGE);
#endif
    return p;
}

typedef struct { Mat *mat; size_t rows; int cols; const char *name; DType to; const float *cs, *rs; const uint8_t *clip; } QuantJob;

static size_t padded(size_t bytes) { return (bytes + 63) / 64 * 64; }

int model_quantize(Model *m, DType t, int head_t, char *err, size_t errlen) {
    return model_quantize_scaled(m, t, head_t, NULL, err, errlen);
}

int model_quantize_scaled(Model *m, DType t, int head_t, const AwqScales *awq, char *err, size_t errlen) {
    const Config *c = &m->config;
    size_t C = c->dim, H = c->hidden_dim, QD = (size_t)c->n_heads * c->head_dim;
    size_t KVD = (size_t)c->n_kv_heads * c->head_dim;
    int L = c->n_layers, tied = m->w.lm_head.data == m->w.tok_emb.data, nj = 0;
    QuantJob *jobs = malloc(((size_t)LAYER_MATS * L + 2) * sizeof *jobs);
    float *vrow = awq ? malloc(KVD * L * sizeof(float)) : NULL, *uprow = awq ? malloc(H * L * sizeof(float)) : NULL;
    if (!jobs || (awq && (!vrow || !uprow))) {
        free(jobs); free(vrow); free(uprow);
        return fail(err, errlen, "out of memory quantizing the model");
    }
    static const char *const names[LAYER_MATS] = {"wq", "wk", "wv", "wo", "w1", "w3", "w2"};
    for (int l = 0; l < L; l++) {
        // AWQ: each matrix's column scales (of its input), wv's and w3's rows divided by the
        // next matrix's, and the clip codes; all NULL without
        const float *cs[LAYER_MATS] = {0}, *rs[LAYER_MATS] = {0};
        const uint8_t *cl[LAYER_MATS] = {0};
        if (awq) {
            const float *sq = awq->scale[AWQ_QKV] + l * C, *sg = awq->scale[AWQ_GU] + l * C;
            const float *so = awq->scale[AWQ_O] + l * QD, *sd = awq->scale[AWQ_DOWN] + l * H;
            const float *col[LAYER_MATS] = {sq, sq, sq, so, sg, sg, sd};
            awq_row_factors(awq, l, vrow + l * KVD, uprow + l * H);
            rs[2] = vrow + l * KVD, rs[5] = uprow + l * H;
            for (int k = 0; k < LAYER_MATS; k++) cs[k] = col[k], cl[k] = awq_clip(awq, k, l);
        }
        for (int k = 0; k < LAYER_MATS; k++) {
            int rows, cols;
            layer_mat_shape(c, k, &rows, &cols);
            jobs[nj++] = (QuantJob){ layer_mat(&m->w.layers[l], k), (size_t)rows, cols, names[k], t, cs[k], rs[k], cl[k] };
        }
    }
    if (head_t >= 0) jobs[nj++] = (QuantJob){ &m->w.lm_head, c->vocab_size, (int)C, "the output head", head_t, NULL, NULL, NULL };
    if (!tied) jobs[nj++] = (QuantJob){ &m->w.tok_emb, c->vocab_size, (int)C, "the embedding", t, NULL, NULL, NULL };
    size_t total = awq ? padded(2 * L * C * sizeof(float)) : 0;   // the divided RMSNorm weights
    int rc = 0;
    for (int j = 0; j < nj; j++) {
        if (dtype_is_packed(jobs[j].mat->dtype)) {   // model_pack ran: rows interleaved, for the kernels only
            rc = fail(err, errlen, "cannot quantize %s: its weights are packed for the kernels", jobs[j].name);
            break;
        }
        if (dtype_is_quant(jobs[j].to) && jobs[j].cols % QK8_0 != 0) {
            rc = fail(err, errlen, "cannot quantize %s: its rows have %d values, not a multiple of %d",
                      jobs[j].name, jobs[j].cols, QK8_0);
            break;
        }
        total += padded(dtype_bytes(jobs[j].to, jobs[j].rows * jobs[j].cols));
    }
    char *buf = rc ? NULL : quant_alloc_huge(total);
    if (!rc && !buf) rc = fail(err, errlen, "out of memory quantizing the model (%zu bytes)", total);
    size_t off = 0;
    if (!rc && awq) {   // x W^T = (x / s)(W diag(s))^T, and x / s comes from the norm weight g / s
        float *norms = (float *)buf;
        for (int l = 0; l < L; l++) {
            LayerWeights *w = &m->w.layers[l];
            for (size_t k = 0; k < C; k++) {
                norms[2 * l * C + k] = w->rms_att[k] / awq->scale[AWQ_QKV][l * C + k];
                norms[(2 * l + 1) * C + k] = w->rms_ffn[k] / awq->scale[AWQ_GU][l * C + k];
            }
        }
        off = padded(2 * L * C * sizeof(float));
    }
    for (int j = 0; j < nj && !rc; j++) {
        if (quantize_mat_scaled(buf + off, jobs[j].to, *jobs[j].mat, jobs[j].rows, jobs[j].cols, jobs[j].cs,
                                jobs[j].rs, jobs[j].clip) != 0)
            rc = fail(err, errlen, "out of memory quantizing the model");
        off += padded(dtype_bytes(jobs[j].to, jobs[j].rows * jobs[j].cols));
    }
    if (rc) { free(buf); free(jobs); free(vrow); free(uprow); return -1; }
    // only now, with every matrix made, does m->w change
    off = awq ? padded(2 * L * C * sizeof(float)) : 0;
    for (int j = 0; j < nj; j++) {
        *jobs[j].mat = (Mat){ buf + off, jobs[j].to };
        off += padded(dtype_bytes(jobs[j].to, jobs[j].rows * jobs[j].cols));
    }
    if (awq)
        for (int l = 0; l < L; l++) {
            m->w.layers[l].rms_att = (const float *)buf + 2 * l * C;
            m->w.layers[l].rms_ffn = (const float *)buf + (2 * l + 1) * C;
        }
    if (tied) m->w.tok_emb = m->w.lm_head;
    free(m->quant_memory);
    m->quant_memory = buf;
    m->quant_memory_bytes = total;
    free(jobs); free(vrow); free(uprow);
    return 0;
}
