// formats/gguf_writer.h — write a Model as a llama-architecture GGUF v3 file the way llama.cpp's
// convert_hf_to_gguf.py lays one out, so llama.cpp (and formats/gguf.h) load it.
//
//   metadata   general.architecture "llama", llama.* sizes / RoPE / epsilon, general.file_type,
//              and the tokenizer: tokenizer.ggml.model "gpt2" (byte-level BPE: the tokens as
//              GPT-2 byte stand-ins, token types, merges, pre "llama-bpe" or "gpt-2") or
//              "llama" (SentencePiece pieces with "▁" and their scores, byte pieces typed BYTE)
//   tensors    token_embd, blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm,
//              ffn_gate, ffn_up, ffn_down}, output_norm, output (untied only), and
//              rope_freqs.weight (f32 [head_dim/2], the divisor of each RoPE frequency) when
//              the model uses Llama 3 frequency scaling
//
// attn_q / attn_k rows go to GGUF's interleaved-pair RoPE order: GGUF row h*HD + 2i + s is our
// (rotate-half) row h*HD + s*HD/2 + i, the inverse of what gguf_load_model undoes. Norm
// vectors stay f32, as convert_hf_to_gguf.py keeps every 1-D tensor.
#pragma once
#include <stddef.h>
#include "data/sp_tokenizer.h"
#include "data/tiktoken.h"
#include "model/model.h"

typedef struct {
    int bos_id;               // -1: none (tokenizer.ggml.add_bos_token false)
    const int *eos_ids;       // the first is tokenizer.ggml.eos_token_id
    int n_eos;
    int context_length;       // llama.context_length
    const char *name;         // general.name
    const Tiktoken *tt;       // at most one of tt, sp: the tokenizer (none: no tokenizer metadata)
    const SpTokenizer *sp;
    const float *rope_divisors; // head_dim/2 divisors for rope_freqs.weight (a GGUF source's own);
                                // NULL: from the config's Llama 3 scaling, when it has one
} GgufWriteInfo;

// type: DTYPE_F32, F16 or BF16 converts every matrix to it; DTYPE_Q8_0 or Q4_0 writes each
// matrix in the dtype the Model holds it in (quantize it first with model_quantize, so the
// file holds exactly what bin/infer --quant computes with); a K-quant type is refused.
// general.file_type follows type.
// Written atomically. Returns 0, or -1 with a one-line reason in err.
int gguf_write(const Model *m, const GgufWriteInfo *info, const char *path, DType type, char *err, size_t errlen);
