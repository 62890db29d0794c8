// formats/safetensors.h — read-only access to a .safetensors file through mmap.
//
// The format (huggingface/safetensors): u64 little-endian N, then N bytes of JSON header,
// then the byte buffer. The header maps each tensor name to
//     {"dtype": "BF16", "shape": [rows, cols], "data_offsets": [begin, end]}
// with offsets relative to the start of the buffer (byte 8 + N of the file); an optional
// "__metadata__" entry holds strings. The tensors tile the buffer exactly, in offset order.
//
// safetensors_open() checks all of that (header past EOF, malformed JSON, unknown dtype,
// shape x dtype size != byte range, offsets past EOF, overlaps, holes, integer overflow) and
// fails with a one-line message, so a loader can trust every SafeTensor it gets back.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "model/dtype.h"

#define SAFETENSORS_MAX_DIMS 8

typedef struct {
    const char *name;
    int dtype;          // a DType (F32, BF16, F16), or -1 for a dtype we parse but cannot compute with
    char dtype_str[16]; // as written in the header, e.g. "BF16", "I64"
    int ndim;
    int64_t shape[SAFETENSORS_MAX_DIMS];
    size_t nbytes;
    const void *data;   // points into the mmap
} SafeTensor;

typedef struct {
    char *path;
    void *map;          // the whole file, PROT_READ
    size_t size;
    struct { char *key; int value; } *index; // stb_ds string hash map: name -> tensors[i]
    SafeTensor *tensors;
    int n_tensors;
} SafeTensors;

// Returns 0, or -1 with a one-line reason in err (starting with the file path).
int safetensors_open(SafeTensors *st, const char *path, char *err, size_t errlen);
// The tensor called name, or NULL.
const SafeTensor *safetensors_find(const SafeTensors *st, const char *name);
void safetensors_close(SafeTensors *st);

// Writing: tensors of a (rows, cols) Mat of any dtype (quantized ones dequantized), or a 1-D
// vector (rows == 0), converted to the file's dtype (F32, or BF16 rounded to nearest even), in
// the given order, with {"__metadata__": {"format": "pt"}} as transformers writes it. The header
// is padded with spaces to a multiple of 8 so the data starts aligned. Atomic
// (util/atomic_file.h). Returns 0, or -1 with a one-line reason in err.
typedef struct {
    char name[96];
    Mat mat;
    size_t rows;
    int cols;
} SafeTensorOut;
int safetensors_write(const char *path, const SafeTensorOut *ts, int n, DType dtype, char *err, size_t errlen);
