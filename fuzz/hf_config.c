// fuzz/hf_config.c — a Hugging Face model directory: config.json (+ generation_config.json) and
// model.safetensors (formats/hf_loader.c: hf_read_config, hf_load).
//
// Input: config.json, generation_config.json and model.safetensors, separated by FUZZ_SEP
// (fuzz/fuzz.h); an empty generation_config part means the file is absent. The model loads
// both ways: mmapped for inference and widened into f32 parameters for training.
// Promise: a one-line error, or a model whose every weight is readable and that runs a forward.
//
// Bound: a config that asks for more than 64 MB of buffers (model_create allocates the f32
// parameters, or a scratch row block of the widest matrix, before looking at the tensors) is
// only read, not loaded: the file is a few KB, so its tensors could never match that config,
// and a fuzzer process must not spend gigabytes on an allocation that is freed right after.
#include "fuzz/fuzz.h"
#include "fuzz/fuzz_model.h"
#include "formats/hf_loader.h"
#include "model/ops.h"

#define CTX 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *parts[3];
    size_t lens[3];
    fuzz_split(data, size, parts, lens, 3);
    fuzz_write("config.json", parts[0], lens[0]);
    if (lens[1]) fuzz_write("generation_config.json", parts[1], lens[1]);
    else fuzz_remove("generation_config.json");
    if (parts[2]) fuzz_write("model.safetensors", parts[2], lens[2]);
    else fuzz_remove("model.safetensors");
    const char *dir = fuzz_dir();

    Config c;
    HfModel h;
    char err[1024] = "";
    memset(&h, 0, sizeof h);
    if (hf_read_config(&c, &h, dir, 0, err, sizeof err) != 0) { fuzz_check_message(err); return 0; }
    for (int k = 0; k < h.n_eos; k++) FUZZ_CHECK(h.eos_ids[k] >= 0 && h.eos_ids[k] < c.vocab_size, "eos id");
    FUZZ_CHECK(h.bos_id >= -1 && h.bos_id < c.vocab_size, "bos id %d", h.bos_id);

    int ctx = h.max_position_embeddings < CTX ? h.max_position_embeddings : CTX;
    size_t sizes[NUM_PARAM_TENSORS], nparams = 0;
    c.max_seq_len = ctx;
    fill_in_parameter_sizes(sizes, &c);
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) nparams += sizes[i];
    size_t maxK = (size_t)c.dim > (size_t)c.hidden_dim ? (size_t)c.dim : (size_t)c.hidden_dim;
    if ((size_t)c.n_heads * c.head_dim > maxK) maxK = (size_t)c.n_heads * c.head_dim;
    size_t bytes = 4 * (matmul_scratch_floats((int)maxK) + nparams + (size_t)ctx * c.head_dim) +
                   (size_t)c.n_layers * sizeof(LayerWeights);
    if (bytes > (64u << 20) || (size_t)c.dim * c.vocab_size > (16u << 20)) return 0;

    for (int f32 = 0; f32 <= 1; f32++) {
        err[0] = '\0';
        if (hf_load(&h, dir, f32, ctx, err, sizeof err) != 0) { fuzz_check_message(err); continue; }
        FUZZ_CHECK(h.model->config.max_seq_len == ctx, "context %d, asked %d", h.model->config.max_seq_len, ctx);
        fuzz_check_model(h.model);
        hf_free(&h);
    }
    return 0;
}
