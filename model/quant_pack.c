// model/quant_pack.c — Q8_0/Q4_0 matrices with 16 rows interleaved: the layout bin/infer keeps
// quantized weights in, so that one vector instruction serves 16 rows (model/quant_dot16.h).
//
// A (N, K) matrix becomes N/16 groups. Group g holds rows 16g..16g+15, in the same bytes as
// those rows in GGUF's layout, two blocks (64 columns) at a time:
//
//   scales  blocks b and b+1: 16 f16 each, row r's at [r]                          (64 bytes)
//   q       block b, then block b+1: 8 chunks (Q8_0) or 4 (Q4_0) of 64 bytes each; chunk k
//           holds bytes 4k..4k+3 of each row's block, row r's at 4r       (1,024 or 512 bytes)
//
// so that a thread reads a group, and the groups after it, as one sequential stream.
// Q8_0's bytes are stored as q + 128 (vpdpbusd multiplies unsigned by signed bytes); Q4_0's
// bytes are its nibble pairs unchanged (byte j: element j low, j + 16 high), so chunk k of a
// Q4_0 block holds elements 4k..4k+3 in its low nibbles and 16+4k..16+4k+3 in its high ones.
// With K a multiple of 64 every group and every chunk starts on a 64-byte boundary.
#include "model/quant.h"
#include "model/quant_kernels.h"
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "util/errors.h"
#include "model/ops.h"

int quant_packable(DType t, size_t rows, int cols) {
    return (t == DTYPE_Q8_0 || t == DTYPE_Q4_0) && rows > 0 && rows % 16 == 0 && cols > 0 && cols % 64 == 0;
}

static DType packed_of(DType t) { return t == DTYPE_Q8_0 ? DTYPE_Q8_0_X16 : DTYPE_Q4_0_X16; }

// 16 rows of t (row_bytes apart, GGUF's layout) into one group at dst
static void pack_group(DType t, const char *src, size_t row_bytes, int K, char *dst) {
    int q4 = t == DTYPE_Q4_0, chunks = q4 ? 4 : 8;
    for (int r = 0; r < 16; r++)
        for (int b = 0; b < K / 32; b++) {
            const char *blk = src + r * row_bytes + (size_t)b * (q4 ? sizeof(BlockQ4_0) : sizeof(BlockQ8_0));
            memcpy((char *)pack_scales(dst, b, q4) + 2 * r, blk, 2);
            const uint8_t *qs = (const uint8_t *)blk + 2;
            uint8_t *q = (uint8_t *)pack_quants(dst, b, q4);
            for (int k = 0; k < chunks; k++)
                for (int j = 0; j < 4; j++) q[64 * k + 4 * r + j] = q4 ? qs[4 * k + j] : qs[4 * k + j] ^ 0x80;
        }
}

int quant_pack_mat(void *dst, const void *src, DType t, size_t rows, int cols) {
    size_t row_bytes = dtype_bytes(t, cols), group = 16 * row_bytes;
    int failed = 0;
    #pragma omp parallel reduction(|:failed)
    {
        char *tmp = dst == src ? malloc(group) : NULL;   // in place: a copy of the group's rows
        failed |= dst == src && !tmp;
        #pragma omp for
        for (size_t g = 0; g < rows / 16; g++) {
            if (dst == src && !tmp) continue;
            const char *from = (const char *)src + g * group;
            if (tmp) from = memcpy(tmp, from, group);
            pack_group(t, from, row_bytes, cols, (char *)dst + g * group);
        }
        free(tmp);
    }
    return failed ? -1 : 0;
}

void quant_packed_row(DType t, const void *data, size_t r, int K, float *dst) {
    int q4 = t == DTYPE_Q4_0_X16, chunks = q4 ? 4 : 8;
    const char *g = (const char *)data + (r / 16) * 16 * dtype_bytes(t, K);
    int i = (int)(r % 16);
    for (int b = 0; b < K / 32; b++, dst += 32) {
        uint16_t h;
        memcpy(&h, pack_scales(g, b, q4) + i, 2);
        float d = f16_to_f32(h);
        const uint8_t *q = (const uint8_t *)pack_quants(g, b, q4);
        for (int k = 0; k < chunks; k++)
            for (int j = 0; j < 4; j++) {
                int v = q[64 * k + 4 * i + j];
                if (q4) dst[4 * k + j] = d * ((v & 0xF) - 8), dst[16 + 4 * k + j] = d * ((v >> 4) - 8);
                else    dst[4 * k + j] = d * (v - 128);
            }
    }
}

// The portable kernels: what the vector ones compute, row by row and block by block (the int32
// sums exact, each block's sum scaled by d_w d_x and added in order, as the vector lanes do)
static void dot16_ref(int q4, int K, const void *gv, const QuantAct *x, int nx, float *out, size_t ldo) {
    const char *g = gv;
    int chunks = q4 ? 4 : 8;
    for (int m = 0; m < nx; m++)
        for (int r = 0; r < 16; r++) {
            float acc = 0.0f;
            for (int b = 0; b < K / 32; b++) {
                const int8_t *xq = x[m].q[b].qs;
                const uint8_t *c = (const uint8_t *)pack_quants(g, b, q4) + 4 * r;
                int32_t s = 0;
                for (int k = 0; k < chunks; k++)
                    for (int j = 0; j < 4; j++) {
                        int v = c[64 * k + j];
                        if (q4) s += ((v & 0xF) - 8) * xq[4 * k + j] + ((v >> 4) - 8) * xq[16 + 4 * k + j];
                        else    s += (v - 128) * xq[4 * k + j];
                    }
                uint16_t h;
                memcpy(&h, pack_scales(g, b, q4) + r, 2);
                acc += (float)s * (f16_to_f32(h) * x[m].d[b]);
            }
            out[m * ldo + r] = acc;
        }
}
void dot16_q8_0_ref(int K, const void *g, const QuantAct *x, int nx, float *out, size_t ldo) {
    dot16_ref(0, K, g, x, nx, out, ldo);
}
void dot16_q4_0_ref(int K, const void *g, const QuantAct *x, int nx, float *out, size_t ldo) {
    dot16_ref(1, K, g, x, nx, out, ldo);
}

// ---- a whole model ----

// Matrices inside m->quant_memory (quantized at load: ours to write) are packed in place. The
// others (a GGUF file's, mmapped read-only) are copied into one new buffer, packed, when the
// model has no quantized memory of its own yet; with one, they stay as they are.
int model_pack(Model *m, char *err, size_t errlen) {
    const Config *c = &m->config;
    int L = c->n_layers, nj = 0;
    typedef struct { Mat *mat; size_t rows; int cols; } Job;
    Job *jobs = malloc(((size_t)LAYER_MATS * L + 2) * sizeof *jobs);
    if (!jobs) return fail(err, errlen, "out of memory packing the model");
    for (int l = 0; l < L; l++)
        for (int t = 0; t < LAYER_MATS; t++, nj++) {
            int rows;
            layer_mat_shape(c, t, &rows, &jobs[nj].cols);
            jobs[nj].rows = (size_t)rows, jobs[nj].mat = layer_mat(&m->w.layers[l], t);
        }
    int tied = m->w.tok_emb.data == m->w.lm_head.data;
    jobs[nj++] = (Job){ &m->w.lm_head, c->vocab_size, c->dim };
    if (!tied) jobs[nj++] = (Job){ &m->w.tok_emb, c->vocab_size, c->dim };
    const char *own = m->quant_memory, *own_end = own ? own + m->quant_memory_bytes : NULL;
    size_t copy_bytes = 0;
    for (int j = 0; j < nj; j++) {
        Mat *w = jobs[j].mat;
        const char *p = w->data;
        if (!quant_packable(w->dtype, jobs[j].rows, jobs[j].cols)) jobs[j].mat = NULL;
        else if (!(own && p >= own && p < own_end)) {
            if (own) jobs[j].mat = NULL;
            else copy_bytes += (dtype_bytes(w->dtype, jobs[j].rows * jobs[j].cols) + 63) / 64 * 64;
        }
    }
    char *buf = copy_bytes ? quant_alloc_huge(copy_bytes) : NULL;
    if (copy_bytes && !buf) { free(jobs); return fail(err, errlen, "out of memory packing the model (%zu bytes)", copy_bytes); }
    size_t off = 0;
    int rc = 0;
    for (int j = 0; j < nj && !rc; j++) {
        Mat *w = jobs[j].mat;
        if (!w) continue;
        size_t bytes = dtype_bytes(w->dtype, jobs[j].rows * jobs[j].cols);
        void *dst = buf ? buf + off : (void *)w->data;
        if (quant_pack_mat(dst, w->data, w->dtype, jobs[j].rows, jobs[j].cols) != 0) {
            rc = fail(err, errlen, "out of memory packing the model");
            break;
        }
        if (buf) {   // the mapped original is not read again: give its pages back (a later read
                     // would fetch them from the file again), so the copy does not double the memory
            uintptr_t page = 4096, a = ((uintptr_t)w->data + page - 1) / page * page;
            uintptr_t e = ((uintptr_t)w->data + bytes) / page * page;
            if (e > a) madvise((void *)a, e - a, MADV_DONTNEED);
            off += (bytes + 63) / 64 * 64;
        }
        *w = (Mat){ dst, packed_of(w->dtype) };
    }
    if (tied) m->w.tok_emb = m->w.lm_head;
    if (buf && !rc) m->quant_memory = buf, m->quant_memory_bytes = copy_bytes;
    free(jobs);
    return rc;
}
