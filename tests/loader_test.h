// tests/loader_test.h — what the loader tests (tests/test_loaders.c: safetensors and Hugging Face
// checkpoints; tests/test_llama2c.c: llama2.c checkpoints and tokenizer.bin) share: whole files
// in and out of memory for building corrupted copies, and the two measures they check with.
#pragma once
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The test's own files: a failure here is the test's fault, not the loader's, so it exits.
static inline void write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n) { perror(path); exit(1); }
    fclose(f);
}

// All of path, with a NUL after the last byte (*n excludes it).
static inline char *read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(1); }
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc(*n + 1);
    if (fread(buf, 1, *n, f) != *n) { perror(path); exit(1); }
    buf[*n] = '\0';
    fclose(f);
    return buf;
}

// A loader's error message is one line: not empty, no '\n' (the program adds it).
static inline int one_line(const char *err) { return err[0] && !strchr(err, '\n'); }

// max |a - b| / max |b|: the error relative to the scale of the reference logits
static inline double rel_err(const float *a, const float *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (d > num || isnan(d)) num = isnan(d) ? INFINITY : d;
        if (fabs(b[i]) > den) den = fabs(b[i]);
    }
    return num / (den > 0 ? den : 1);
}
