// model/awq.h — activation-aware scales for rounding weights to 4 bits (AWQ: Lin et al., 2023,
// "Activation-aware Weight Quantization"), searched on a calibration text and folded into the
// model so that, before rounding, it computes exactly what it computed before.
//
// A linear layer y = x W^T gives the same y with W' = W diag(s) and x' = x / s. Rounding W'
// instead of W changes which errors matter: the rounding error of column k, e_k, reaches y as
// e_k x_k / s_k, so a channel whose activations are large (|x_k| large) and that is scaled up
// (s_k > 1) loses less to rounding, at the price of a coarser grid for its block's other
// columns. AWQ takes s = mean|x|^alpha per input channel, normalised by sqrt(max s * min s), and
// picks alpha on a grid in [0, 1] (alpha = 0 is plain rounding) to minimise
//   || x W^T  -  Q(W diag(s)) (x / s)^T ||^2
// over calibration inputs x. Here the product on the right is the one inference runs: the
// int8 kernels with x / s rounded to Q8_0, so the search measures the error the quantized model
// will make, activation rounding included.
//
// Each scale is folded, exactly, into the operation that produces the matrix's input:
//   site AWQ_QKV  input of wq, wk, wv = rmsnorm(x) * g_att   -> g_att / s  (one s for the three)
//   site AWQ_O    input of wo = attention output; channel (h, d) is a weighted sum of v's channel
//                 (h / group, d), so dividing wv's row (h / group, d) by s divides it exactly.
//                 The query heads of one KV group share that row: their s is one, found from
//                 their mean |x| averaged over the group (with no GQA, one head each).
//   site AWQ_GU   input of w1, w3 = rmsnorm(h) * g_ffn          -> g_ffn / s
//   site AWQ_DOWN input of w2 = silu(x w1^T) * (x w3^T)         -> w3's row j divided by s_j
// No activation is rescaled at run time: the quantized model runs the same forward as any other.
//
// Then, with the scales in place, AWQ's clipping: for each block of 32 weights of wv, wo, w1,
// w3 and w2 (not wq and wk: their error reaches the output through softmax(q k^T), which the
// block's own error does not measure), the range is shrunk to 1, 0.95, ..., 0.5 of its largest
// magnitude, whichever gives the least error e^T G e, e the block's rounding error and G = Xb^T Xb
// the Gram matrix of the block's 32 scaled input channels over the calibration rows. The block is
// still a plain Q4_0 block (d and 16 nibbles): only the choice of d changed.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "model/dtype.h"
#include "model/model.h"

enum { AWQ_QKV, AWQ_O, AWQ_GU, AWQ_DOWN, AWQ_SITES };
extern const char *const awq_site_names[AWQ_SITES];
enum { AWQ_WQ, AWQ_WK, AWQ_WV, AWQ_WO, AWQ_W1, AWQ_W3, AWQ_W2, AWQ_MATS };  // a layer's matrices

typedef struct AwqScales {
    int n_layers, group, head_dim;   // group: query heads per KV head
    int width[AWQ_SITES];            // input channels of each site: C, NH*HD, C, H
    float *scale[AWQ_SITES];         // (L, width): s per input channel (1: unscaled)
    float *alpha[AWQ_SITES];         // (L): the exponent chosen
    // (L): squared output error summed over the calibration rows and the site's matrices, with
    // s = 1 (plain rounding), with the chosen s, and with the chosen s and clipping
    double *err_plain[AWQ_SITES], *err_awq[AWQ_SITES], *err_clip[AWQ_SITES];
    // clip codes (quant.h clip_ratio) of every block of every layer's matrices: matrix k of layer
    // l at clip[k] + l * rows[k] * cols[k] / 32, row-major; 0 (not clipped) for wq and wk
    int rows[AWQ_MATS], cols[AWQ_MATS];
    uint8_t *clip[AWQ_MATS];
    long tokens;                     // calibration tokens run
    int samples;                     // rows of each site's input the search measured
    float *mem;
    double *dmem;
    uint8_t *cmem;
} AwqScales;

// Scales of 1 for every channel of c's layers, no clipping (alpha 0, errors 0). Returns -1 out
// of memory.
int awq_alloc(AwqScales *a, const Config *c);
void awq_free(AwqScales *a);

// Runs m (its weights as loaded: f32/bf16/f16) over tokens[0..n) in chunks of ctx positions,
// each from an empty cache with its first token replaced by bos (when bos >= 0), collecting
// every layer's four inputs: mean |x| per channel over all rows, and max_rows rows evenly spaced
// for the error. Then, layer by layer and site by site, the alpha in {0, 1/20, ..., 1} with the
// least error when the site's matrices are rounded to t (Q4_0 or Q8_0), then the clip of each
// block (of the matrices clipped). m's KV cache must hold
// ctx positions. Returns 0, or -1 with a one-line reason (fewer than 2 tokens, a failed
// forward, out of memory).
int awq_search(Model *m, const int *tokens, int n, int ctx, int bos, DType t, int max_rows, AwqScales *out,
               char *err, size_t errlen);

// Layer l's clip codes for matrix k (AWQ_WQ...)
static inline const uint8_t *awq_clip(const AwqScales *a, int k, int l) {
    return a->clip[k] + (size_t)l * a->rows[k] * (a->cols[k] / 32);
}

// What layer l's wv rows (NKV*HD: 1 / the AWQ_O scale of that KV channel) and w3 rows (H: 1 /
// the AWQ_DOWN scale) are multiplied by before rounding (model_quantize_scaled).
void awq_row_factors(const AwqScales *a, int l, float *v_rows, float *up_rows);
