// model/rope.c — rotary position embedding (Su et al. 2021), Hugging Face "rotate-half" layout.
//
// Within each head of HD dims, dim i (< HD/2) and dim i + HD/2 form a pair rotated by the
// angle a = pos * inv_freq[i]:
//   forward:  y1 = x1 cos a - x2 sin a,   y2 = x2 cos a + x1 sin a
//   backward: the rotation is orthogonal, so dx = R(-a) dy:
//             dx1 += dy1 cos a + dy2 sin a,   dx2 += dy2 cos a - dy1 sin a
// Nothing is cached except the cos/sin tables built once at model_create.
#include <math.h>
#include "model/ops.h"

// inv_freq[i] = theta^(-2i/HD). Llama 3 (transformers' _compute_llama3_parameters) stretches
// the long wavelengths so a model trained on original_max_pos tokens reaches further:
//   wavelen = 2 pi / inv_freq
//   wavelen < original_max_pos / high_freq_factor  -> unchanged (high frequencies)
//   wavelen > original_max_pos / low_freq_factor   -> inv_freq / factor (low frequencies)
//   otherwise, smooth = (original_max_pos / wavelen - low) / (high - low),
//              inv_freq = (1 - smooth) * inv_freq / factor + smooth * inv_freq
// column i (frequency inv) of the (max_pos, half) tables
static void fill_column(float *cos_t, float *sin_t, int max_pos, int half, int i, double inv) {
    for (int p = 0; p < max_pos; p++) {
        cos_t[(size_t)p * half + i] = (float)cos(p * inv);
        sin_t[(size_t)p * half + i] = (float)sin(p * inv);
    }
}

void rope_tables(float *cos_t, float *sin_t, int max_pos, int HD, double theta, double factor,
                 double low_freq_factor, double high_freq_factor, double original_max_pos) {
    int half = HD / 2;
    for (int i = 0; i < half; i++) {
        double inv = 1.0 / pow(theta, (2.0 * i) / HD);
        if (factor != 0.0) {
            double wavelen = 2.0 * M_PI / inv;
            double low_wavelen = original_max_pos / low_freq_factor;
            double high_wavelen = original_max_pos / high_freq_factor;
            if (wavelen > low_wavelen) inv = inv / factor;
            else if (wavelen >= high_wavelen) {
                double smooth = (original_max_pos / wavelen - low_freq_factor) /
                                (high_freq_factor - low_freq_factor);
                inv = (1.0 - smooth) * inv / factor + smooth * inv;
            }
        }
        fill_column(cos_t, sin_t, max_pos, half, i, inv);
    }
}

void rope_tables_divided(float *cos_t, float *sin_t, int max_pos, int HD, double theta, const float *divisors) {
    int half = HD / 2;
    for (int i = 0; i < half; i++)
        fill_column(cos_t, sin_t, max_pos, half, i, 1.0 / pow(theta, (2.0 * i) / HD) / divisors[i]);
}

void rope_forward(float *out, const float *inp, const float *cos_t, const float *sin_t,
                  int B, int T, int nh, int HD, int pos0) {
    int half = HD / 2;
    #pragma omp parallel for collapse(2) if ((size_t)B * T * nh * HD >= OMP_MIN_WORK)
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            const float *c = cos_t + (size_t)(pos0 + t) * half, *s = sin_t + (size_t)(pos0 + t) * half;
            for (int h = 0; h < nh; h++) {
                size_t off = ((size_t)b * T + t) * nh * HD + (size_t)h * HD;
                const float *x = inp + off;
                float *y = out + off;
                for (int i = 0; i < half; i++) {
                    float x1 = x[i], x2 = x[i + half];      // read both first: out may be inp
                    y[i] = x1 * c[i] - x2 * s[i];
                    y[i + half] = x2 * c[i] + x1 * s[i];
                }
            }
        }
}

void rope_backward(float *dinp, const float *dout, const float *cos_t, const float *sin_t,
                   int B, int T, int nh, int HD, int pos0) {
    int half = HD / 2;
    #pragma omp parallel for collapse(2) if ((size_t)B * T * nh * HD >= OMP_MIN_WORK)
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            const float *c = cos_t + (size_t)(pos0 + t) * half, *s = sin_t + (size_t)(pos0 + t) * half;
            for (int h = 0; h < nh; h++) {
                size_t off = ((size_t)b * T + t) * nh * HD + (size_t)h * HD;
                const float *dy = dout + off;
                float *dx = dinp + off;
                for (int i = 0; i < half; i++) {
                    float g1 = dy[i], g2 = dy[i + half];
                    dx[i] += g1 * c[i] + g2 * s[i];
                    dx[i + half] += g2 * c[i] - g1 * s[i];
                }
            }
        }
}
