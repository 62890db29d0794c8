// fuzz/hf_index.c — a sharded Hugging Face checkpoint: model.safetensors.index.json naming the
// shard of each tensor (formats/hf_loader.c: open_shards, find_tensor).
//
// Input: model.safetensors.index.json, then two shards, model-00001-of-00002.safetensors and
// model-00002-of-00002.safetensors, separated by FUZZ_SEP; an optional fourth part replaces the
// fixed tiny config.json below. A missing part means the file is absent.
// Promise: a one-line error, or a model whose every weight is readable and that runs a forward.
#include "fuzz/fuzz.h"
#include "fuzz/fuzz_model.h"
#include "formats/hf_loader.h"

// 1 layer, dim 4, 2 heads of 2, 1 KV head, SwiGLU width 8, 16 tokens, tied: what the seed
// corpus (fuzz/make_corpus.py) writes shards for.
static const char CONFIG[] =
    "{\"hidden_size\": 4, \"intermediate_size\": 8, \"num_hidden_layers\": 1, \"num_attention_heads\": 2,"
    " \"num_key_value_heads\": 1, \"vocab_size\": 16, \"max_position_embeddings\": 8,"
    " \"tie_word_embeddings\": true, \"bos_token_id\": 1, \"eos_token_id\": [2, 3]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *parts[4];
    size_t lens[4];
    int n = fuzz_split(data, size, parts, lens, 4);
    static const char *names[] = {"model.safetensors.index.json", "model-00001-of-00002.safetensors",
                                  "model-00002-of-00002.safetensors"};
    for (int i = 0; i < 3; i++) {
        if (i < n) fuzz_write(names[i], parts[i], lens[i]);
        else fuzz_remove(names[i]);
    }
    if (n == 4) fuzz_write("config.json", parts[3], lens[3]);
    else fuzz_write("config.json", CONFIG, sizeof CONFIG - 1);
    const char *dir = fuzz_dir();
    if (n == 4) { // a fuzzed config: keep the model small (see fuzz/hf_config.c)
        Config c;
        HfModel h;
        char err[1024] = "";
        if (hf_read_config(&c, &h, dir, 0, err, sizeof err) != 0) { fuzz_check_message(err); return 0; }
        if ((size_t)c.dim * c.vocab_size > 4096 || (size_t)c.dim * c.hidden_dim > 4096 || c.n_layers > 4 ||
            (size_t)c.n_heads * c.head_dim > 64)
            return 0;
    }
    HfModel h;
    char err[1024] = "";
    for (int f32 = 0; f32 <= 1; f32++) {
        err[0] = '\0';
        if (hf_load(&h, dir, f32, 2, err, sizeof err) != 0) { fuzz_check_message(err); continue; }
        fuzz_check_model(h.model);
        hf_free(&h);
    }
    return 0;
}
