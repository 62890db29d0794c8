// data/bytes_map.c — see bytes_map.h: (bytes, length) -> int on top of stb_ds.
#include "data/bytes_map.h"

#include <string.h>
// stb_ds's hm* macros use GNU typeof, which gcc spells __typeof__ under -std=c11.
#define typeof __typeof__
#include <stb/stb_ds.h>

// A fixed seed: the same bytes hash the same in every run, so nothing depends on chance.
#define BYTES_MAP_SEED 0x9E3779B97F4A7C15ull

static size_t content_hash(const void *bytes, size_t len) {
    return stbds_hash_bytes((void *)bytes, len, (size_t)BYTES_MAP_SEED);
}

static int entry_equals(const BytesMap *m, int e, const void *bytes, size_t len) {
    return (size_t)m->len[e] == len && memcmp(m->arena + m->off[e], bytes, len) == 0;
}

// The slot for this content, or -1. hmgeti_ts only reads the table (the plain hmgeti writes a
// temp into its header), so lookups from several threads are safe.
static ptrdiff_t find_slot(const BytesMap *m, size_t h) {
    if (!m->heads) return -1;
    ptrdiff_t tmp;
    BytesMapSlot *heads = m->heads;
    return hmgeti_ts(heads, h, tmp);
}

int bytes_map_find(const BytesMap *m, const void *bytes, size_t len) {
    ptrdiff_t slot = find_slot(m, content_hash(bytes, len));
    if (slot < 0) return -1;
    for (int e = m->heads[slot].value.entry; e >= 0; e = m->next[e])
        if (entry_equals(m, e, bytes, len)) return e;
    return -1;
}

int bytes_map_get(const BytesMap *m, const void *bytes, size_t len) {
    ptrdiff_t slot = find_slot(m, content_hash(bytes, len));
    if (slot < 0) return -1;
    const BytesMapHead *hd = &m->heads[slot].value;
    // The common case, answered from the slot alone: same length, same first bytes, and
    // (for longer strings) the same rest.
    size_t n8 = len < 8 ? len : 8;
    if ((size_t)hd->len == len && memcmp(hd->head, bytes, n8) == 0 &&
        (len <= 8 || memcmp(m->arena + m->off[hd->entry] + 8, (const char *)bytes + 8, len - 8) == 0))
        return hd->value;
    for (int e = m->next[hd->entry]; e >= 0; e = m->next[e])  // a 64-bit hash collision
        if (entry_equals(m, e, bytes, len)) return m->value[e];
    return -1;
}

static void fill_head(BytesMap *m, ptrdiff_t slot, int e) {
    BytesMapHead *hd = &m->heads[slot].value;
    hd->entry = e;
    hd->value = m->value[e];
    hd->len = m->len[e];
    memset(hd->head, 0, sizeof hd->head);
    memcpy(hd->head, m->arena + m->off[e], m->len[e] < 8 ? (size_t)m->len[e] : 8);
}

int bytes_map_put(BytesMap *m, const void *bytes, size_t len, int value) {
    if (bytes_map_find(m, bytes, len) >= 0) return -1;
    int e = (int)arrlen(m->len);
    size_t h = content_hash(bytes, len);
    ptrdiff_t slot = find_slot(m, h);
    arrput(m->value, value);
    arrput(m->off, arrlenu(m->arena));
    arrput(m->len, (int)len);
    unsigned char *dst = arraddnptr(m->arena, len);
    if (len) memcpy(dst, bytes, len);
    if (slot < 0) {
        arrput(m->next, -1);
        BytesMapHead hd = {0};
        hmput(m->heads, h, hd);
        slot = hmgeti(m->heads, h);
    } else {
        // A collision: the new entry goes to the front of the chain and into the slot.
        arrput(m->next, m->heads[slot].value.entry);
    }
    fill_head(m, slot, e);
    return e;
}

void bytes_map_set_value(BytesMap *m, int i, int value) {
    m->value[i] = value;
    size_t n;
    const unsigned char *b = bytes_map_entry(m, i, &n);
    ptrdiff_t slot = find_slot(m, content_hash(b, n));
    if (slot >= 0 && m->heads[slot].value.entry == i) m->heads[slot].value.value = value;
}

int bytes_map_count(const BytesMap *m) { return (int)arrlen(m->len); }

const unsigned char *bytes_map_entry(const BytesMap *m, int i, size_t *len) {
    *len = (size_t)m->len[i];
    return m->arena + m->off[i];
}

void bytes_map_free(BytesMap *m) {
    hmfree(m->heads);
    arrfree(m->next);
    arrfree(m->value);
    arrfree(m->off);
    arrfree(m->len);
    arrfree(m->arena);
}
