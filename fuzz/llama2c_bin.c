// fuzz/llama2c_bin.c — llama2.c checkpoints, legacy and "ak42" v1 (formats/llama2c_loader.c).
//
// Input: the .bin file. It loads with the context bin/infer would use (the file's seq_len)
// when that is at most 64, else 64 (the RoPE tables are seq_len x head_dim/2: a fuzzer process
// should not build a 16-million-position table for every input).
// Promise: a one-line error, or a model whose every weight is readable and that runs a forward.
#include "fuzz/fuzz.h"
#include "fuzz/fuzz_model.h"
#include "formats/llama2c_loader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write("model.bin", data, size);
    int32_t seq_len = 0;
    if (size >= 36) {
        uint32_t magic;
        memcpy(&magic, data, 4);
        memcpy(&seq_len, data + (magic == LLAMA2C_MAGIC ? 32 : 24), 4);
    }
    int ctx = seq_len > 0 && seq_len <= 64 ? 0 : 64;
    char err[1024] = "";
    Model *m = llama2c_load(path, ctx, err, sizeof err);
    if (!m) { fuzz_check_message(err); return 0; }
    FUZZ_CHECK(m->config.max_seq_len >= 1 && m->config.max_seq_len <= 64, "context %d", m->config.max_seq_len);
    fuzz_check_model(m);
    model_free(m);
    return 0;
}
