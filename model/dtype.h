// model/dtype.h — the number formats weights arrive in, and their conversion to float.
//
// Training keeps every parameter in float32. Real checkpoints ship bf16 (or f16, or f32) and
// inference computes straight from those bytes: a matrix is a Mat, a pointer plus its dtype,
// and the matmul/embedding ops convert element by element in their inner loops.
#pragma once
#include <stdint.h>
#include <string.h>

typedef enum { DTYPE_F32 = 0, DTYPE_BF16 = 1, DTYPE_F16 = 2 } DType;

static inline size_t dtype_size(DType t) { return t == DTYPE_F32 ? 4 : 2; }

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

// A row-major (rows, cols) weight matrix as stored: float32 in our parameter buffer, or
// bf16/f16 inside an mmapped safetensors file.
typedef struct {
    const void *data;
    DType dtype;
} Mat;

// Element i of a Mat, as float (slow path; hot loops convert whole rows).
static inline float mat_get(Mat m, size_t i) {
    switch (m.dtype) {
    case DTYPE_BF16: { uint16_t h; memcpy(&h, (const char *)m.data + 2 * i, 2); return bf16_to_f32(h); }
    case DTYPE_F16:  { uint16_t h; memcpy(&h, (const char *)m.data + 2 * i, 2); return f16_to_f32(h); }
    default:         { float f; memcpy(&f, (const char *)m.data + 4 * i, 4); return f; }
    }
}

