// formats/gguf.h — GGUF, llama.cpp's model file (version 3, little-endian), read in place
// from an mmap; and a Llama in it opened as our Model.
//
// File: "GGUF", u32 version, u64 tensor count, u64 metadata count; the metadata as
// (string key, u32 type, value); per tensor (string name, u32 n_dims, u64 ne[n_dims], u32
// ggml type, u64 offset); padding to general.alignment (default 32); the tensor data, each
// tensor at data start + offset. A string is u64 length + bytes (no NUL); an array is u32 type,
// u64 count, the values. ne[0] is the row length: a PyTorch (out, in) matrix is ne = {in, out}.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "model/model.h"

enum { GGUF_U8 = 0, GGUF_I8, GGUF_U16, GGUF_I16, GGUF_U32, GGUF_I32, GGUF_F32, GGUF_BOOL, GGUF_STRING,
       GGUF_ARRAY, GGUF_U64, GGUF_I64, GGUF_F64, GGUF_NTYPES };
// ggml tensor types this reader maps (others are listed, by name, in the error)
enum { GGML_F32 = 0, GGML_F16 = 1, GGML_Q4_0 = 2, GGML_Q8_0 = 8, GGML_Q4_K = 12, GGML_Q5_K = 13, GGML_Q6_K = 14,
       GGML_BF16 = 30 };

typedef struct { const char *s; uint64_t len; } GgufStr; // points into the mmap, not NUL-ended

typedef struct {
    GgufStr key;
    uint32_t type;
    union { uint64_t u; int64_t i; double f; } num; // integer, bool and float scalars
    GgufStr str;                                    // GGUF_STRING
    uint32_t arr_type;                              // GGUF_ARRAY: element type, count, and
    uint64_t arr_n;                                 // the elements (scalars: raw bytes in the
    const uint8_t *arr;                             // mmap; strings: arr_str)
    GgufStr *arr_str;
} GgufKV;

typedef struct {
    GgufStr name;
    uint32_t n_dims, type;
    uint64_t ne[4];
    uint64_t offset;
    const void *data;   // NULL for a type this reader cannot size
    size_t bytes;
} GgufTensor;

typedef struct {
    void *map;
    size_t size;
    uint32_t version, alignment;
    uint64_t n_kv, n_tensors;
    GgufKV *kv;
    GgufTensor *tensors;
} GgufFile;

// Maps and parses path: every count, length and tensor extent checked against the file.
// Returns 0, or -1 with a one-line reason in err (nothing leaks).
int gguf_open(GgufFile *g, const char *path, char *err, size_t errlen);
void gguf_close(GgufFile *g);
const GgufKV *gguf_find(const GgufFile *g, const char *key);
const GgufTensor *gguf_tensor(const GgufFile *g, const char *name);
int gguf_str_eq(GgufStr s, const char *c);
// ggml's name for a tensor type ("q4_K"), or NULL when unknown
const char *ggml_type_name(uint32_t type);

#define GGUF_MAX_EOS 4
typedef struct {
    GgufFile f;
    Model *model;
    void *copies;            // Q/K matrices with rows un-permuted, f32 norm weights
    int bos_id;              // -1: none (tokenizer.ggml.add_bos_token false, or no id)
    int eos_ids[GGUF_MAX_EOS];
    int n_eos;
    int context_length;      // llama.context_length
    int tokenizer_fd;        // memfd holding the tokenizer in our format, -1: none
    char tokenizer_path[64]; // "/proc/self/fd/N"
    char tokenizer_pattern[16]; // tiktoken pattern name for a gpt2 tokenizer, "" otherwise
} GgufModel;

// Opens a llama-architecture GGUF as a Model for inference: matrices mmapped in their own type
// (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K) except attn_q / attn_k, whose rows are copied
// back from GGUF's interleaved-pair RoPE order into ours (rotate-half); RoPE frequencies divided by
// rope_freqs.weight when present (Llama 3 scaling). ctx: the RoPE table / KV cache length
// (at most the file's context_length); 0: the file's, at most default_ctx.
// The tokenizer (tokenizer.ggml.model "llama": SentencePiece pieces with scores; "gpt2":
// byte-level BPE) is written, in our tokenizers' format, to a memory file at tokenizer_path.
// Returns 0, or -1 with a one-line reason in err.
int gguf_load_model(GgufModel *gm, const char *path, int ctx, int default_ctx, char *err, size_t errlen);
void gguf_free_model(GgufModel *gm);
