// formats/hf_writer.c — see hf_writer.h.
#include "formats/hf_writer.h"
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "formats/safetensors.h"
#include "util/atomic_file.h"
#include "util/errors.h"
#include "util/json_file.h"

int hf_write_dtype(const char *s) {
    if (!strcmp(s, "bf16")) return DTYPE_BF16;
    if (!strcmp(s, "f32")) return DTYPE_F32;
    return -1;
}

// A float as the double its shortest decimal spelling reads as (1e-5f -> 1e-05, not
// 9.99999974737875e-06), so config.json holds the number the user wrote.
static double short_double(float f) {
    char buf[32];
    for (int p = 6; p <= 9; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, f);
        if (strtof(buf, NULL) == f) break;
    }
    return strtod(buf, NULL);
}

static int write_config(const Model *m, const HfWriteInfo *info, const char *dir, DType dtype,
                        char *err, size_t errlen) {
    const Config *c = &m->config;
    cJSON *j = cJSON_CreateObject();
    cJSON *arch = cJSON_AddArrayToObject(j, "architectures");
    cJSON_AddItemToArray(arch, cJSON_CreateString("LlamaForCausalLM"));
    cJSON_AddStringToObject(j, "model_type", "llama");
    cJSON_AddBoolToObject(j, "attention_bias", 0);
    cJSON_AddNumberToObject(j, "attention_dropout", 0.0);
    if (info->bos_id >= 0) cJSON_AddNumberToObject(j, "bos_token_id", info->bos_id);
    else cJSON_AddNullToObject(j, "bos_token_id");
    if (info->n_eos == 1) cJSON_AddNumberToObject(j, "eos_token_id", info->eos_ids[0]);
    else if (info->n_eos > 1) cJSON_AddItemToObject(j, "eos_token_id", cJSON_CreateIntArray(info->eos_ids, info->n_eos));
    else cJSON_AddNullToObject(j, "eos_token_id");
    cJSON_AddNumberToObject(j, "head_dim", c->head_dim);
    cJSON_AddStringToObject(j, "hidden_act", "silu");
    cJSON_AddNumberToObject(j, "hidden_size", c->dim);
    cJSON_AddNumberToObject(j, "initializer_range", 0.02);
    cJSON_AddNumberToObject(j, "intermediate_size", c->hidden_dim);
    cJSON_AddNumberToObject(j, "max_position_embeddings", info->max_position_embeddings);
    cJSON_AddBoolToObject(j, "mlp_bias", 0);
    cJSON_AddNumberToObject(j, "num_attention_heads", c->n_heads);
    cJSON_AddNumberToObject(j, "num_hidden_layers", c->n_layers);
    cJSON_AddNumberToObject(j, "num_key_value_heads", c->n_kv_heads);
    cJSON_AddNumberToObject(j, "pretraining_tp", 1);
    cJSON_AddNumberToObject(j, "rms_norm_eps", short_double(c->norm_eps));
    if (c->rope_factor != 0) {
        cJSON *rs = cJSON_AddObjectToObject(j, "rope_scaling");
        cJSON_AddNumberToObject(rs, "factor", short_double(c->rope_factor));
        cJSON_AddNumberToObject(rs, "high_freq_factor", short_double(c->rope_high_freq_factor));
        cJSON_AddNumberToObject(rs, "low_freq_factor", short_double(c->rope_low_freq_factor));
        cJSON_AddNumberToObject(rs, "original_max_position_embeddings", c->rope_original_max_pos);
        cJSON_AddStringToObject(rs, "rope_type", "llama3");
    } else cJSON_AddNullToObject(j, "rope_scaling");
    cJSON_AddNumberToObject(j, "rope_theta", short_double(c->rope_theta));
    cJSON_AddBoolToObject(j, "tie_word_embeddings", c->tied_embeddings);
    cJSON_AddStringToObject(j, "torch_dtype", dtype == DTYPE_BF16 ? "bfloat16" : "float32");
    cJSON_AddBoolToObject(j, "use_cache", 1);
    cJSON_AddNumberToObject(j, "vocab_size", c->vocab_size);
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    int rc = write_json_file(path, j, err, errlen);
    cJSON_Delete(j);
    return rc;
}

static void add(SafeTensorOut *ts, int *n, const char *name, Mat mat, size_t rows, int cols) {
    SafeTensorOut *t = &ts[(*n)++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->mat = mat;
    t->rows = rows;
    t->cols = cols;
}

int hf_write(const Model *m, const HfWriteInfo *info, const char *dir, DType dtype, char *err, size_t errlen) {
    if (dtype != DTYPE_F32 && dtype != DTYPE_BF16) return fail(err, errlen, "hf: dtype %s cannot be written (bf16 or f32)", dtype_name(dtype));
    const Config *c = &m->config;
    const Weights *w = &m->w;
    size_t C = c->dim, H = c->hidden_dim, QD = (size_t)c->n_heads * c->head_dim;
    size_t KVD = (size_t)c->n_kv_heads * c->head_dim, V = c->vocab_size;
    int L = c->n_layers, n = 0;
    SafeTensorOut *ts = calloc((size_t)9 * L + 3, sizeof *ts);
    if (!ts) return fail(err, errlen, "out of memory");
    char nm[80];
    add(ts, &n, "model.embed_tokens.weight", w->tok_emb, V, C);
    for (int l = 0; l < L; l++) {
        const LayerWeights *lw = &w->layers[l];
        Mat att = {lw->rms_att, DTYPE_F32}, ffn = {lw->rms_ffn, DTYPE_F32};
#define LAYER(suffix, mat, r, k) snprintf(nm, sizeof nm, "model.layers.%d.%s", l, suffix), add(ts, &n, nm, mat, r, k)
        LAYER("input_layernorm.weight", att, 0, C);
        LAYER("self_attn.q_proj.weight", lw->wq, QD, C);
        LAYER("self_attn.k_proj.weight", lw->wk, KVD, C);
        LAYER("self_attn.v_proj.weight", lw->wv, KVD, C);
        LAYER("self_attn.o_proj.weight", lw->wo, C, QD);
        LAYER("post_attention_layernorm.weight", ffn, 0, C);
        LAYER("mlp.gate_proj.weight", lw->w1, H, C);
        LAYER("mlp.up_proj.weight", lw->w3, H, C);
        LAYER("mlp.down_proj.weight", lw->w2, C, H);
#undef LAYER
    }
    Mat fin = {w->rms_final, DTYPE_F32};
    add(ts, &n, "model.norm.weight", fin, 0, C);
    if (!c->tied_embeddings) add(ts, &n, "lm_head.weight", w->lm_head, V, C);

    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    int rc = safetensors_write(path, ts, n, dtype, err, errlen);
    free(ts);
    if (rc) return -1;
    return write_config(m, info, dir, dtype, err, errlen);
}
