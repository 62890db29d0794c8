// data/shards.c — see shards.h for the format.
#include "data/shards.h"
#include "util/atomic_file.h"
#include "util/files.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int shard_write(const char *path, const int *tokens, size_t n, int vocab_size, char *err, size_t errlen) {
    if (n >= (size_t)INT32_MAX) { snprintf(err, errlen, "%s: %zu tokens is too many for one shard", path, n); return -1; }
    int wide = vocab_size > 65535;
    int32_t header[SHARD_HEADER_INTS] = {0};
    header[0] = wide ? SHARD_MAGIC_U32 : SHARD_MAGIC_U16;
    header[1] = wide ? SHARD_VERSION_U32 : SHARD_VERSION_U16;
    header[2] = (int32_t)n;
    for (size_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= vocab_size) {
            snprintf(err, errlen, "%s: token %zu has id %d, outside the vocabulary of %d", path, i, tokens[i], vocab_size);
            return -1;
        }
    // convert in chunks so a huge shard needs no second full-size buffer
    enum { CHUNK = 1 << 16 };
    uint32_t *buf = malloc(CHUNK * sizeof *buf);
    if (!buf) { snprintf(err, errlen, "%s: out of memory", path); return -1; }
    AtomicFile af;
    if (atomic_open(&af, path, err, errlen)) { free(buf); return -1; }
    if (atomic_write(&af, header, sizeof header, err, errlen)) goto fail;
    for (size_t off = 0; off < n; off += CHUNK) {
        size_t k = n - off < CHUNK ? n - off : CHUNK;
        if (wide) for (size_t i = 0; i < k; i++) buf[i] = (uint32_t)tokens[off + i];
        else      for (size_t i = 0; i < k; i++) ((uint16_t *)buf)[i] = (uint16_t)tokens[off + i];
        if (atomic_write(&af, buf, k * (wide ? 4 : 2), err, errlen)) goto fail;
    }
    free(buf);
    return atomic_commit(&af, err, errlen);
fail:
    free(buf);
    atomic_abort(&af);
    return -1;
}

int shard_open(Shard *s, const char *path, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    const char *why;
    int fd = open_regular(path, &why);
    if (fd < 0) { snprintf(err, errlen, "%s: %s", path, why); return -1; }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path); close(fd); return -1;
    }
    size_t size = (size_t)st.st_size;
    if (size < SHARD_HEADER_INTS * 4) {
        snprintf(err, errlen, "%s: %zu bytes is shorter than the 1024-byte shard header (truncated, or not a token shard)", path, size);
        close(fd); return -1;
    }
    int32_t header[SHARD_HEADER_INTS];
    if (pread(fd, header, sizeof header, 0) != (ssize_t)sizeof header) {
        snprintf(err, errlen, "%s: cannot read header", path); close(fd); return -1;
    }
    int width;
    if (header[0] == SHARD_MAGIC_U16 && header[1] == SHARD_VERSION_U16) width = 2;
    else if (header[0] == SHARD_MAGIC_U32 && header[1] == SHARD_VERSION_U32) width = 4;
    else if (header[0] == SHARD_MAGIC_U16 || header[0] == SHARD_MAGIC_U32) {
        snprintf(err, errlen, "%s: shard magic %d with unsupported version %d", path, header[0], header[1]);
        close(fd); return -1;
    } else {
        snprintf(err, errlen, "%s: bad magic %d (not an llm.c token shard; expected %d or %d)", path,
                 header[0], SHARD_MAGIC_U16, SHARD_MAGIC_U32);
        close(fd); return -1;
    }
    if (header[2] <= 0) {
        snprintf(err, errlen, "%s: header says %d tokens", path, header[2]); close(fd); return -1;
    }
    size_t count = (size_t)header[2];
    size_t expect = SHARD_HEADER_INTS * 4 + count * width;
    if (size != expect) {
        snprintf(err, errlen, "%s: %zu bytes but the header's %zu tokens need %zu (truncated or corrupt)",
                 path, size, count, expect);
        close(fd); return -1;
    }
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) { snprintf(err, errlen, "%s: mmap failed: %s", path, strerror(errno)); return -1; }
    s->map = map;
    s->map_size = size;
    s->width = width;
    s->num_tokens = count;
    s->tokens = (const char *)map + SHARD_HEADER_INTS * 4;
    // uint32 tokens are read as int: one past INT32_MAX - 1 would turn negative (or overflow
    // max + 1) and slip past the vocabulary check, so such a shard is corrupt, not data
    if (width == 4)
        for (size_t i = 0; i < count; i++)
            if (((const uint32_t *)s->tokens)[i] >= INT32_MAX) {
                snprintf(err, errlen, "%s: token %zu is %u, beyond any vocabulary (corrupt shard)", path, i,
                         ((const uint32_t *)s->tokens)[i]);
                shard_close(s);
                return -1;
            }
    return 0;
}

void shard_close(Shard *s) {
    if (s->map) munmap(s->map, s->map_size);
    memset(s, 0, sizeof *s);
}

int shard_max_token(const Shard *s) {
    int mx = 0;
    for (size_t i = 0; i < s->num_tokens; i++) {
        int t = shard_token(s, i);
        if (t > mx) mx = t;
    }
    return mx;
}
