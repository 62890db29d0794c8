// data/bpe_merge.c — the byte-pair merge of one pre-token piece, as tiktoken's byte_pair_merge
// (data/tiktoken.h declares bpe_merge and bpe_merge_dropout): bin/bpe-train's training loop and
// tiktoken.c's encoder both merge through it.
#include "data/tiktoken.h"
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <stb/stb_ds.h>
#include "data/merge_heap.h"
#include "util/rng.h"

#define NO_RANK INT_MAX
// Pieces this long or longer use the heap; below it tiktoken's scan is faster (no allocation,
// fewer steps per merge). Measured on random letter pieces with GPT-2 ranks: scan 27 us vs heap
// 35 us at 128 bytes, 84 vs 78 at 256, 222 vs 138 at 512. The result is the same either way.
#define HEAP_MIN_LEN 256

static inline int rank_of(const BytesMap *ranks, const unsigned char *p, size_t a, size_t b) {
    int r = bytes_map_get(ranks, p + a, b - a);
    return r < 0 ? NO_RANK : r;
}

// tiktoken's loop: pr[k] = rank of parts k and k+1 joined. Find the lowest (leftmost on ties),
// join the two parts, recompute the two pair ranks that changed, repeat. O(parts * merges).
// drop > 0 is BPE-dropout (Provilkov et al. 2020, "BPE-Dropout: Simple and Effective Subword
// Regularization"): at every step each possible merge is skipped with probability drop and the
// lowest-ranked survivor is joined; when every possible merge is skipped the piece stops there.
// A coin is drawn only for a pair that would beat the best found so far: a pair that would lose
// anyway cannot change the choice, so the distribution is the same with fewer draws.
static size_t merge_scan(const BytesMap *ranks, const unsigned char *p, size_t *b, size_t np,
                         float drop, uint64_t *rng) {
    int stack_pr[HEAP_MIN_LEN];
    int *pr = np <= HEAP_MIN_LEN ? stack_pr : malloc(np * sizeof *pr);
    if (!pr) return (size_t)-1;
    for (size_t k = 0; k + 1 < np; k++) pr[k] = rank_of(ranks, p, b[k], b[k + 2]);
    while (np > 1) {
        size_t i = 0;
        int best = NO_RANK;
        for (size_t k = 0; k + 1 < np; k++)
            if (pr[k] < best && !(drop > 0 && rng_float(rng) < drop)) { best = pr[k]; i = k; }
        if (best == NO_RANK) break;
        // Part i absorbs part i+1: drop bound b[i+1] and pair rank pr[i+1]'s slot shifts down.
        memmove(b + i + 1, b + i + 2, (np - i - 1) * sizeof *b);
        if (np >= i + 3) memmove(pr + i + 1, pr + i + 2, (np - i - 3) * sizeof *pr);
        np--;
        if (i + 1 < np) pr[i] = rank_of(ranks, p, b[i], b[i + 2]);
        if (i > 0) pr[i - 1] = rank_of(ranks, p, b[i - 1], b[i + 1]);
    }
    if (pr != stack_pr) free(pr);
    return np;
}

// The same merges in O(n log n): parts form a linked list (a part keeps the index and start of
// its left end when it absorbs its right neighbour), and a min-heap holds (pair rank, part).
// The heap may hold stale entries: an entry is live iff its part is still alive and the part's
// current pair rank equals the entry's rank. Popping (rank, part) in (rank, part) order picks the
// lowest rank, leftmost on ties: exactly the pair tiktoken's scan picks.
// (HeapItem, heap_push, heap_pop: data/merge_heap.h)

// With drop > 0 (BPE-dropout), a live entry popped is skipped with probability drop and set
// aside; the next one up is tried, and after a merge the set-aside ones go back into the heap
// (they are candidates again at the next step). Entries come off in (rank, part) order, so the
// merge chosen is the lowest-ranked surviving pair, as in merge_scan; when the heap runs out with
// only set-aside entries left, every possible merge of this step was skipped and the piece stops.
static size_t merge_heap(const BytesMap *ranks, const unsigned char *p, size_t *b, size_t np,
                         float drop, uint64_t *rng) {
    // next[k]: the part after k (np = none); prev[k]: the part before (-1 = none);
    // b[k] stays the start of part k, and the end of part k is b[next[k]] (b[np] = len).
    int *next = malloc(np * sizeof *next), *prev = malloc(np * sizeof *prev);
    int *pr = malloc(np * sizeof *pr);
    // Each merge pushes at most 2 entries: np initial + 2 * (np - 1) merges.
    // (Set-aside entries only go back into slots they left, so the bound holds with dropout too.)
    HeapItem *heap = malloc(3 * np * sizeof *heap);
    // at most one live entry per part, so at most np set aside in one step
    HeapItem *aside = drop > 0 ? malloc(np * sizeof *aside) : NULL;
    size_t nh = 0, na = 0;
    if (!next || !prev || !pr || !heap || (drop > 0 && !aside)) {
        free(next); free(prev); free(pr); free(heap); free(aside);
        return (size_t)-1;
    }
    for (size_t k = 0; k < np; k++) {
        next[k] = (int)k + 1;
        prev[k] = (int)k - 1;
        pr[k] = k + 1 < np ? rank_of(ranks, p, b[k], b[k + 2]) : NO_RANK;
        if (pr[k] != NO_RANK) heap_push(heap, &nh, (HeapItem){pr[k], (int)k, 0});
    }
    int end = (int)np;
    while (nh > 0) {
        HeapItem it = heap_pop(heap, &nh);
        int k = it.part;
        if (pr[k] != it.rank) continue;  // stale (dead parts have pr = NO_RANK)
        if (drop > 0 && rng_float(rng) < drop) { aside[na++] = it; continue; }
        int j = next[k];                 // the absorbed part
        next[k] = next[j];
        if (next[j] != end) prev[next[j]] = k;
        pr[j] = NO_RANK;
        int n2 = next[k];
        pr[k] = n2 != end ? rank_of(ranks, p, b[k], b[next[n2]]) : NO_RANK;
        if (pr[k] != NO_RANK) heap_push(heap, &nh, (HeapItem){pr[k], k, 0});
        int q = prev[k];
        if (q >= 0) {
            pr[q] = rank_of(ranks, p, b[q], b[next[k]]);
            if (pr[q] != NO_RANK) heap_push(heap, &nh, (HeapItem){pr[q], q, 0});
        }
        // Back into the heap: stale ones (a neighbour of this merge) are dropped when popped. A
        // recomputed pair joins longer bytes, so its rank differs and cannot double an entry.
        while (na > 0) heap_push(heap, &nh, aside[--na]);
    }
    // Compact the surviving parts' starts to the front of b, then the end bound.
    size_t m = 0;
    size_t len = b[np];
    for (int k = 0; k != end; k = next[k]) b[m++] = b[k];
    b[m] = len;
    free(next); free(prev); free(pr); free(heap); free(aside);
    return m;
}

size_t bpe_merge_dropout(const BytesMap *ranks, const unsigned char *piece, size_t len,
                         size_t *bounds, size_t nparts, int use_heap, float drop, uint64_t *rng) {
    if (nparts < 2) return nparts;
    if (use_heap < 0) use_heap = len >= HEAP_MIN_LEN;
    return use_heap ? merge_heap(ranks, piece, bounds, nparts, drop, rng)
                    : merge_scan(ranks, piece, bounds, nparts, drop, rng);
}

size_t bpe_merge(const BytesMap *ranks, const unsigned char *piece, size_t len, size_t *bounds,
                 size_t nparts, int use_heap) {
    return bpe_merge_dropout(ranks, piece, len, bounds, nparts, use_heap, 0, NULL);
}

