// data/shards.h — token shards in llm.c's format, so shards written by llm.c's own scripts
// (dev/data/data_common.py: write_datafile) load here and ours load there.
//
// Layout (little-endian): a header of 256 int32, then the tokens.
//   header[0] magic    20240520 (GPT-2 style)   or 20240801 (Llama 3 style)
//   header[1] version  1                        or 7
//   header[2] number of tokens that follow
//   tokens             uint16 each              or uint32 each
// We write the uint16 form for vocabularies of up to 65,535 entries and the uint32 form for
// larger ones, as llm.c does for Llama 3's 128,256-token vocabulary.
#pragma once
#include <stddef.h>
#include <stdint.h>

#define SHARD_HEADER_INTS 256
#define SHARD_MAGIC_U16 20240520
#define SHARD_VERSION_U16 1
#define SHARD_MAGIC_U32 20240801
#define SHARD_VERSION_U32 7

typedef struct {
    const void *tokens;   // into the mmap: uint16_t or uint32_t elements
    int width;            // 2 or 4 bytes per token
    size_t num_tokens;
    void *map;            // the whole mapped file
    size_t map_size;
} Shard;

// Writes tokens[0..n) atomically (temp file + rename). Every id must be in [0, vocab_size).
// 0 on success; -1 with a one-line reason in err.
int shard_write(const char *path, const int *tokens, size_t n, int vocab_size, char *err, size_t errlen);
// Maps a shard and validates it: magic/version pair, token count > 0, and file size ==
// 1024 + count * width. 0 on success; -1 with a one-line reason in err.
int shard_open(Shard *s, const char *path, char *err, size_t errlen);
void shard_close(Shard *s);
// Token i as int (i < num_tokens).
static inline int shard_token(const Shard *s, size_t i) {
    return s->width == 2 ? (int)((const uint16_t *)s->tokens)[i] : (int)((const uint32_t *)s->tokens)[i];
}
// The largest id in the shard (to check it against the model's vocabulary before training).
int shard_max_token(const Shard *s);
