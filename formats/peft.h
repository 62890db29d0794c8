// formats/peft.h — LoRA adapters in Hugging Face peft's folder layout, which
// PeftModel.from_pretrained(base_model, dir) loads:
//
//   dir/adapter_config.json        {"peft_type": "LORA", "r": R, "lora_alpha": alpha,
//                                   "target_modules": ["q_proj", "v_proj"], "base_model_name_or_path": ...,
//                                   "task_type": "CAUSAL_LM", "bias": "none", "use_rslora": false, ...}
//   dir/adapter_model.safetensors  base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight (R, in),
//                                  ....lora_B.weight (out, R), for every layer and target module
//
// peft computes the adapted layer as base(x) + lora_B(lora_A(x)) * (lora_alpha / r), which is
// model/lora.h's, so the tensors are ours as they are.
#pragma once
#include <stddef.h>
#include "model/lora.h"

// Writes the two files (f32 tensors) into dir, which must exist. base_name goes into
// base_model_name_or_path. 0, or -1 with a one-line reason in err.
int peft_write(const Lora *l, const char *base_name, const char *dir, char *err, size_t errlen);

// Reads a peft LoRA folder for a model of config c: r, lora_alpha and target_modules from
// adapter_config.json, every tensor from adapter_model.safetensors (f32, bf16 or f16, widened).
// Refuses what model/lora.h does not compute: another peft_type, use_rslora, use_dora, biases,
// fan_in_fan_out, rank_pattern / alpha_pattern, layers_to_transform, modules_to_save, a target
// that is not one of Llama's seven projections; and tensors missing, extra or of the wrong
// shape. The base name it names goes to base_name (cap bytes). NULL with a reason in err.
Lora *peft_read(const char *dir, const Config *c, char *base_name, size_t cap, char *err, size_t errlen);
