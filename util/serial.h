// util/serial.h — little helpers to write and read binary headers field by field.
//
// Writing goes into a growable byte buffer (SerialOut); reading walks a byte range
// (SerialIn) and never reads past its end: a short or malformed header sets `bad` and every
// later read returns 0, so a parser checks once at the end instead of after every field.
// Fields are stored in the machine's byte order (little-endian on every machine we target),
// never as raw structs, so padding and field order never leak into a file format.
#pragma once
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct { uint8_t *p; size_t n, cap; int oom; } SerialOut;
typedef struct { const uint8_t *p; size_t n, off; int bad; } SerialIn;

static inline void ser_bytes(SerialOut *o, const void *src, size_t k) {
    if (o->oom) return;
    if (o->n + k > o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 256;
        while (cap < o->n + k) cap *= 2;
        uint8_t *q = realloc(o->p, cap);
        if (!q) { o->oom = 1; return; }
        o->p = q; o->cap = cap;
    }
    memcpy(o->p + o->n, src, k);
    o->n += k;
}
static inline void ser_u32(SerialOut *o, uint32_t v) { ser_bytes(o, &v, 4); }
static inline void ser_i32(SerialOut *o, int32_t v) { ser_bytes(o, &v, 4); }
static inline void ser_u64(SerialOut *o, uint64_t v) { ser_bytes(o, &v, 8); }
static inline void ser_f32(SerialOut *o, float v) { ser_bytes(o, &v, 4); }
static inline void ser_f64(SerialOut *o, double v) { ser_bytes(o, &v, 8); }
// a string: u32 length, then the bytes (no NUL)
static inline void ser_str(SerialOut *o, const char *s) {
    size_t k = s ? strlen(s) : 0;
    ser_u32(o, (uint32_t)k);
    ser_bytes(o, s, k);
}

static inline void des_bytes(SerialIn *in, void *dst, size_t k) {
    if (in->bad || in->n - in->off < k) { in->bad = 1; memset(dst, 0, k); return; }
    memcpy(dst, in->p + in->off, k);
    in->off += k;
}
static inline uint32_t des_u32(SerialIn *in) { uint32_t v; des_bytes(in, &v, 4); return v; }
static inline int32_t des_i32(SerialIn *in) { int32_t v; des_bytes(in, &v, 4); return v; }
static inline uint64_t des_u64(SerialIn *in) { uint64_t v; des_bytes(in, &v, 8); return v; }
static inline float des_f32(SerialIn *in) { float v; des_bytes(in, &v, 4); return v; }
static inline double des_f64(SerialIn *in) { double v; des_bytes(in, &v, 8); return v; }
// reads a string into dst (capacity cap, always NUL-terminated); too long or short -> bad
static inline void des_str(SerialIn *in, char *dst, size_t cap) {
    uint32_t k = des_u32(in);
    dst[0] = '\0';
    if (in->bad || k >= cap || in->n - in->off < k) { in->bad = 1; return; }
    memcpy(dst, in->p + in->off, k);
    dst[k] = '\0';
    in->off += k;
    if (memchr(dst, '\0', k)) in->bad = 1;   // an embedded NUL is not a path we wrote
}

// A 64-bit checksum of a byte range (FNV-1a over 8-byte words, then the tail bytes): cheap
// enough to run over every parameter on load, and any flipped or missing byte changes it.
static inline uint64_t checksum64(const void *data, size_t n) {
    const uint8_t *p = data;
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    for (; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

// Ends a header laid out as: 8-byte magic, u32 version, u32 header_bytes, the fields, then a
// u64 checksum64 of all the bytes before it and zeros up to a 64-byte boundary (what follows
// starts aligned: mmap-friendly). Appends the checksum and padding and patches header_bytes.
static inline void ser_end_header(SerialOut *o) {
    size_t hsum_at = o->n;
    ser_u64(o, 0);
    static const uint8_t zeros[64];
    ser_bytes(o, zeros, (64 - o->n % 64) % 64);
    if (o->oom) return;
    uint32_t hb = (uint32_t)o->n;
    memcpy(o->p + 12, &hb, 4);
    uint64_t hsum = checksum64(o->p, hsum_at);
    memcpy(o->p + hsum_at, &hsum, 8);
}

// The rest of a file header whose first 16 bytes (8 magic, u32 version, u32 header length hb) the
// caller read into `fixed` and checked: hb must lie in [16, max] and within the file's `size`.
// Returns the whole header (fixed included) in a malloc'd buffer of hb bytes, or NULL with
// "path: ..." in err. Our checkpoints, training states and LoRA checkpoints share this layout.
static inline uint8_t *ser_read_header(FILE *fp, const uint8_t fixed[16], size_t size, size_t max, const char *path,
                                       char *err, size_t errlen) {
    uint32_t hb;
    memcpy(&hb, fixed + 12, 4);
    if (hb < 16 || hb > max || hb > size) {
        snprintf(err, errlen, "%s: header length %u is impossible for a %zu-byte file (truncated or corrupt)", path, hb, size);
        return NULL;
    }
    uint8_t *buf = malloc(hb);
    if (!buf) { snprintf(err, errlen, "%s: out of memory", path); return NULL; }
    memcpy(buf, fixed, 16);
    if (fread(buf + 16, 1, hb - 16, fp) != hb - 16) {
        free(buf);
        snprintf(err, errlen, "%s: truncated header", path);
        return NULL;
    }
    return buf;
}
