// infer/load.h — open whatever bin/infer is pointed at as a Model, plus what generation needs
// to know about it (BOS, EOS ids, where its tokenizer is).
//
//   a directory                   -> Hugging Face Llama (formats/hf_loader.h), bf16/f16/f32 mmapped
//   a file starting "SLMODEL\0"   -> our checkpoint from bin/train (formats/checkpoint.h)
//   a file starting "ak42" magic  -> llama2.c v1 (formats/llama2c_loader.h)
//   a file starting "GGUF"        -> llama.cpp's GGUF, llama architecture (formats/gguf.h)
//   a file starting "SLLORA\0\0"  -> LoRA adapters from bin/train --lora (formats/lora_checkpoint.h):
//                                    the base they name, loaded as above, with them attached
//   any other file                -> llama2.c legacy, checked by its exact size
#pragma once
#include <stddef.h>
#include <stdio.h>
#include "formats/gguf.h"
#include "formats/hf_loader.h"
#include "formats/lora_checkpoint.h"
#include "model/model.h"
#include "infer/tokenizer.h"

typedef enum { FORMAT_HF, FORMAT_LLAMA2C, FORMAT_CHECKPOINT, FORMAT_GGUF } ModelFormat;

#define LOAD_MAX_EOS 8
#define LOAD_DEFAULT_CTX 2048 // when a HF config allows far more (Llama 3.2: 131072)

typedef struct {
    ModelFormat format;
    Model *m;
    HfModel hf;                // FORMAT_HF: owns m and the mmaps
    GgufModel gguf;            // FORMAT_GGUF: the same
    int ctx;                   // the context the RoPE tables cover (KV cache length)
    int bos_id;                // -1: none
    int eos_ids[LOAD_MAX_EOS]; // the model's own stop ids (tokenizer specials are added later)
    int n_eos;
    char tokenizer_path[4096]; // found next to the model or recorded in it; "" if none
    char tokenizer_sha256[65]; // our checkpoints: the hash of the tokenizer it was trained with
    char tokenizer_pattern[16]; // our checkpoints: its tiktoken split pattern ("" = by size)
    // HF folders, from tokenizer_config.json when it has them:
    int add_bos;               // 0 when "add_bos_token": false, else 1
    char bos_token[128], eos_token[128]; // "bos_token", "eos_token" ("" = none given)
    char chat_template[8];     // what its chat_template is: "llama3", "inst" ([INST]), "other", "" = none
    size_t weight_bytes;       // bytes of weights the forward reads
    // a LoRA checkpoint: the format, tokenizer and the rest are its base's; the adapters are
    // attached to m (owned here), and base_path names the base
    struct Lora *lora;
    char base_path[LORA_PATH_MAX];
} LoadedModel;

// ctx: the context wanted (0: the model's own, at most LOAD_DEFAULT_CTX for HF configs and llama2.c files).
// Returns 0, or -1 with a one-line reason in err.
int load_model(LoadedModel *lm, const char *path, int ctx, char *err, size_t errlen);
void unload_model(LoadedModel *lm);
// The base of a LoRA checkpoint (info from lora_checkpoint_load): the sha256 of its files checked
// against the recorded one ("changed since the adapters were trained" otherwise), its shape
// against the adapters', then loaded as load_model loads it. It must not be a LoRA checkpoint
// itself. Returns 0, or -1 with a one-line reason in err.
int load_lora_base(LoadedModel *lm, const LoraInfo *info, int ctx, char *err, size_t errlen);
// Quantize the loaded model's matrices to t, its output head to head_t (-1: as loaded); see
// model_quantize in model/quant.h. Returns 0, or -1 with a one-line reason in err.
int load_quantize(LoadedModel *lm, DType t, int head_t, char *err, size_t errlen);
// The same with AWQ scales (model/awq.h) searched on the text of calib_path: its first max_tokens
// tokens (BOS first when the model has one), run in chunks of LOAD_AWQ_CTX positions (at most
// the model's context), the error measured on LOAD_AWQ_ROWS rows of each input. One summary line
// to log (NULL: none). Leaves the KV cache allocated for the calibration context. Returns 0, or
// -1 with a one-line reason starting "--awq FILE" (unreadable, empty, not UTF-8, under 2 tokens).
#define LOAD_AWQ_CTX 512
#define LOAD_AWQ_ROWS 512
int load_quantize_awq(LoadedModel *lm, DType t, int head_t, Tokenizer *tok, const char *calib_path, int max_tokens,
                      FILE *log, char *err, size_t errlen);

// After the tokenizer is open: BOS from tokenizer_config.json's bos_token when config.json gave
// none, and its eos_token among the stop ids.
void load_resolve_tokens(LoadedModel *lm, Tokenizer *tok);
