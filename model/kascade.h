// model/kascade.h — Kascade sparse attention for the KV-cached forward: anchor layers attend
// densely and pick, per query block and head, the key tiles that hold most of the softmax mass;
// reuse layers attend only to the tiles their anchor picked (head to head through a map).
//
// Keys are cut into tiles of `tile` positions (tile i: positions i*tile .. i*tile+tile-1). The
// queries of one forward call are cut the same way, so a query block is the queries whose
// positions share a tile. For a block and an anchor head, tile i's score is the softmax mass the
// block's queries put on it: sum over queries t, keys j in tile i of P[t][j]. The kept set is
// the first tile (attention sinks), the block's own tile (cut at the block's last query), and
// the top_k other tiles by score, sorted by position. A reuse layer l with source s = source[l]
// runs query head h over the kept set of s's head head_map[l][h], on l's own K and V of KV head
// h / (NH/NKV) (GQA), reading the kept tiles' rows where they lie in the cache (no copy), with
// the causal mask inside the own tile. With top_k >= the number of tiles every reuse layer sees
// every key: dense attention.
#pragma once
#include <stddef.h>

typedef struct Kascade {
    // the schedule
    int n_layers, n_heads, tile, top_k;
    int *source;    // (L): source[l] == l for an anchor layer, else an anchor layer < l
    int *head_map;  // (L, NH): reuse head h reads the kept set of source's head head_map[l*NH+h]
    // state, sized by kascade_prepare for the model's KV cache
    int max_tiles, max_blocks, max_keep; // tiles of the cache, query blocks of a chunk, kept per set
    int n_blocks;   // query blocks of the current chunk
    int *keep;      // (L, NH, max_blocks, max_keep) kept tile indices, ascending; written by anchors
    int *n_keep;    // (L, NH, max_blocks)
    float *mass;    // (max_tiles) per thread: an anchor head's tile scores
    float *scratch; // per thread: one reuse (head, block)'s transposed queries and scores
    size_t scratch_floats;
    int max_ld;     // a reuse block's query count rounded up to the kernel's vector width
    int n_threads;
    // calibration: when not NULL, anchor layers also leave here each (layer, head, block)'s tile
    // masses, (L, NH, max_blocks, max_tiles), tiles past the block's own tile unwritten
    float *record;
    // statistics over reuse layers: tiles a (head, query block) could see, and tiles it read
    long long tiles_visible, tiles_read;
} Kascade;

// An empty schedule for L layers of NH heads: every layer an anchor, tile 16, top_k 8, identity
// head maps. Returns NULL when out of memory.
Kascade *kascade_create(int n_layers, int n_heads);
void kascade_free(Kascade *k);
// Checks the schedule (sources anchors below their layer, heads in range, tile >= 1, top_k >= 0)
// and sizes the state for a KV cache of max_len positions and chunks of up to chunk queries,
// head_dim HD. Returns 0, or -1 with a one-line reason in err.
int kascade_prepare(Kascade *k, int max_len, int chunk, int HD, char *err, size_t errlen);
// Reads a schedule from JSON (see docs/kascade.md), for a model of n_layers and n_heads.
// Returns NULL with a one-line reason in err.
Kascade *kascade_load(const char *path, int n_layers, int n_heads, char *err, size_t errlen);
// Writes the schedule as JSON. Returns 0, or -1 with err.
int kascade_save(const Kascade *k, const char *path, char *err, size_t errlen);
// Percentage of visible tiles reuse layers skipped since the last reset (0 when none ran).
double kascade_sparsity(const Kascade *k);
void kascade_reset_stats(Kascade *k);

// The kept set of one anchor head for one query block whose own tile is ot: tile 0, tile ot,
// and the top_k of tiles 1..ot-1 by mass[0..ot] (which it overwrites); ascending into keep
// (room for top_k + 2), returns its size.
int kascade_select(int *keep, float *mass, int ot, int top_k);
// Picks a schedule from attention statistics (bin/kascade-calibrate). cover (L, NH, L, NH):
// cover[i][a][j][h] = the softmax mass of layer j head h that falls in the kept tiles of layer
// i head a, over the mass in its own kept tiles (averaged over the query blocks measured; 1 when
// i's choice is as good as j's own). A reuse layer j takes the
// nearest anchor i below it, at most max_reuse layers back, and maps each head h to the anchor
// head a with the most cover; its score is that cover averaged over heads, and it may reuse
// only when the score is >= 1 - threshold. Dynamic programming over the layers picks the
// fewest anchors, and among those the largest summed score. Writes k's sources and head maps;
// returns 0, or -1 when there is no memory for its tables (k unchanged).
int kascade_plan(Kascade *k, const double *cover, int max_reuse, double threshold);

// The attention of layer l in the KV path: q (T, NH*HD) at positions Tk-T..Tk-1, k, v the
// layer's cache (Tk, NKV*HD), out (T, NH*HD), att (NH, T, Tk) as attention_forward's. Anchor
// layers run attention_forward and then record their kept tiles; reuse layers attend to their
// source's kept tiles only (att is then left unwritten).
void kascade_attention(Kascade *k, int l, float *out, float *att, const float *q, const float *kc,
                       const float *vc, int T, int Tk, int NH, int NKV, int HD);
