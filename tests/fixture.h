// tests/fixture.h — reader for tests/fixtures/*.fx, the small files that tools/*.py write
// from PyTorch / transformers / tiktoken so C tests compare against a trusted implementation.
//
// Format (little-endian): "SLFX", u32 version (1), u32 count, then per tensor:
//   u32 name_len, name bytes, u32 dtype (0 = f32, 1 = i32), u32 ndim, u32 dims[ndim],
//   prod(dims) 4-byte elements.
// Writer: tools/fixture_io.py (write_fixture).
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *name;
    int dtype;      // 0 f32, 1 i32
    int ndim;
    int dims[8];
    size_t numel;
    void *data;
} FixtureTensor;

typedef struct {
    int count;
    FixtureTensor *t;
} Fixture;

// Returns 0 on success; on failure prints one line to stderr and returns -1.
int fixture_load(Fixture *f, const char *path);
// The tensor called name, or NULL (and a message on stderr) when absent.
FixtureTensor *fixture_get(Fixture *f, const char *name);
void fixture_free(Fixture *f);
