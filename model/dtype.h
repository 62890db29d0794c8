// model/dtype.h — the number formats weights arrive in, and their conversion to float.
//
// Training keeps every parameter in float32. Real checkpoints ship bf16 (or f16, or f32) and
// inference computes straight from those bytes: a matrix is a Mat, a pointer plus its dtype,
// and the matmul/embedding ops convert element by element in their inner loops.
#pragma once
#include <stdint.h>
#include <string.h>

// Q8_0, Q4_0, Q6_K, Q4_K, Q5_K: GGUF's block-quantized formats, bit for bit (model/quant.h has
// the blocks and the kernels). A row of them is a whole number of blocks (32 values; 256 for
// the K-quants Q6_K, Q4_K, Q5_K, which are read from GGUF files and never written).
// Q8_0_X16, Q4_0_X16: the same blocks with 16 rows interleaved (model/quant_pack.c), as bin/infer
// keeps Q8_0/Q4_0 matrices for its kernels; same bytes in all, but a row is no longer contiguous.
typedef enum {
    DTYPE_F32 = 0, DTYPE_BF16 = 1, DTYPE_F16 = 2, DTYPE_Q8_0 = 3, DTYPE_Q4_0 = 4, DTYPE_Q6_K = 5,
    DTYPE_Q8_0_X16 = 6, DTYPE_Q4_0_X16 = 7, DTYPE_Q4_K = 8, DTYPE_Q5_K = 9
} DType;

static inline int dtype_is_quant(DType t) { return t >= DTYPE_Q8_0; }
static inline int dtype_is_packed(DType t) { return t == DTYPE_Q8_0_X16 || t == DTYPE_Q4_0_X16; }
static inline int dtype_is_kquant(DType t) { return t == DTYPE_Q6_K || t == DTYPE_Q4_K || t == DTYPE_Q5_K; }
// values per block of a quantized type (1 for the others)
static inline int dtype_block(DType t) { return dtype_is_kquant(t) ? 256 : dtype_is_quant(t) ? 32 : 1; }
// the block format of a packed type (the type itself otherwise)
static inline DType dtype_unpacked(DType t) {
    return t == DTYPE_Q8_0_X16 ? DTYPE_Q8_0 : t == DTYPE_Q4_0_X16 ? DTYPE_Q4_0 : t;
}
static inline const char *dtype_name(DType t) {
    static const char *const names[] = {"f32", "bf16", "f16", "q8_0", "q4_0", "q6_k", "q8_0", "q4_0",
                                         "q4_k", "q5_k"};
    return (unsigned)t < sizeof names / sizeof *names ? names[t] : "?";
}
// bytes per element of the unquantized types
static inline size_t dtype_size(DType t) { return t == DTYPE_F32 ? 4 : 2; }
// bytes of n consecutive elements (n a multiple of the block for the quantized types; for the
// packed types, of whole 16-row groups)
static inline size_t dtype_bytes(DType t, size_t n) {
    switch (t) {
    case DTYPE_Q8_0: case DTYPE_Q8_0_X16: return n / 32 * 34;
    case DTYPE_Q4_0: case DTYPE_Q4_0_X16: return n / 32 * 18;
    case DTYPE_Q6_K: return n / 256 * 210;
    case DTYPE_Q4_K: return n / 256 * 144;
    case DTYPE_Q5_K: return n / 256 * 176;
    default:         return n * dtype_size(t);
    }
}

// bf16 is the top half of an IEEE float32: widen by shifting 16 bits left.
static inline float bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

// round-to-nearest-even float32 -> bf16 (NaN stays NaN)
static inline uint16_t f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

// IEEE half -> float (normals, subnormals, inf, nan)
static inline float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, u;
    if (exp == 0) {
        if (man == 0) u = sign;
        else {                                   // subnormal: renormalise
            exp = 127 - 15 + 1;
            while (!(man & 0x400)) { man <<= 1; exp--; }
            u = sign | (exp << 23) | ((man & 0x3ff) << 13);
        }
    } else if (exp == 31) u = sign | 0x7f800000u | (man << 13);
    else u = sign | ((exp + 127 - 15) << 23) | (man << 13);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

// float32 -> IEEE half, round to nearest even (overflow to inf, NaN stays NaN), as F16C's
// vcvtps2ph and ggml's scalar fallback do
static inline uint16_t f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000, ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return (uint16_t)(sign | 0x7e00);          // NaN
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00);         // rounds to >= 65520: inf
    if (ax < 0x38800000u) {                                          // below 2^-14: subnormal
        if (ax < 0x33000000u) return (uint16_t)sign;                 // below 2^-25: zero
        uint32_t e = ax >> 23, man = (ax & 0x7fffff) | 0x800000, shift = 126 - e;  // 14..24
        uint32_t half = man >> shift, rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t h = ((ax >> 13) - ((127 - 15) << 10)), rem = ax & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;             // carries into the exponent
    return (uint16_t)(sign | h);
}

// A row-major (rows, cols) weight matrix as stored: float32 in our parameter buffer, or
// bf16/f16 inside an mmapped safetensors file.
typedef struct {
    const void *data;
    DType dtype;
} Mat;

float quant_get(Mat m, size_t i); // model/quant.c
// Element i of a Mat, as float (slow path; hot loops convert whole rows).
static inline float mat_get(Mat m, size_t i) {
    if (dtype_is_quant(m.dtype)) return quant_get(m, i);
    switch (m.dtype) {
    case DTYPE_BF16: { uint16_t h; memcpy(&h, (const char *)m.data + 2 * i, 2); return bf16_to_f32(h); }
    case DTYPE_F16:  { uint16_t h; memcpy(&h, (const char *)m.data + 2 * i, 2); return f16_to_f32(h); }
    default:         { float f; memcpy(&f, (const char *)m.data + 4 * i, 4); return f; }
    }
}

// The Mat starting `elems` elements into m (e.g. row r of a (rows, cols) matrix: r*cols).
static inline Mat mat_offset(Mat m, size_t elems) {
    Mat r = { (const char *)m.data + dtype_bytes(m.dtype, elems), m.dtype };
    return r;
}
