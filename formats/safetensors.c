// formats/safetensors.c — see safetensors.h for the format.
#include "formats/safetensors.h"
#include "model/quant.h"
#include "util/atomic_file.h"
#include "util/errors.h"
#include "util/files.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stb/stb_ds.h>

// The header is JSON text; the reference implementation refuses headers over 100 MB.
#define MAX_HEADER_BYTES (100u << 20)

// Every dtype the safetensors format defines, with its element size. Only the first three are
// ones we compute with; the rest still parse so their byte ranges can be checked.
static const struct { const char *name; int dtype; size_t size; } known_dtypes[] = {
    {"F32", DTYPE_F32, 4}, {"BF16", DTYPE_BF16, 2}, {"F16", DTYPE_F16, 2},
    {"F64", -1, 8}, {"I64", -1, 8}, {"U64", -1, 8}, {"I32", -1, 4}, {"U32", -1, 4},
    {"I16", -1, 2}, {"U16", -1, 2}, {"I8", -1, 1}, {"U8", -1, 1}, {"BOOL", -1, 1},
    {"F8_E4M3", -1, 1}, {"F8_E5M2", -1, 1},
};

// A JSON number that is an exact non-negative integer (doubles hold integers exactly to 2^53).
static int json_u64(const cJSON *j, uint64_t *out) {
    if (!cJSON_IsNumber(j)) return -1;
    double v = j->valuedouble;
    if (!(v >= 0) || v > 9007199254740992.0 || v != floor(v)) return -1;
    *out = (uint64_t)v;
    return 0;
}

static int cmp_offset(const void *a, const void *b) {
    const SafeTensor *x = a, *y = b;
    return x->data < y->data ? -1 : x->data > y->data;
}

int safetensors_open(SafeTensors *st, const char *path, char *err, size_t errlen) {
    memset(st, 0, sizeof *st);
    const char *why;
    int fd = open_regular(path, &why);
    if (fd < 0 && !strcmp(why, "not a regular file")) return fail(err, errlen, "%s: not a regular file", path);
    if (fd < 0) return fail(err, errlen, "%s: cannot open: %s", path, why);
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        close(fd);
        return fail(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    }
    size_t size = (size_t)sb.st_size;
    if (size < 8) {
        close(fd);
        return fail(err, errlen, "%s: truncated: %zu bytes, too short for the 8-byte header length", path, size);
    }
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd); // the mapping keeps the file open
    if (map == MAP_FAILED) return fail(err, errlen, "%s: mmap failed: %s", path, strerror(errno));
    st->map = map;
    st->size = size;
    st->path = strdup(path);
    if (!st->path) { fail(err, errlen, "%s: out of memory", path); goto bad; }

    uint64_t n;
    memcpy(&n, map, 8); // little-endian, like every machine we build for
    if (n > size - 8) {
        fail(err, errlen, "%s: header length %llu runs past the end of the file (%zu bytes)", path,
             (unsigned long long)n, size);
        goto bad;
    }
    if (n > MAX_HEADER_BYTES) {
        fail(err, errlen, "%s: header length %llu is over the 100 MB limit", path, (unsigned long long)n);
        goto bad;
    }
    const char *hdr = (const char *)map + 8, *end = NULL;
    const char *buffer = hdr + n;            // the tensors' bytes
    size_t buffer_size = size - 8 - n;
    cJSON *root = cJSON_ParseWithLengthOpts(hdr, n, &end, 0);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        fail(err, errlen, "%s: header is not a JSON object", path);
        goto bad;
    }
    for (const char *p = end; p < hdr + n; p++) // the writer pads with spaces to 8 bytes
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r' && *p != '\0') {
            cJSON_Delete(root);
            fail(err, errlen, "%s: unexpected bytes after the JSON header", path);
            goto bad;
        }

    sh_new_strdup(st->index);
    int count = cJSON_GetArraySize(root);
    st->tensors = calloc(count > 0 ? count : 1, sizeof(SafeTensor));
    if (!st->tensors) { fail(err, errlen, "%s: out of memory", path); goto bad_json; }
    const cJSON *item;
    cJSON_ArrayForEach(item, root) {
        const char *name = item->string;
        if (strcmp(name, "__metadata__") == 0) continue;
        if (shgeti(st->index, name) >= 0) {
            fail(err, errlen, "%s: tensor \"%s\" appears twice", path, name);
            goto bad_json;
        }
        SafeTensor *t = &st->tensors[st->n_tensors];
        t->name = strdup(name);
        st->n_tensors++;
        if (!t->name) { fail(err, errlen, "%s: out of memory", path); goto bad_json; }
        if (!cJSON_IsObject(item)) {
            fail(err, errlen, "%s: tensor \"%s\": entry is not an object", path, name);
            goto bad_json;
        }
        const cJSON *jd = cJSON_GetObjectItemCaseSensitive(item, "dtype");
        const cJSON *js = cJSON_GetObjectItemCaseSensitive(item, "shape");
        const cJSON *jo = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
        if (!cJSON_IsString(jd) || !cJSON_IsArray(js) || !cJSON_IsArray(jo)) {
            fail(err, errlen, "%s: tensor \"%s\": needs string \"dtype\", array \"shape\" and array \"data_offsets\"",
                 path, name);
            goto bad_json;
        }
        size_t esize = 0;
        for (size_t k = 0; k < sizeof known_dtypes / sizeof known_dtypes[0]; k++)
            if (strcmp(jd->valuestring, known_dtypes[k].name) == 0) {
                t->dtype = known_dtypes[k].dtype;
                esize = known_dtypes[k].size;
            }
        if (!esize) {
            fail(err, errlen, "%s: tensor \"%s\": unknown dtype \"%.20s\"", path, name, jd->valuestring);
            goto bad_json;
        }
        snprintf(t->dtype_str, sizeof t->dtype_str, "%s", jd->valuestring);
        t->ndim = cJSON_GetArraySize(js);
        if (t->ndim > SAFETENSORS_MAX_DIMS) {
            fail(err, errlen, "%s: tensor \"%s\": %d dimensions (at most %d)", path, name, t->ndim,
                 SAFETENSORS_MAX_DIMS);
            goto bad_json;
        }
        size_t numel = 1;
        for (int d = 0; d < t->ndim; d++) {
            uint64_t v;
            if (json_u64(cJSON_GetArrayItem(js, d), &v) != 0) {
                fail(err, errlen, "%s: tensor \"%s\": shape entries must be non-negative integers", path, name);
                goto bad_json;
            }
            t->shape[d] = (int64_t)v;
            if (__builtin_mul_overflow(numel, (size_t)v, &numel)) {
                fail(err, errlen, "%s: tensor \"%s\": shape overflows", path, name);
                goto bad_json;
            }
        }
        uint64_t b, e;
        if (cJSON_GetArraySize(jo) != 2 || json_u64(cJSON_GetArrayItem(jo, 0), &b) ||
            json_u64(cJSON_GetArrayItem(jo, 1), &e) || b > e) {
            fail(err, errlen, "%s: tensor \"%s\": data_offsets must be [begin, end] with 0 <= begin <= end",
                 path, name);
            goto bad_json;
        }
        if (e > buffer_size) {
            fail(err, errlen, "%s: tensor \"%s\": data_offsets end %llu is past the end of the file "
                 "(%zu data bytes)", path, name, (unsigned long long)e, buffer_size);
            goto bad_json;
        }
        if (__builtin_mul_overflow(numel, esize, &t->nbytes) || t->nbytes != e - b) {
            fail(err, errlen, "%s: tensor \"%s\": shape and dtype %s need %zu bytes but data_offsets give %llu",
                 path, name, t->dtype_str, numel * esize, (unsigned long long)(e - b));
            goto bad_json;
        }
        t->data = buffer + b;
        shput(st->index, t->name, st->n_tensors - 1);
    }
    cJSON_Delete(root);

    // The tensors must tile the buffer: sorted by offset, each starts where the last ended,
    // and together they cover it exactly (what the reference implementation enforces).
    SafeTensor *sorted = malloc((st->n_tensors ? st->n_tensors : 1) * sizeof *sorted);
    if (!sorted) { fail(err, errlen, "%s: out of memory", path); goto bad; }
    memcpy(sorted, st->tensors, st->n_tensors * sizeof *sorted);
    qsort(sorted, st->n_tensors, sizeof *sorted, cmp_offset);
    const char *at = buffer;
    for (int i = 0; i < st->n_tensors; i++) {
        const char *d = sorted[i].data;
        if (d != at) {
            fail(err, errlen, "%s: tensor \"%s\" at offset %td %s", path, sorted[i].name, d - buffer,
                 d < at ? "overlaps the tensor before it" : "leaves a hole after the tensor before it");
            free(sorted);
            goto bad;
        }
        at += sorted[i].nbytes;
    }
    free(sorted);
    if (at != buffer + buffer_size) {
        fail(err, errlen, "%s: %td trailing bytes after the last tensor", path, buffer + buffer_size - at);
        goto bad;
    }
    return 0;

bad_json:
    cJSON_Delete(root);
bad:
    safetensors_close(st);
    return -1;
}

const SafeTensor *safetensors_find(const SafeTensors *st, const char *name) {
    if (!st->index) return NULL;
    SafeTensors *mut = (SafeTensors *)st; // stb_ds lookups write the table's temp slot
    ptrdiff_t i = shgeti(mut->index, name);
    return i < 0 ? NULL : &st->tensors[st->index[i].value];
}

void safetensors_close(SafeTensors *st) {
    for (int i = 0; i < st->n_tensors; i++) free((char *)st->tensors[i].name);
    free(st->tensors);
    shfree(st->index);
    if (st->map) munmap(st->map, st->size);
    free(st->path);
    memset(st, 0, sizeof *st);
}

int safetensors_write(const char *path, const SafeTensorOut *ts, int n, DType dtype, char *err, size_t errlen) {
    if (dtype != DTYPE_F32 && dtype != DTYPE_BF16) return fail(err, errlen, "%s: dtype %s cannot be written (bf16 or f32)", path, dtype_name(dtype));
    size_t esz = dtype == DTYPE_BF16 ? 2 : 4, off = 0, widest = 1;
    cJSON *h = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(h, "__metadata__");
    cJSON_AddStringToObject(meta, "format", "pt");
    for (int i = 0; i < n; i++) {
        size_t elems = (ts[i].rows ? ts[i].rows : 1) * (size_t)ts[i].cols;
        if ((size_t)ts[i].cols > widest) widest = ts[i].cols;
        cJSON *t = cJSON_AddObjectToObject(h, ts[i].name);
        cJSON_AddStringToObject(t, "dtype", dtype == DTYPE_BF16 ? "BF16" : "F32");
        cJSON *shape = cJSON_AddArrayToObject(t, "shape");
        if (ts[i].rows) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)ts[i].rows));
        cJSON_AddItemToArray(shape, cJSON_CreateNumber(ts[i].cols));
        cJSON *offs = cJSON_AddArrayToObject(t, "data_offsets");
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
        off += elems * esz;
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
    }
    char *hdr = cJSON_PrintUnformatted(h);
    cJSON_Delete(h);
    float *row = malloc(widest * sizeof(float));
    uint16_t *half = malloc(widest * sizeof(uint16_t));
    if (!hdr || !row || !half) {
        free(hdr); free(row); free(half);
        return fail(err, errlen, "%s: out of memory", path);
    }
    size_t hlen = strlen(hdr), padded = (hlen + 7) / 8 * 8;
    AtomicFile af;
    int rc = atomic_open(&af, path, err, errlen);
    if (rc == 0) {
        uint64_t hl = padded; // little-endian u64 (x86-64)
        rc = atomic_write(&af, &hl, 8, err, errlen);
        if (!rc) rc = atomic_write(&af, hdr, hlen, err, errlen);
        for (size_t k = hlen; !rc && k < padded; k++) rc = atomic_write(&af, " ", 1, err, errlen);
        for (int i = 0; !rc && i < n; i++) {
            size_t rows = ts[i].rows ? ts[i].rows : 1;
            int cols = ts[i].cols;
            for (size_t r = 0; !rc && r < rows; r++) {
                dequantize_row(ts[i].mat.dtype, (const char *)ts[i].mat.data + dtype_bytes(ts[i].mat.dtype, r * cols), row, cols);
                if (dtype == DTYPE_F32) rc = atomic_write(&af, row, (size_t)cols * 4, err, errlen);
                else {
                    for (int k = 0; k < cols; k++) half[k] = f32_to_bf16(row[k]);
                    rc = atomic_write(&af, half, (size_t)cols * 2, err, errlen);
                }
            }
        }
        if (rc) atomic_abort(&af);
        else rc = atomic_commit(&af, err, errlen);
    }
    free(hdr); free(row); free(half);
    return rc;
}
