// tests/fixture.c — see fixture.h for the format.
#include "tests/fixture.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int rd(FILE *fp, void *p, size_t n) { return fread(p, 1, n, fp) == n ? 0 : -1; }

int fixture_load(Fixture *f, const char *path) {
    memset(f, 0, sizeof *f);
    FILE *fp = fopen(path, "rb");
    if (!fp) { fprintf(stderr, "fixture: cannot open %s\n", path); return -1; }
    char magic[4]; uint32_t version, count;
    if (rd(fp, magic, 4) || memcmp(magic, "SLFX", 4) || rd(fp, &version, 4) || version != 1 ||
        rd(fp, &count, 4) || count > 100000) {
        fprintf(stderr, "fixture: %s: bad header\n", path); fclose(fp); return -1;
    }
    f->t = calloc(count, sizeof *f->t);
    for (uint32_t i = 0; i < count; i++) {
        FixtureTensor *t = &f->t[i];
        uint32_t len, dtype, ndim;
        if (rd(fp, &len, 4) || len > 4096) goto bad;
        t->name = calloc(len + 1, 1);
        f->count = i + 1;
        if (rd(fp, t->name, len) || rd(fp, &dtype, 4) || rd(fp, &ndim, 4) || ndim > 8 || dtype > 1) goto bad;
        t->dtype = dtype; t->ndim = ndim; t->numel = 1;
        for (uint32_t d = 0; d < ndim; d++) {
            uint32_t v;
            if (rd(fp, &v, 4)) goto bad;
            t->dims[d] = v; t->numel *= v;
        }
        t->data = malloc(t->numel * 4 + 1);
        if (rd(fp, t->data, t->numel * 4)) goto bad;
    }
    fclose(fp);
    return 0;
bad:
    fprintf(stderr, "fixture: %s: truncated or malformed\n", path);
    fclose(fp); fixture_free(f); return -1;
}

FixtureTensor *fixture_get(Fixture *f, const char *name) {
    for (int i = 0; i < f->count; i++)
        if (f->t[i].name && strcmp(f->t[i].name, name) == 0) return &f->t[i];
    fprintf(stderr, "fixture: no tensor named %s\n", name);
    return NULL;
}

void fixture_free(Fixture *f) {
    for (int i = 0; i < f->count; i++) { free(f->t[i].name); free(f->t[i].data); }
    free(f->t);
    memset(f, 0, sizeof *f);
}
