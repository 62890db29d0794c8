// tests/test_attention_png.c — bin/infer --attention-png's picture, decoded again with
// stb_image and compared pixel by pixel with the probabilities it was drawn from.
//
// Model: tests/fixtures/hf_llama32_bf16 (2 layers, 4 query heads over 2 KV heads, bf16). The
// probabilities come from model_forward's m->acts.att; they are checked to be a causal softmax
// (each row sums to 1 over keys 0..t, exactly 0 beyond), and the image to show exactly them:
// every visible cell the grey of its probability, every masked cell (key after query) the
// masked colour, the gutters the gutter colour, and the size the layout's.
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "infer/attention_png.h"
#include "infer/load.h"
#include "tests/test.h"

static int is_rgb(const unsigned char *px, int rgb) {
    return px[0] == (unsigned char)(rgb >> 16) && px[1] == (unsigned char)(rgb >> 8) && px[2] == (unsigned char)rgb;
}

int main(void) {
    char err[512], path[] = "/tmp/test_attention_png_XXXXXX";
    LoadedModel lm;
    if (load_model(&lm, "tests/fixtures/hf_llama32_bf16", 0, err, sizeof err) != 0) {
        CHECK(0, "load tests/fixtures/hf_llama32_bf16: %s", err);
        return test_summary();
    }
    Model *m = lm.m;
    int ids[] = { 256, 72, 101, 108, 108, 111, 44, 32, 119 }, T = 9;
    int L = m->config.n_layers, NH = m->config.n_heads;
    int fd = mkstemp(path);
    close(fd);
    err[0] = '\0';
    CHECK(attention_png_write(m, ids, T, path, err, sizeof err) == 0, "attention_png_write: %s", err[0] ? err : "ok");

    // the probabilities: a causal softmax per row
    double worst_sum = 0;
    int masked_nonzero = 0;
    for (int l = 0; l < L; l++) for (int h = 0; h < NH; h++) for (int t = 0; t < T; t++) {
        const float *row = m->acts.att + (((size_t)l * NH + h) * T + t) * T;
        double s = 0;
        for (int j = 0; j < T; j++) { if (j <= t) s += row[j]; else masked_nonzero += row[j] != 0.0f; }
        worst_sum = fmax(worst_sum, fabs(s - 1));
    }
    CHECK(worst_sum < 1e-5 && masked_nonzero == 0,
          "%d layers x %d heads x %d rows: each sums to 1 over keys 0..t: max err %.2e (tol 1e-05); "
          "%d masked entries nonzero", L, NH, T, worst_sum, masked_nonzero);

    // the image
    AttnPngLayout g = attention_png_layout(L, NH, T);
    int w, hgt, comp;
    unsigned char *img = stbi_load(path, &w, &hgt, &comp, 3);
    CHECK(img && w == g.width && hgt == g.height && comp == 3,
          "PNG decodes to %d x %d, %d channels (want %d x %d RGB: %d px per token, gap %d)",
          w, hgt, comp, g.width, g.height, g.scale, ATTN_PNG_GAP);
    if (img && w == g.width && hgt == g.height) {
        int bad_visible = 0, bad_masked = 0, bad_gutter = 0, visible = 0, masked = 0, gutter = 0, dark = 0;
        for (int y = 0; y < hgt; y++) for (int x = 0; x < w; x++) {
            const unsigned char *px = img + 3 * ((size_t)y * w + x);
            int l = (y - ATTN_PNG_GAP) / (g.tile + ATTN_PNG_GAP), yi = (y - ATTN_PNG_GAP) % (g.tile + ATTN_PNG_GAP);
            int h = (x - ATTN_PNG_GAP) / (g.tile + ATTN_PNG_GAP), xi = (x - ATTN_PNG_GAP) % (g.tile + ATTN_PNG_GAP);
            if (y < ATTN_PNG_GAP || x < ATTN_PNG_GAP || yi >= g.tile || xi >= g.tile) {
                gutter++; bad_gutter += !is_rgb(px, ATTN_PNG_GUTTER);
                continue;
            }
            int t = yi / g.scale, j = xi / g.scale;
            if (j > t) { masked++; bad_masked += !is_rgb(px, ATTN_PNG_MASKED); continue; }
            float p = m->acts.att[(((size_t)l * NH + h) * T + t) * T + j];
            unsigned char want = attention_png_shade(p);
            visible++;
            bad_visible += !(px[0] == want && px[1] == want && px[2] == want);
            dark += want < 128;
        }
        int tri = L * NH * T * (T + 1) / 2 * g.scale * g.scale;   // pixels on or below the diagonal
        CHECK(visible == tri && bad_visible == 0,
              "%d visible pixels (want %d): %d differ from the grey of their probability", visible, tri, bad_visible);
        CHECK(masked == L * NH * T * (T - 1) / 2 * g.scale * g.scale && bad_masked == 0,
              "%d pixels above the diagonal (key after query): %d not the masked colour", masked, bad_masked);
        CHECK(gutter > 0 && bad_gutter == 0, "%d gutter pixels: %d not the gutter colour", gutter, bad_gutter);
        CHECK(dark > 0 && dark < visible, "%d of %d visible pixels darker than mid-grey (p > 0.25): the picture "
              "is neither blank nor solid", dark, visible);
    }
    stbi_image_free(img);

    // a path that cannot be opened: a one-line error naming it, no file
    int rc = attention_png_write(m, ids, T, "/nonexistent-dir/a.png", err, sizeof err);
    CHECK(rc == -1 && strstr(err, "/nonexistent-dir/a.png: cannot create: No such file or directory") && !strchr(err, '\n'),
          "unwritable path: \"%s\"", err);
    remove(path);
    unload_model(&lm);
    return test_summary();
}
