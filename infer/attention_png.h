// infer/attention_png.h — a picture of where a model's attention goes on a prompt
// (bin/infer --attention-png FILE).
//
// One PNG: a grid of tiles, one per (layer, head), rows = layers from the top, columns = query
// heads from the left. A tile is T x T cells, cell (t, j) in row t (the query, top to bottom)
// and column j (the key, left to right), each cell `scale` pixels square. A visible cell's grey
// is 255 (1 - sqrt(p)), p the attention probability: white is 0, black is 1; the square root
// keeps the small weights of a long row visible (p = 0.01 is 10% grey). Cells a query cannot see
// (j > t) are ATTN_PNG_MASKED, and ATTN_PNG_GAP pixels of ATTN_PNG_GUTTER frame every tile.
#pragma once
#include <stddef.h>
#include "model/model.h"

#define ATTN_PNG_GAP 2
#define ATTN_PNG_MASKED 0xdde3ee   // pale blue-grey, RGB: no probability shade is blue-tinted
#define ATTN_PNG_GUTTER 0x5a6e96   // slate blue
#define ATTN_PNG_MAX_PIXELS (64 << 20)

typedef struct { int scale, tile, width, height; } AttnPngLayout;
// scale = max(1, 128 / T) pixels per cell (a tile ~128 pixels for short prompts), tile = T·scale,
// width = NH·tile + (NH+1)·GAP, height = L·tile + (L+1)·GAP
AttnPngLayout attention_png_layout(int L, int NH, int T);

// The grey of a visible cell with probability p.
unsigned char attention_png_shade(float p);

// Runs ids[0..T) through model_forward (B = 1, no dropout), which keeps every layer's attention
// probabilities in m->acts.att (L, 1, NH, T, T), and writes them to path as above.
// Returns 0, or -1 with a one-line message in err.
int attention_png_write(Model *m, const int *ids, int T, const char *path, char *err, size_t errlen);
