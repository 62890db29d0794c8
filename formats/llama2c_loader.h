// formats/llama2c_loader.h — load llama2.c checkpoints (stories15M.bin and friends) into our Model.
//
// Two layouts, both float32 little-endian (karpathy/llama2.c export.py):
//   legacy (v0): 7 int32 {dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len}
//     (vocab_size < 0 means an unshared classifier follows), then
//     tok_emb, rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3, rms_final,
//     freq_cis_real (seq_len, HD/2), freq_cis_imag (seq_len, HD/2)  <- skipped, we compute RoPE
//     [, wcls (V, C)]
//   v1: u32 magic 0x616b3432 ("ak42"), i32 version 1, the same 7 int32, u8 shared_classifier,
//     zero padding to 256 bytes, then rms_att, rms_ffn, rms_final, tok_emb, wq, wk, wv, wo,
//     w1, w2, w3 [, wcls].
// Per-layer tensors are stacked (L, out, in) like our parameter buffer.
//
// RoPE: llama2.c (like Meta's reference code) rotates interleaved pairs (2i, 2i+1) of each head;
// our model rotates (i, i + HD/2). Permuting the rows of wq and wk within each head,
//     new row j = old row 2j,  new row j + HD/2 = old row 2j + 1   (j < HD/2),
// turns one into the other: q and k come out in rotate-half order, and attention scores q.k
// are unchanged because both are permuted alike. The same permutation HF's
// convert_llama_weights_to_hf.py applies to Meta checkpoints.
#pragma once
#include <stddef.h>
#include "model/model.h"

#define LLAMA2C_MAGIC 0x616b3432u

// Loads path into a new Model with f32 parameters (the permutation needs a copy anyway).
// max_seq_len caps the context (0: the file's seq_len; more than seq_len is an error).
// Returns NULL with a one-line reason in err on any malformed input (wrong size included).
Model *llama2c_load(const char *path, int max_seq_len, char *err, size_t errlen);

// The row permutation above, for one stacked (L, n_heads*HD, C) tensor: dst from src.
void llama2c_permute_rope_rows(float *dst, const float *src, int L, int n_heads, int head_dim, int C);
