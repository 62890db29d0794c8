// infer/load.c — see load.h.
#include "infer/load.h"
#include "util/errors.h"
#include "util/files.h"
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "data/sp_tokenizer.h"
#include "formats/checkpoint.h"
#include "formats/llama2c_loader.h"
#include "model/awq.h"
#include "model/lora.h"
#include "model/quant.h"
#include "infer/perplexity.h"
#include <cjson/cJSON.h>
#include "util/json_file.h"

static int is_file(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

// Bytes of weights one decode step streams: every layer matrix and the output head (the
// embedding is read one row per token, so it does not count).
static size_t weight_bytes(const Model *m) {
    const Config *c = &m->config;
    size_t C = c->dim, H = c->hidden_dim, QD = (size_t)c->n_heads * c->head_dim;
    size_t KVD = (size_t)c->n_kv_heads * c->head_dim, total = 0;
    for (int l = 0; l < c->n_layers; l++) {
        const LayerWeights *w = &m->w.layers[l];
        total += dtype_bytes(w->wq.dtype, QD * C) + dtype_bytes(w->wk.dtype, KVD * C) +
                 dtype_bytes(w->wv.dtype, KVD * C) + dtype_bytes(w->wo.dtype, C * QD) +
                 dtype_bytes(w->w1.dtype, H * C) + dtype_bytes(w->w3.dtype, H * C) +
                 dtype_bytes(w->w2.dtype, C * H);
    }
    return total + dtype_bytes(m->w.lm_head.dtype, (size_t)c->vocab_size * C);
}

// A special token in tokenizer_config.json: a string, or {"content": string, ...}.
static void token_name(const cJSON *o, const char *key, char *out, size_t cap) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsObject(v)) v = cJSON_GetObjectItemCaseSensitive(v, "content");
    if (cJSON_IsString(v) && strlen(v->valuestring) < cap) snprintf(out, cap, "%s", v->valuestring);
}

// tokenizer_config.json next to a HF model, when there is one: add_bos_token, bos_token,
// eos_token, and what kind of chat_template it has (a string, or a list of {name, template}).
static int read_tokenizer_config(LoadedModel *lm, const char *dir, char *err, size_t errlen) {
    char p[4096];
    snprintf(p, sizeof p, "%s/tokenizer_config.json", dir);
    if (!is_file(p)) return 0;
    cJSON *o = read_json_object(p, err, errlen);
    if (!o) return -1;
    if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(o, "add_bos_token"))) lm->add_bos = 0;
    token_name(o, "bos_token", lm->bos_token, sizeof lm->bos_token);
    token_name(o, "eos_token", lm->eos_token, sizeof lm->eos_token);
    const cJSON *ct = cJSON_GetObjectItemCaseSensitive(o, "chat_template"), *x;
    if (cJSON_IsArray(ct))
        cJSON_ArrayForEach(x, ct) {
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(x, "name");
            if (cJSON_IsString(name) && strcmp(name->valuestring, "default") == 0)
                ct = cJSON_GetObjectItemCaseSensitive(x, "template");
        }
    if (cJSON_IsString(ct))
        snprintf(lm->chat_template, sizeof lm->chat_template, "%s",
                 strstr(ct->valuestring, "<|start_header_id|>") ? "llama3" : strstr(ct->valuestring, "[INST]") ? "inst" : "other");
    cJSON_Delete(o);
    return 0;
}

void load_resolve_tokens(LoadedModel *lm, Tokenizer *tok) {
    if (lm->bos_id < 0 && lm->bos_token[0]) lm->bos_id = tokenizer_special(tok, lm->bos_token);
    int eos = lm->eos_token[0] ? tokenizer_special(tok, lm->eos_token) : -1, have = 0;
    for (int k = 0; k < lm->n_eos; k++) have |= lm->eos_ids[k] == eos;
    if (eos >= 0 && !have && lm->n_eos < LOAD_MAX_EOS) lm->eos_ids[lm->n_eos++] = eos;
}

// The first element of the n in m that is NaN or ±Inf (its exponent bits all set), or -1.
static long first_nonfinite(Mat m, size_t n) {
    // quantized blocks (Q8_0, Q4_0) are not checked here: their layout is not one float per element
    if (m.dtype != DTYPE_F32 && m.dtype != DTYPE_BF16 && m.dtype != DTYPE_F16) return -1;
    long first = LONG_MAX;
    size_t es = dtype_size(m.dtype);
    uint32_t mask = m.dtype == DTYPE_F32 ? 0x7f800000u : m.dtype == DTYPE_BF16 ? 0x7f80u : 0x7c00u;
    const unsigned char *p = m.data;
    #pragma omp parallel for reduction(min:first)
    for (long i = 0; i < (long)n; i++) {
        uint32_t u = 0;
        if (es == 4) memcpy(&u, p + 4 * (size_t)i, 4);
        else { uint16_t h; memcpy(&h, p + 2 * (size_t)i, 2); u = h; }   // (mmapped bf16 may be unaligned)
        if ((u & mask) == mask && i < first) first = i;
    }
    return first == LONG_MAX ? -1 : first;
}

// One pass over every weight at load: a NaN or Inf in any of them turns every logit into NaN
// (greedy decoding then prints token 0 forever). Names are the Hugging Face ones.
static int check_finite(const Model *m, char *err, size_t errlen) {
    const Config *c = &m->config;
    size_t C = c->dim, H = c->hidden_dim, V = c->vocab_size;
    size_t QD = (size_t)c->n_heads * c->head_dim, KVD = (size_t)c->n_kv_heads * c->head_dim;
    typedef struct { Mat w; size_t n; const char *name; } Named;
    Named t[10];
    for (int l = -1; l < c->n_layers; l++) {
        int k = 0;
        if (l < 0) {
            t[k++] = (Named){m->w.tok_emb, V * C, "model.embed_tokens.weight"};
            if (m->w.lm_head.data != m->w.tok_emb.data) t[k++] = (Named){m->w.lm_head, V * C, "lm_head.weight"};
            t[k++] = (Named){{m->w.rms_final, DTYPE_F32}, C, "model.norm.weight"};
        } else {
            const LayerWeights *w = &m->w.layers[l];
            t[k++] = (Named){w->wq, QD * C, "self_attn.q_proj"};
            t[k++] = (Named){w->wk, KVD * C, "self_attn.k_proj"};
            t[k++] = (Named){w->wv, KVD * C, "self_attn.v_proj"};
            t[k++] = (Named){w->wo, C * QD, "self_attn.o_proj"};
            t[k++] = (Named){w->w1, H * C, "mlp.gate_proj"};
            t[k++] = (Named){w->w3, H * C, "mlp.up_proj"};
            t[k++] = (Named){w->w2, C * H, "mlp.down_proj"};
            t[k++] = (Named){{w->rms_att, DTYPE_F32}, C, "input_layernorm"};
            t[k++] = (Named){{w->rms_ffn, DTYPE_F32}, C, "post_attention_layernorm"};
        }
        for (int j = 0; j < k; j++) {
            long i = first_nonfinite(t[j].w, t[j].n);
            if (i < 0) continue;
            float v = mat_get(t[j].w, (size_t)i);
            if (l < 0) return fail(err, errlen, "tensor %s holds %g at element %ld (weights must be finite)", t[j].name, v, i);
            return fail(err, errlen, "tensor model.layers.%d.%s.weight holds %g at element %ld (weights must be finite)",
                        l, t[j].name, v, i);
        }
    }
    return 0;
}

int load_lora_base(LoadedModel *lm, const LoraInfo *info, int ctx, char *err, size_t errlen) {
    char sha[65];
    const char *base = info->base_path;
    if (lora_base_sha256(base, sha, err, errlen) != 0) return -1;
    if (strcmp(sha, info->base_sha256))
        return fail(err, errlen, "the base model %s changed since the adapters were trained (sha256 %.16s..., recorded %.16s...)",
                    base, sha, info->base_sha256);
    if (load_model(lm, base, ctx, err, errlen) != 0) return -1;
    const Config *c = &lm->m->config, *s = &info->shape;
    if (lm->lora || c->dim != s->dim || c->n_layers != s->n_layers || c->n_heads != s->n_heads ||
        c->n_kv_heads != s->n_kv_heads || c->head_dim != s->head_dim || c->hidden_dim != s->hidden_dim ||
        c->vocab_size != s->vocab_size) {
        unload_model(lm);
        return fail(err, errlen, "the base model %s is not a model of the adapters' shape", base);
    }
    snprintf(lm->base_path, sizeof lm->base_path, "%s", base);
    return 0;
}

// A LoRA checkpoint: its base, then the adapters on it; the tokenizer it was trained with, when
// it recorded one, else the base's.
static int load_lora(LoadedModel *lm, const char *path, int ctx, char *err, size_t errlen) {
    LoraInfo info;
    Lora *l = lora_checkpoint_load(path, &info, err, errlen);
    if (!l) return -1;
    char why[1024];
    if (load_lora_base(lm, &info, ctx, why, sizeof why) != 0) {
        lora_free(l);
        return fail(err, errlen, "%s: %s", path, why);
    }
    if (model_attach_lora(lm->m, l, why, sizeof why) != 0) {
        lora_free(l);
        unload_model(lm);
        return fail(err, errlen, "%s: %s", path, why);
    }
    lm->lora = l;
    if (info.tokenizer_path[0]) {
        snprintf(lm->tokenizer_path, sizeof lm->tokenizer_path, "%s", info.tokenizer_path);
        snprintf(lm->tokenizer_sha256, sizeof lm->tokenizer_sha256, "%s", info.tokenizer_sha256);
        snprintf(lm->tokenizer_pattern, sizeof lm->tokenizer_pattern, "%s", info.tokenizer_pattern);
    }
    return 0;
}

int load_model(LoadedModel *lm, const char *path, int ctx, char *err, size_t errlen) {
    memset(lm, 0, sizeof *lm);
    lm->bos_id = -1;
    lm->add_bos = 1;
    struct stat sb;
    if (stat(path, &sb) != 0) return fail(err, errlen, "%s: %s", path, strerror(errno));

    if (S_ISDIR(sb.st_mode)) {
        lm->format = FORMAT_HF;
        Config c;
        if (hf_read_config(&c, &lm->hf, path, 0, err, errlen) != 0) return -1;
        int max_pos = lm->hf.max_position_embeddings;
        if (ctx > max_pos) return fail(err, errlen, "--ctx %d is longer than the model's max_position_embeddings %d",
                                       ctx, max_pos);
        lm->ctx = ctx ? ctx : (max_pos < LOAD_DEFAULT_CTX ? max_pos : LOAD_DEFAULT_CTX);
        if (hf_load(&lm->hf, path, 0, lm->ctx, err, errlen) != 0) return -1;
        lm->m = lm->hf.model;
        lm->bos_id = lm->hf.bos_id;
        lm->n_eos = lm->hf.n_eos;
        memcpy(lm->eos_ids, lm->hf.eos_ids, sizeof lm->eos_ids);
        // Llama 3 ships a tiktoken tokenizer.model at the top, or under original/ (Meta's files);
        // most other folders only a Hugging Face tokenizer.json
        const char *where[] = {"%s/tokenizer.model", "%s/original/tokenizer.model", "%s/tokenizer.json"};
        for (int k = 0; k < 3 && !lm->tokenizer_path[0]; k++) {
            char p[4096];
            snprintf(p, sizeof p, where[k], path);
            if (is_file(p)) snprintf(lm->tokenizer_path, sizeof lm->tokenizer_path, "%s", p);
        }
        if (read_tokenizer_config(lm, path, err, errlen) != 0) { unload_model(lm); return -1; }
    } else {
        unsigned char head[36] = {0};
        const char *why;
        FILE *f = fopen_regular(path, &why);
        if (!f) return fail(err, errlen, "%s: cannot open: %s", path, why);
        size_t got = fread(head, 1, sizeof head, f);
        fclose(f);
        if (got < 8)   // not even a magic number: no format can be told, let alone loaded
            return fail(err, errlen, "%s: %zu bytes, too short for any model file (a llama2.c .bin, GGUF or a bin/train checkpoint)",
                        path, got);
        if (got >= 8 && memcmp(head, LORA_CKPT_MAGIC, 8) == 0) return load_lora(lm, path, ctx, err, errlen);
        if (got >= 4 && memcmp(head, "GGUF", 4) == 0) {
            lm->format = FORMAT_GGUF;
            if (gguf_load_model(&lm->gguf, path, ctx, LOAD_DEFAULT_CTX, err, errlen) != 0) return -1;
            lm->m = lm->gguf.model;
            lm->ctx = lm->m->config.max_seq_len;
            lm->bos_id = lm->gguf.bos_id;
            lm->n_eos = lm->gguf.n_eos;
            memcpy(lm->eos_ids, lm->gguf.eos_ids, sizeof(int) * lm->gguf.n_eos);
            snprintf(lm->tokenizer_path, sizeof lm->tokenizer_path, "%s", lm->gguf.tokenizer_path);
            snprintf(lm->tokenizer_pattern, sizeof lm->tokenizer_pattern, "%s", lm->gguf.tokenizer_pattern);
        } else if (got >= 8 && memcmp(head, CHECKPOINT_MAGIC, 8) == 0) {
            lm->format = FORMAT_CHECKPOINT;
            CheckpointInfo info;
            lm->m = checkpoint_load_info(path, &info, err, errlen);
            if (!lm->m) return -1;
            if (ctx > lm->m->config.max_seq_len) {
                int max = lm->m->config.max_seq_len;
                unload_model(lm);
                return fail(err, errlen, "--ctx %d is longer than the checkpoint's max_seq_len %d", ctx, max);
            }
            lm->ctx = ctx ? ctx : lm->m->config.max_seq_len;
            snprintf(lm->tokenizer_path, sizeof lm->tokenizer_path, "%s", info.tokenizer_path);
            // a checkpoint records where its tokenizer was; moved or copied together with it, the
            // tokenizer is found by its file name beside the checkpoint (its sha256 is checked on use)
            const char *base = strrchr(info.tokenizer_path, '/');
            if (info.tokenizer_path[0] && !is_file(info.tokenizer_path) && base) {
                char p[4096];
                const char *slash = strrchr(path, '/');
                int dir = slash ? (int)(slash - path) : 1;
                snprintf(p, sizeof p, "%.*s%s", dir, slash ? path : ".", base);
                if (is_file(p)) snprintf(lm->tokenizer_path, sizeof lm->tokenizer_path, "%s", p);
            }
            snprintf(lm->tokenizer_sha256, sizeof lm->tokenizer_sha256, "%s", info.tokenizer_sha256);
            snprintf(lm->tokenizer_pattern, sizeof lm->tokenizer_pattern, "%s", info.tokenizer_pattern);
        } else {
            lm->format = FORMAT_LLAMA2C; // "ak42" v1, or legacy (its size is the check)
            // default context: the file's seq_len, at most LOAD_DEFAULT_CTX as for HF configs (a
            // seq_len of 2^24 in a 266 KB file would build gigabytes of RoPE tables and KV cache)
            int want = ctx;
            if (!want && got == sizeof head) {
                uint32_t magic;
                int32_t seq_len;
                memcpy(&magic, head, 4);
                memcpy(&seq_len, head + (magic == LLAMA2C_MAGIC ? 32 : 24), 4);
                if (seq_len > LOAD_DEFAULT_CTX) want = LOAD_DEFAULT_CTX;
            }
            lm->m = llama2c_load(path, want, err, errlen);
            if (!lm->m) return -1;
            lm->ctx = lm->m->config.max_seq_len;
            lm->bos_id = SP_BOS;
            // run.c stops when BOS comes out (it delimits stories); EOS too, to be safe
            lm->eos_ids[lm->n_eos++] = SP_BOS;
            lm->eos_ids[lm->n_eos++] = SP_EOS;
            // llama2.c's tokenizer.bin sits next to the model
            char p[4096];
            snprintf(p, sizeof p, "%s", path);
            char *slash = strrchr(p, '/');
            if (slash) snprintf(slash + 1, sizeof p - (slash + 1 - p), "tokenizer.bin");
            else snprintf(p, sizeof p, "tokenizer.bin");
            if (is_file(p)) snprintf(lm->tokenizer_path, sizeof lm->tokenizer_path, "%s", p);
        }
    }
    lm->weight_bytes = weight_bytes(lm->m);
    char why[512];
    if (check_finite(lm->m, why, sizeof why) != 0) {
        unload_model(lm);
        return fail(err, errlen, "%s: %s", path, why);
    }
    return 0;
}

int load_quantize(LoadedModel *lm, DType t, int head_t, char *err, size_t errlen) {
    if (model_quantize(lm->m, t, head_t, err, errlen) != 0) return -1;
    lm->weight_bytes = weight_bytes(lm->m);
    return 0;
}

int load_quantize_awq(LoadedModel *lm, DType t, int head_t, Tokenizer *tok, const char *calib_path, int max_tokens,
                      FILE *log, char *err, size_t errlen) {
    char why[1024];
    // adapters from a LoRA checkpoint read the same inputs the scales divide: merged into the
    // weights first, they are scaled and rounded with them
    if (lm->m->lora && lora_merge(lm->m, lm->lora, err, errlen) != 0) return -1;
    int n;
    int *ids = tokenize_file(tok, lm->bos_id, calib_path, &n, why, sizeof why);
    if (!ids) return fail(err, errlen, "--awq %s", why);
    if (n > max_tokens) n = max_tokens;
    int ctx = lm->ctx < LOAD_AWQ_CTX ? lm->ctx : LOAD_AWQ_CTX;
    Model *m = lm->m;
    AwqScales a;
    int rc = model_kv_alloc(m, ctx) != 0 ? fail(why, sizeof why, "cannot allocate the KV cache for %d positions", ctx)
           : awq_search(m, ids, n, ctx, lm->bos_id, t, LOAD_AWQ_ROWS, &a, why, sizeof why);
    free(ids);
    if (rc) return fail(err, errlen, "--awq %s: %s", calib_path, why);
    if (log) {
        const Config *c = &m->config;
        fprintf(log, "infer: AWQ from %ld tokens of %s (%d rows per search); output error against plain %s "
                "rounding, summed over %d layers, with scales / scales and clipping:", a.tokens, calib_path, a.samples,
                dtype_name(t), c->n_layers);
        for (int s = 0; s < AWQ_SITES; s++) {
            double p = 0, q = 0, r = 0;
            for (int l = 0; l < c->n_layers; l++) p += a.err_plain[s][l], q += a.err_awq[s][l], r += a.err_clip[s][l];
            fprintf(log, " %s %.0f%%/%.0f%%", awq_site_names[s], p > 0 ? 100 * q / p : 100.0, p > 0 ? 100 * r / p : 100.0);
        }
        fprintf(log, "\n");
    }
    rc = model_quantize_scaled(m, t, head_t, &a, err, errlen);
    awq_free(&a);
    if (rc) return -1;
    lm->weight_bytes = weight_bytes(m);
    return 0;
}

void unload_model(LoadedModel *lm) {
    if (lm->lora) { lm->m->lora = NULL; lora_free(lm->lora); }
    if (lm->format == FORMAT_HF) hf_free(&lm->hf);
    else if (lm->format == FORMAT_GGUF) gguf_free_model(&lm->gguf);
    else model_free(lm->m);
    memset(lm, 0, sizeof *lm);
}
