// data/bytes_map.h — a hash map from byte strings (pointer + length, NUL allowed) to int,
// built on stb_ds.
//
// stb_ds's own string maps (sh*) key by C string, which would cut token bytes at the first NUL,
// and its binary maps (hm*) key by the bits of the key struct, so a (pointer, length) key would
// hash the pointer, not the bytes. So: hash the bytes with stbds_hash_bytes, key an stb_ds map
// by that 64-bit hash, and compare length and bytes to be sure (entries whose hashes collide are
// chained). The slot keeps the first entry's length, value and first 8 bytes, so a lookup of a
// short string (most BPE lookups) touches one slot and no other memory.
// Entries own a copy of their bytes in one arena. Lookups only read (hmgeti_ts), so several
// threads may look up at once; inserts need exclusive access.
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int32_t entry;          // first entry with this hash
    int32_t value;          // its value
    int32_t len;            // its length
    unsigned char head[8];  // its first bytes (up to 8)
} BytesMapHead;
typedef struct { size_t key; BytesMapHead value; } BytesMapSlot;

typedef struct {
    BytesMapSlot *heads;   // stb_ds map: content hash -> first entry
    int *next;             // stb_ds array, per entry: next entry with the same hash, or -1
    int *value;            // per entry: the user's value
    size_t *off;           // per entry: where its bytes start in arena
    int *len;              // per entry: how many bytes
    unsigned char *arena;  // stb_ds array: all entries' bytes back to back
} BytesMap;

// An empty map is a zeroed BytesMap: `BytesMap m = {0};`.
// The value stored for these bytes, or -1 when absent.
int bytes_map_get(const BytesMap *m, const void *bytes, size_t len);
// The entry index (0, 1, 2... in insertion order) for these bytes, or -1.
int bytes_map_find(const BytesMap *m, const void *bytes, size_t len);
// Inserts (bytes, value). Returns the new entry's index, or -1 if the bytes are already present
// (the map is unchanged then).
int bytes_map_put(BytesMap *m, const void *bytes, size_t len, int value);
// Changes the value of entry i.
void bytes_map_set_value(BytesMap *m, int i, int value);
// Number of entries; the bytes of entry i (valid until the next put).
int bytes_map_count(const BytesMap *m);
const unsigned char *bytes_map_entry(const BytesMap *m, int i, size_t *len);
void bytes_map_free(BytesMap *m);
