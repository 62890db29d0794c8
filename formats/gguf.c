// formats/gguf.c — the GGUF parser (see gguf.h). Every read goes through a cursor that knows
// how many bytes are left, so a count or length larger than the file fails before any
// allocation or access is sized by it.
#include "formats/gguf.h"
#include "util/errors.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct { const uint8_t *p, *end; } Cur;

static int take(Cur *c, void *dst, size_t n) {
    if ((size_t)(c->end - c->p) < n) return -1;
    memcpy(dst, c->p, n);
    c->p += n;
    return 0;
}
static int take_str(Cur *c, GgufStr *s) {
    uint64_t n;
    if (take(c, &n, 8) || (uint64_t)(c->end - c->p) < n) return -1;
    s->s = (const char *)c->p;
    s->len = n;
    c->p += n;
    return 0;
}

static const uint8_t scalar_size[GGUF_NTYPES] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

static const char *const type_names[] = {
    [0] = "f32", [1] = "f16", [2] = "q4_0", [3] = "q4_1", [6] = "q5_0", [7] = "q5_1", [8] = "q8_0",
    [9] = "q8_1", [10] = "q2_K", [11] = "q3_K", [12] = "q4_K", [13] = "q5_K", [14] = "q6_K", [15] = "q8_K",
    [16] = "iq2_xxs", [17] = "iq2_xs", [18] = "iq3_xxs", [19] = "iq1_s", [20] = "iq4_nl", [21] = "iq3_s",
    [22] = "iq2_s", [23] = "iq4_xs", [24] = "i8", [25] = "i16", [26] = "i32", [27] = "i64", [28] = "f64",
    [29] = "iq1_m", [30] = "bf16", [34] = "tq1_0", [35] = "tq2_0"};

const char *ggml_type_name(uint32_t type) {
    return type < sizeof type_names / sizeof *type_names ? type_names[type] : NULL;
}

// elements per block and bytes per block of the types we map; 0 for the rest
static void type_block(uint32_t type, uint64_t *elems, uint64_t *bytes) {
    switch (type) {
    case GGML_F32:  *elems = 1; *bytes = 4; return;
    case GGML_F16:  *elems = 1; *bytes = 2; return;
    case GGML_BF16: *elems = 1; *bytes = 2; return;
    case GGML_Q8_0: *elems = 32; *bytes = 34; return;
    case GGML_Q4_0: *elems = 32; *bytes = 18; return;
    case GGML_Q4_K: *elems = 256; *bytes = 144; return;
    case GGML_Q5_K: *elems = 256; *bytes = 176; return;
    case GGML_Q6_K: *elems = 256; *bytes = 210; return;
    default:        *elems = 0; *bytes = 0;
    }
}

int gguf_str_eq(GgufStr s, const char *c) { return s.len == strlen(c) && memcmp(s.s, c, s.len) == 0; }

const GgufKV *gguf_find(const GgufFile *g, const char *key) {
    for (uint64_t i = 0; i < g->n_kv; i++)
        if (gguf_str_eq(g->kv[i].key, key)) return &g->kv[i];
    return NULL;
}

const GgufTensor *gguf_tensor(const GgufFile *g, const char *name) {
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if (gguf_str_eq(g->tensors[i].name, name)) return &g->tensors[i];
    return NULL;
}

void gguf_close(GgufFile *g) {
    if (g->kv)
        for (uint64_t i = 0; i < g->n_kv; i++) free(g->kv[i].arr_str);
    free(g->kv);
    free(g->tensors);
    if (g->map) munmap(g->map, g->size);
    memset(g, 0, sizeof *g);
}

// a printable copy of a name from the file for messages
static const char *shown(GgufStr s, char *buf, size_t n) {
    size_t len = s.len < n - 1 ? s.len : n - 1;
    memcpy(buf, s.s, len);
    buf[len] = '\0';
    return buf;
}

// the message is formatted first: it may quote names inside the mapping that gguf_close unmaps
#define BAD(...) do { fail(err, errlen, __VA_ARGS__); gguf_close(g); return -1; } while (0)

int gguf_open(GgufFile *g, const char *path, char *err, size_t errlen) {
    memset(g, 0, sizeof *g);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return fail(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || sb.st_size < 24) {
        close(fd);
        return fail(err, errlen, "%s: too short to be a GGUF file", path);
    }
    g->size = (size_t)sb.st_size;
    g->map = mmap(NULL, g->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (g->map == MAP_FAILED) {
        g->map = NULL;
        return fail(err, errlen, "%s: cannot mmap: %s", path, strerror(errno));
    }
    Cur c = { g->map, (const uint8_t *)g->map + g->size };
    char magic[4], nb[128];
    take(&c, magic, 4);
    take(&c, &g->version, 4);
    take(&c, &g->n_tensors, 8);
    take(&c, &g->n_kv, 8);
    if (memcmp(magic, "GGUF", 4) != 0) BAD("%s: not a GGUF file (no GGUF magic)", path);
    if (g->version != 3) {
        uint32_t v = g->version;
        BAD("%s: GGUF version %u (this reader takes version 3, little-endian)", path, v);
    }
    // every key-value takes at least 12 bytes, every tensor info at least 24
    if (g->n_kv > g->size / 12 || g->n_tensors > g->size / 24) {
        BAD("%s: %llu metadata entries and %llu tensors cannot fit in %zu bytes", path,
                    (unsigned long long)g->n_kv, (unsigned long long)g->n_tensors, g->size);
    }
    g->kv = calloc(g->n_kv ? g->n_kv : 1, sizeof *g->kv);
    g->tensors = calloc(g->n_tensors ? g->n_tensors : 1, sizeof *g->tensors);
    if (!g->kv || !g->tensors) BAD("%s: out of memory", path);
    g->alignment = 32;
    for (uint64_t i = 0; i < g->n_kv; i++) {
        GgufKV *kv = &g->kv[i];
        if (take_str(&c, &kv->key) || take(&c, &kv->type, 4)) goto truncated;
        if (kv->type >= GGUF_NTYPES) {
            uint32_t t = kv->type;
            BAD("%s: metadata %s: unknown value type %u", path, shown(kv->key, nb, sizeof nb), t);
        }
        if (kv->type == GGUF_STRING) {
            if (take_str(&c, &kv->str)) goto truncated;
        } else if (kv->type == GGUF_ARRAY) {
            if (take(&c, &kv->arr_type, 4) || take(&c, &kv->arr_n, 8)) goto truncated;
            if (kv->arr_type == GGUF_ARRAY || kv->arr_type >= GGUF_NTYPES) {
                uint32_t t = kv->arr_type;
                BAD("%s: metadata %s: arrays of type %u are not supported", path,
                            shown(kv->key, nb, sizeof nb), t);
            }
            size_t left = (size_t)(c.end - c.p);
            if (kv->arr_type == GGUF_STRING) {
                if (kv->arr_n > left / 8) goto truncated;
                kv->arr_str = malloc((kv->arr_n ? kv->arr_n : 1) * sizeof *kv->arr_str);
                if (!kv->arr_str) BAD("%s: out of memory", path);
                for (uint64_t k = 0; k < kv->arr_n; k++)
                    if (take_str(&c, &kv->arr_str[k])) goto truncated;
            } else {
                if (kv->arr_n > left / scalar_size[kv->arr_type]) goto truncated;
                kv->arr = c.p;
                c.p += kv->arr_n * scalar_size[kv->arr_type];
            }
        } else {
            uint8_t raw[8] = {0};
            if (take(&c, raw, scalar_size[kv->type])) goto truncated;
            switch (kv->type) {
            case GGUF_U8: case GGUF_BOOL: kv->num.u = raw[0]; break;
            case GGUF_I8: kv->num.i = (int8_t)raw[0]; break;
            case GGUF_U16: { uint16_t v; memcpy(&v, raw, 2); kv->num.u = v; break; }
            case GGUF_I16: { int16_t v; memcpy(&v, raw, 2); kv->num.i = v; break; }
            case GGUF_U32: { uint32_t v; memcpy(&v, raw, 4); kv->num.u = v; break; }
            case GGUF_I32: { int32_t v; memcpy(&v, raw, 4); kv->num.i = v; break; }
            case GGUF_F32: { float v; memcpy(&v, raw, 4); kv->num.f = v; break; }
            case GGUF_U64: memcpy(&kv->num.u, raw, 8); break;
            case GGUF_I64: memcpy(&kv->num.i, raw, 8); break;
            case GGUF_F64: memcpy(&kv->num.f, raw, 8); break;
            }
        }
        if (gguf_str_eq(kv->key, "general.alignment")) {
            if (kv->type != GGUF_U32 || kv->num.u == 0 || (kv->num.u & (kv->num.u - 1)) || kv->num.u > 65536) {
                BAD("%s: general.alignment must be a power of two (u32) up to 65536", path);
            }
            g->alignment = (uint32_t)kv->num.u;
        }
    }
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        GgufTensor *t = &g->tensors[i];
        if (take_str(&c, &t->name) || take(&c, &t->n_dims, 4)) goto truncated;
        if (t->n_dims < 1 || t->n_dims > 4) {
            uint32_t n = t->n_dims;
            BAD("%s: tensor %s has %u dimensions (1 to 4)", path, shown(t->name, nb, sizeof nb), n);
        }
        t->ne[0] = t->ne[1] = t->ne[2] = t->ne[3] = 1;
        for (uint32_t d = 0; d < t->n_dims; d++)
            if (take(&c, &t->ne[d], 8)) goto truncated;
        if (take(&c, &t->type, 4) || take(&c, &t->offset, 8)) goto truncated;
    }
    size_t data_start = ((size_t)(c.p - (const uint8_t *)g->map) + g->alignment - 1) / g->alignment * g->alignment;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        GgufTensor *t = &g->tensors[i];
        uint64_t be, bb, n = 1;
        for (uint32_t d = 0; d < 4; d++) {
            if (t->ne[d] == 0 || t->ne[d] > g->size * 8 || n > (g->size * 8) / t->ne[d]) {
                BAD("%s: tensor %s: dimensions larger than the file", path, shown(t->name, nb, sizeof nb));
            }
            n *= t->ne[d];
        }
        if (t->offset % g->alignment != 0) {
            BAD("%s: tensor %s: offset %llu is not a multiple of the alignment %u", path,
                        shown(t->name, nb, sizeof nb), (unsigned long long)t->offset, g->alignment);
        }
        type_block(t->type, &be, &bb);
        if (!be) continue; // a type we do not map: the model loader names it if it needs the tensor
        if (t->ne[0] % be != 0) {
            BAD("%s: tensor %s: row of %llu is not a whole number of %s blocks", path,
                        shown(t->name, nb, sizeof nb), (unsigned long long)t->ne[0], ggml_type_name(t->type));
        }
        t->bytes = n / be * bb;
        if (data_start > g->size || t->offset > g->size - data_start || t->bytes > g->size - data_start - t->offset) {
            BAD("%s: tensor %s: %zu bytes at offset %llu run past the end of the file (%zu bytes)", path,
                        shown(t->name, nb, sizeof nb), t->bytes, (unsigned long long)t->offset, g->size);
        }
        t->data = (const uint8_t *)g->map + data_start + t->offset;
    }
    return 0;
truncated:
    BAD("%s: truncated GGUF header (a count or length runs past the end of the file)", path);
}
