// fuzz/checkpoint.c — our model checkpoints, model_<N>.bin (formats/checkpoint.c).
//
// Input: the checkpoint file.
// Promise: checkpoint_read_info and checkpoint_load_info agree (both fail with a one-line error,
// or both succeed with the same header), and a loaded model's weights are readable and run a
// forward. (The parameter checksum stops most mutations; the seed corpus has valid files, so
// the fuzzer also explores every header field of files that reach the checksum.)
#include "fuzz/fuzz.h"
#include "fuzz/fuzz_model.h"
#include "formats/checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write("model_00000001.bin", data, size);
    static CheckpointInfo a, b; // 4 KB of path each: keep them off the stack
    char err[1024] = "", err2[1024] = "";
    int rc = checkpoint_read_info(path, &a, err, sizeof err);
    if (rc != 0) fuzz_check_message(err);
    Model *m = checkpoint_load_info(path, &b, err2, sizeof err2);
    if (!m) {
        fuzz_check_message(err2);
        return 0;
    }
    FUZZ_CHECK(rc == 0, "load succeeded where read_info failed: %s", err);
    FUZZ_CHECK(a.num_parameters == b.num_parameters && a.step == b.step && a.header_bytes == b.header_bytes &&
               strcmp(a.tokenizer_path, b.tokenizer_path) == 0, "read_info and load_info disagree");
    FUZZ_CHECK(m->num_parameters == b.num_parameters, "model has %zu parameters, header %zu", m->num_parameters,
               b.num_parameters);
    FUZZ_CHECK(strlen(b.tokenizer_sha256) < sizeof b.tokenizer_sha256 &&
               strlen(b.tokenizer_pattern) < sizeof b.tokenizer_pattern, "header strings");
    // forward at most a short context (the RoPE table is already built for max_seq_len)
    fuzz_check_model(m);
    model_free(m);
    return 0;
}
