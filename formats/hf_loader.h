// formats/hf_loader.h — load a Hugging Face Llama directory (what users download for Llama 3.x,
// Llama 2, TinyLlama, SmolLM) into our Model.
//
//   dir/config.json                     LlamaConfig: sizes, RoPE, tied embeddings, bos/eos
//   dir/model.safetensors               the weights, or sharded:
//   dir/model.safetensors.index.json    {"weight_map": {tensor name: shard file}}
//   dir/model-0000K-of-0000N.safetensors
//
// Inference (want_f32_params = 0) keeps the matrices where they are: each Mat of m->w points
// straight into the mmapped safetensors files in their own dtype (F32, BF16 or F16), so a bf16
// model costs its file size in memory, not twice that. Only the RMSNorm weights are widened to
// a small f32 buffer. Training from HF weights (`bin/train --init`, want_f32_params = 1)
// converts everything into the model's f32 parameter buffer and closes the files.
//
// HF Llama applies RoPE in the "rotate-half" order (dimension i pairs with i + HD/2), which
// is the model's own convention, so q_proj / k_proj rows are used as they are.
#pragma once
#include <stddef.h>
#include "model/model.h"
#include "formats/safetensors.h"

#define HF_MAX_EOS 8

typedef struct {
    Model *model;
    int bos_id;              // -1 when config.json names none
    int eos_ids[HF_MAX_EOS]; // config.json's and generation_config.json's eos_token_id(s)
    int n_eos;
    int max_position_embeddings;
    // what model->w points into (inference): the mmapped shards, and f32 copies (norm weights,
    // tensors whose bytes sit misaligned in the file)
    SafeTensors *shards;
    int n_shards;
    float *norms;
    void **copies;           // stb_ds array of malloc'd buffers
} HfModel;

// Reads dir/config.json (and generation_config.json when present) into c and h's token ids.
// max_seq_len caps c->max_seq_len (the RoPE table / KV cache length); 0 means the config's
// max_position_embeddings. Returns 0, or -1 with a one-line reason in err.
int hf_read_config(Config *c, HfModel *h, const char *dir, int max_seq_len, char *err, size_t errlen);

// Loads the model in dir. Returns 0, or -1 with a one-line reason in err (nothing leaks).
int hf_load(HfModel *h, const char *dir, int want_f32_params, int max_seq_len, char *err, size_t errlen);
void hf_free(HfModel *h);
