// infer/attention_png.c — bin/infer --attention-png: the prompt's attention probabilities as one
// PNG of (layer, head) tiles (layout and colours in infer/attention_png.h).
//
// The KV-cache forward keeps one layer's probabilities at a time and overwrites them, so this
// runs the prompt once more through the training forward, model_forward with B = 1, which keeps
// all L layers' in m->acts.att — the very numbers the model used (same ops, same weights).
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stb/stb_image_write.h>
#include "util/atomic_file.h"
#include "util/errors.h"
#include "infer/attention_png.h"

AttnPngLayout attention_png_layout(int L, int NH, int T) {
    AttnPngLayout g;
    g.scale = T >= 128 ? 1 : 128 / T;
    g.tile = T * g.scale;
    g.width = NH * g.tile + (NH + 1) * ATTN_PNG_GAP;
    g.height = L * g.tile + (L + 1) * ATTN_PNG_GAP;
    return g;
}

unsigned char attention_png_shade(float p) {
    double v = 255.0 * (1.0 - sqrt(p < 0 ? 0 : p > 1 ? 1 : p));
    return (unsigned char)lround(v);
}

static void fill(unsigned char *px, int rgb) {
    px[0] = (unsigned char)(rgb >> 16); px[1] = (unsigned char)(rgb >> 8); px[2] = (unsigned char)rgb;
}

// stb hands the encoded bytes over in pieces; the first failed write's errno is kept
typedef struct { FILE *f; int err; } Sink;
static void write_piece(void *ctx, void *data, int size) {
    Sink *s = ctx;
    if (!s->err && fwrite(data, 1, (size_t)size, s->f) != (size_t)size) s->err = errno ? errno : EIO;
}

int attention_png_write(Model *m, const int *ids, int T, const char *path, char *err, size_t errlen) {
    const Config *c = &m->config;
    int L = c->n_layers, NH = c->n_heads;
    AttnPngLayout g = attention_png_layout(L, NH, T);
    if ((double)g.width * g.height > ATTN_PNG_MAX_PIXELS)
        return fail(err, errlen, "--attention-png: %d layers x %d heads over %d tokens make a %d x %d image, "
                    "more than %d pixels: use a shorter prompt", L, NH, T, g.width, g.height, ATTN_PNG_MAX_PIXELS);
    AtomicFile af;   // a regular file is replaced atomically, a device written through (util/atomic_file.h)
    if (atomic_open(&af, path, err, errlen) != 0) return -1;
    unsigned char *img = malloc((size_t)g.width * g.height * 3);
    int training = m->training;
    m->training = 0;                                    // no dropout: the probabilities as used
    float r = img ? model_forward(m, ids, NULL, 1, T) : NAN;
    m->training = training;
    if (isnan(r)) {
        free(img); atomic_abort(&af);
        return fail(err, errlen, "--attention-png: out of memory for the %d-token forward", T);
    }
    for (size_t i = 0; i < (size_t)g.width * g.height; i++) fill(img + 3 * i, ATTN_PNG_GUTTER);
    for (int l = 0; l < L; l++)
        for (int h = 0; h < NH; h++) {
            const float *P = m->acts.att + ((size_t)l * NH + h) * T * T;   // (L, B=1, NH, T, T)
            int x0 = ATTN_PNG_GAP + h * (g.tile + ATTN_PNG_GAP), y0 = ATTN_PNG_GAP + l * (g.tile + ATTN_PNG_GAP);
            for (int y = 0; y < g.tile; y++)
                for (int x = 0; x < g.tile; x++) {
                    int t = y / g.scale, j = x / g.scale;
                    unsigned char *px = img + 3 * ((size_t)(y0 + y) * g.width + x0 + x);
                    if (j > t) fill(px, ATTN_PNG_MASKED);
                    else px[0] = px[1] = px[2] = attention_png_shade(P[(size_t)t * T + j]);
                }
        }
    Sink sink = { af.fp, 0 };
    int ok = stbi_write_png_to_func(write_piece, &sink, g.width, g.height, 3, img, g.width * 3);
    free(img);
    if (!ok || sink.err) {
        atomic_abort(&af);
        return fail(err, errlen, "%s: write failed: %s", path, strerror(sink.err ? sink.err : ENOMEM));
    }
    if (atomic_commit(&af, err, errlen) != 0) return -1;
    fprintf(stderr, "infer: attention of %d layers x %d heads over %d tokens written to %s (%d x %d pixels; "
            "rows layers, columns heads, %d px per token)\n", L, NH, T, path, g.width, g.height, g.scale);
    return 0;
}
