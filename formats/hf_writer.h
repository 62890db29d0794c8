// formats/hf_writer.h — write a Model as a Hugging Face Llama folder that transformers'
// LlamaForCausalLM.from_pretrained loads: config.json (LlamaConfig's keys) and one
// model.safetensors with transformers' tensor names.
//
// The Model keeps q_proj / k_proj rows in HF's rotate-half order already (model/model.h), so
// every matrix is written as it is, converted to the output dtype: f32, or bf16 rounded to
// nearest even (model/dtype.h f32_to_bf16). Quantized matrices are dequantized first.
// Both files are written atomically (util/atomic_file.h).
#pragma once
#include <stddef.h>
#include "model/model.h"

typedef struct {
    int bos_id;              // -1: none
    const int *eos_ids;      // n_eos of them (0: none)
    int n_eos;
    int max_position_embeddings;
} HfWriteInfo;

// dir must exist. dtype: DTYPE_F32 or DTYPE_BF16. Returns 0, or -1 with a one-line reason in err.
int hf_write(const Model *m, const HfWriteInfo *info, const char *dir, DType dtype, char *err, size_t errlen);
// The output dtype named by s ("bf16", "f32"), or -1.
int hf_write_dtype(const char *s);
