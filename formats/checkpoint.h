// formats/checkpoint.h — our model checkpoint: a small header, then every parameter as float32.
//
// File layout (little-endian):
//   char[8]  magic "SLMODEL\0"
//   u32      version (1)
//   u32      header_bytes: where the parameters start (the header below, padded to 64)
//   i32 x 10 dim, n_layers, n_heads, n_kv_heads, head_dim, hidden_dim, vocab_size, max_seq_len,
//            tied_embeddings, rope_original_max_pos
//   f32 x 6  norm_eps, rope_theta, rope_factor, rope_low_freq_factor, rope_high_freq_factor, dropout
//   u64      step (training steps done when saved)
//   u64      num_parameters
//   u64      checksum of the parameter bytes (checksum64 in util/serial.h)
//   str      tokenizer path as given to bin/train (u32 length + bytes; may be empty)
//   str      its sha256 in hex (empty when there is no tokenizer file)
//   str      its split pattern name for tiktoken_load: gpt2, cl100k, llama3 (may be empty)
//   u64      checksum64 of all the header bytes before this field (0 in older files: unchecked)
//   ...      zero padding up to header_bytes
//   f32 x num_parameters, in the order of fill_in_parameter_sizes (model/model.h)
//
// A file that is truncated, foreign, of another version, or whose parameters do not match the
// checksum is refused with a one-line reason in err.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "model/model.h"

#define CHECKPOINT_MAGIC "SLMODEL"   // 7 chars + NUL = 8 bytes
#define CHECKPOINT_VERSION 1
#define CHECKPOINT_PATH_MAX 4096

typedef struct {
    Config config;
    uint64_t step;
    size_t num_parameters;
    uint64_t checksum;
    size_t header_bytes;
    char tokenizer_path[CHECKPOINT_PATH_MAX];
    char tokenizer_sha256[65];      // "" when unknown
    char tokenizer_pattern[16];     // "gpt2", "cl100k", "llama3"; "" when unknown
} CheckpointInfo;

// Writes m's parameters atomically (temp file, fsync, rename, fsync dir: see util/atomic_file.h),
// with the tokenizer (tokenizer_path may be NULL; when it names a readable file its sha256 is
// recorded), its split pattern (NULL: none) and the training step.
int checkpoint_save_step(const Model *m, const char *path, const char *tokenizer_path,
                         const char *tokenizer_pattern, uint64_t step, char *err, size_t errlen);
// Reads and validates the header only (cheap: to find the tokenizer before loading).
int checkpoint_read_info(const char *path, CheckpointInfo *info, char *err, size_t errlen);
// Loads a model (f32 parameters, weights pointed) or returns NULL with the reason in err.
Model *checkpoint_load(const char *path, char *err, size_t errlen);
// The same, also returning the header (tokenizer path and hash, step) when info != NULL.
Model *checkpoint_load_info(const char *path, CheckpointInfo *info, char *err, size_t errlen);
