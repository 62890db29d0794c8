// data/merge_heap.h — the min-heap the byte-pair merge loops keep their candidate pairs in
// (tiktoken.c's merge_heap, hf_tokenizer.c's HF BPE): (rank, part) pairs, popped lowest rank
// first and, among equal ranks, lowest part (the leftmost pair) first. aux rides along (HF BPE:
// the id the pair merges into).
#pragma once
#include <stddef.h>

typedef struct { int rank; int part; int aux; } HeapItem;

static inline int heap_less(HeapItem a, HeapItem b) {
    return a.rank < b.rank || (a.rank == b.rank && a.part < b.part);
}
static inline void heap_push(HeapItem *h, size_t *n, HeapItem x) {
    size_t i = (*n)++;
    while (i > 0 && heap_less(x, h[(i - 1) / 2])) { h[i] = h[(i - 1) / 2]; i = (i - 1) / 2; }
    h[i] = x;
}
static inline HeapItem heap_pop(HeapItem *h, size_t *n) {
    HeapItem top = h[0], x = h[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && heap_less(h[c + 1], h[c])) c++;
        if (!heap_less(h[c], x)) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
    return top;
}
