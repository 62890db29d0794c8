// formats/lora_checkpoint.h — what bin/train --lora saves: the adapters only, and which base
// they belong to (its path and the sha256 of its files), so a checkpoint of a 1B model's
// adapters is megabytes, not gigabytes. bin/infer, bin/export and bin/train --resume load the
// base from the recorded path and refuse it when its files changed (infer/load.h).
//
// File layout (little-endian), model_<step>.bin beside the state file as for full training:
//   char[8]  magic "SLLORA\0\0"
//   u32      version (1)
//   u32      header_bytes: where the parameters start (padded to 64)
//   i32      rank R;  u32 targets (bit t: lora_target_names[t]);  f32 alpha
//   i32 x 7  the base's dim, n_layers, n_heads, n_kv_heads, head_dim, hidden_dim, vocab_size
//   u64      step, num_parameters, checksum64 of the parameter bytes
//   str x 2  the base's absolute path, the sha256 of its files (lora_base_sha256)
//   str x 3  tokenizer path, its sha256, its split pattern (as in formats/checkpoint.h)
//   u64      checksum64 of the header bytes before it; zero padding to header_bytes
//   f32 x num_parameters: the adapters in model/lora.h's buffer order (per layer, per adapted
//            target: A (R, in), then B (out, R))
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "model/lora.h"

#define LORA_CKPT_MAGIC "SLLORA\0"   // 7 chars + NUL = 8 bytes
#define LORA_CKPT_VERSION 1
#define LORA_PATH_MAX 4096

typedef struct {
    int rank;
    float alpha;
    unsigned targets;
    Config shape;                 // the base's sizes (the fields listed above; others 0)
    uint64_t step;
    size_t num_parameters, header_bytes;
    uint64_t checksum;
    char base_path[LORA_PATH_MAX];
    char base_sha256[65];
    char tokenizer_path[LORA_PATH_MAX];
    char tokenizer_sha256[65];    // "" when none
    char tokenizer_pattern[16];
} LoraInfo;

// Writes the adapters of l (trained on a base of config base_cfg) atomically. tokenizer_path may
// be NULL; when it names a file its sha256 is recorded.
int lora_checkpoint_save(const Lora *l, const Config *base_cfg, const char *path, const char *base_path,
                         const char *base_sha256, const char *tokenizer_path, const char *tokenizer_pattern,
                         uint64_t step, char *err, size_t errlen);
// Reads the header and the adapters (not the base). NULL with a one-line reason in err.
Lora *lora_checkpoint_load(const char *path, LoraInfo *info, char *err, size_t errlen);
// Whether the file starts with LORA_CKPT_MAGIC.
int lora_checkpoint_is(const char *path);

// The identity of a base model: the sha256 of its files as one stream. A folder (Hugging Face):
// config.json, model.safetensors.index.json and every *.safetensors in it, in byte order of
// their names; any other path: the file. 0, or -1 with a reason in err.
int lora_base_sha256(const char *path, char hex[65], char *err, size_t errlen);
