// fuzz/gguf.c — llama.cpp's GGUF files (formats/gguf.c, formats/gguf_llama.c).
//
// Input: the .gguf file. It loads with a context of at most 16 positions (bin/infer's would
// be the file's context_length, at most 2048).
// Promise: a one-line error, or a model whose every weight is readable and that runs a
// forward, and whose tokenizer (when the file has one) opens and encodes a short text to ids
// inside the vocabulary.
#include "fuzz/fuzz.h"
#include "fuzz/fuzz_model.h"
#include "formats/gguf.h"
#include "infer/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write("model.gguf", data, size);
    char err[1024] = "";
    GgufModel gm;
    if (gguf_load_model(&gm, path, 0, 16, err, sizeof err) != 0) { fuzz_check_message(err); return 0; }
    FUZZ_CHECK(gm.model->config.max_seq_len >= 1 && gm.model->config.max_seq_len <= 16, "context %d",
               gm.model->config.max_seq_len);
    fuzz_check_model(gm.model);
    if (gm.tokenizer_path[0]) {
        Tokenizer t;
        if (tokenizer_open(&t, gm.tokenizer_path, gm.tokenizer_pattern, err, sizeof err) != 0) {
            fuzz_check_message(err);
        } else {
            int n = 0;
            int *ids = tokenizer_encode(&t, "hello world", &n, err, sizeof err);
            for (int i = 0; ids && i < n; i++) FUZZ_CHECK(ids[i] >= 0 && ids[i] < t.vocab_size, "id %d", ids[i]);
            free(ids);
            tokenizer_close(&t);
        }
    }
    gguf_free_model(&gm);
    return 0;
}
