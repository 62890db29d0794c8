// fuzz/safetensors.c — the safetensors header parser (formats/safetensors.c: safetensors_open).
//
// Input: a whole .safetensors file (u64 header length, JSON header, tensor bytes).
// Promise: a one-line error, or tensors that each lie inside the file, have nbytes equal to
// their shape times their dtype's size, tile the data exactly, and are found by name.
#include "fuzz/fuzz.h"
#include "formats/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write("model.safetensors", data, size);
    SafeTensors st;
    char err[512] = "";
    if (safetensors_open(&st, path, err, sizeof err) != 0) { fuzz_check_message(err); return 0; }
    FUZZ_CHECK(st.size == size, "mapped %zu of %zu bytes", st.size, size);
    const char *lo = (const char *)st.map, *hi = lo + st.size;
    size_t total = 0;
    for (int i = 0; i < st.n_tensors; i++) {
        const SafeTensor *t = &st.tensors[i];
        const char *d = t->data;
        FUZZ_CHECK(d >= lo + 8 && d + t->nbytes <= hi, "tensor %s outside the file", t->name);
        size_t esize = t->dtype_str[0] && strstr(t->dtype_str, "64") ? 8
                     : strstr(t->dtype_str, "32") ? 4 : strstr(t->dtype_str, "16") ? 2 : 1;
        size_t numel = 1;
        for (int k = 0; k < t->ndim; k++) numel *= (size_t)t->shape[k];
        FUZZ_CHECK(numel * esize == t->nbytes, "tensor %s: %zu elements of %zu bytes but nbytes %zu", t->name,
                   numel, esize, t->nbytes);
        if (t->dtype >= 0) FUZZ_CHECK((size_t)dtype_size(t->dtype) == esize, "dtype size of %s", t->dtype_str);
        volatile char sink = 0;
        for (size_t k = 0; k < t->nbytes; k++) sink += d[k]; // every byte readable
        (void)sink;
        FUZZ_CHECK(safetensors_find(&st, t->name) == t, "find(%s) does not return it", t->name);
        total += t->nbytes;
    }
    FUZZ_CHECK(safetensors_find(&st, "no such tensor \x01") == NULL, "found a tensor that is not there");
    uint64_t n;
    memcpy(&n, data, 8);
    FUZZ_CHECK(8 + n + total == size, "tensors cover %zu of %zu data bytes", total, (size_t)(size - 8 - n));
    safetensors_close(&st);
    return 0;
}
