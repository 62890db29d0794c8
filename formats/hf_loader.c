// formats/hf_loader.c — see hf_loader.h.
#include "formats/hf_loader.h"
#include "util/errors.h"
#include "util/json_file.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stb/stb_ds.h>

// A JSON object file; *missing = 1 when nothing is at the path (a FIFO or a directory there is
// an error, not a missing file).
static cJSON *read_json(const char *path, int *missing, char *err, size_t errlen) {
    *missing = access(path, F_OK) != 0;
    return read_json_object(path, err, errlen);
}

// ---- config.json ----

// An integer field: 0 and *out set; 1 when absent (or null); -1 when present but not a
// whole number in [lo, hi] (err says so).
static int json_int(const cJSON *o, const char *key, long lo, long hi, int *out, const char *path,
                    char *err, size_t errlen) {
    const cJSON *j = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
    if (!j || cJSON_IsNull(j)) return 1;
    if (!cJSON_IsNumber(j) || j->valuedouble != floor(j->valuedouble) || j->valuedouble < lo ||
        j->valuedouble > hi)
        return fail(err, errlen, "%s: \"%s\" must be an integer in [%ld, %ld]", path, key, lo, hi);
    *out = (int)j->valuedouble;
    return 0;
}

static int json_float(const cJSON *o, const char *key, double lo, double hi, float *out,
                      const char *path, char *err, size_t errlen) {
    const cJSON *j = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
    if (!j || cJSON_IsNull(j)) return 1;
    if (!cJSON_IsNumber(j) || !(j->valuedouble >= lo && j->valuedouble <= hi))
        return fail(err, errlen, "%s: \"%s\" must be a number in [%g, %g]", path, key, lo, hi);
    *out = (float)j->valuedouble;
    return 0;
}

#define REQUIRE_INT(key, lo, hi, dst)                                                          \
    do {                                                                                       \
        int r_ = json_int(j, key, lo, hi, dst, path, err, errlen);                             \
        if (r_ < 0) goto bad;                                                                  \
        if (r_ > 0) { fail(err, errlen, "%s: missing \"%s\"", path, key); goto bad; }          \
    } while (0)
#define OPTIONAL_INT(key, lo, hi, dst)                                                         \
    do { if (json_int(j, key, lo, hi, dst, path, err, errlen) < 0) goto bad; } while (0)

// bos_token_id / eos_token_id: an int, a list of ints, or null.
static int token_ids(const cJSON *o, const char *key, int *ids, int *n, int max, const char *path,
                     char *err, size_t errlen) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!j || cJSON_IsNull(j)) return 0;
    const cJSON *one = j;
    int count = cJSON_IsArray(j) ? cJSON_GetArraySize(j) : 1;
    for (int i = 0; i < count; i++) {
        if (cJSON_IsArray(j)) one = cJSON_GetArrayItem(j, i);
        if (!cJSON_IsNumber(one) || one->valuedouble != floor(one->valuedouble) || one->valuedouble < 0 ||
            one->valuedouble > INT32_MAX)
            return fail(err, errlen, "%s: \"%s\" must be a token id or a list of them", path, key);
        int id = (int)one->valuedouble, dup = 0;
        for (int k = 0; k < *n; k++) dup |= ids[k] == id;
        if (!dup && *n < max) ids[(*n)++] = id;
    }
    return 0;
}

int hf_read_config(Config *c, HfModel *h, const char *dir, int max_seq_len, char *err, size_t errlen) {
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    int missing;
    cJSON *j = read_json(path, &missing, err, errlen);
    if (!j) return -1;
    memset(c, 0, sizeof *c);
    h->bos_id = -1;
    h->n_eos = 0;

    // Features of other Llama-like models our forward does not compute: refuse, don't guess.
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(j, "hidden_act");
    if (act && !(cJSON_IsString(act) && strcmp(act->valuestring, "silu") == 0)) {
        fail(err, errlen, "%s: \"hidden_act\" must be \"silu\" (SwiGLU)", path);
        goto bad;
    }
    const char *bias_keys[] = {"attention_bias", "mlp_bias"};
    for (int k = 0; k < 2; k++)
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, bias_keys[k]))) {
            fail(err, errlen, "%s: \"%s\": true is not supported (no bias terms in this model)", path, bias_keys[k]);
            goto bad;
        }

    // model_type: this loader knows Llama's tensors and math; "mistral" or "qwen2" configs look
    // alike but differ (sliding windows, biases), so anything else is refused (absent: allowed)
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(j, "model_type");
    if (mt && !cJSON_IsNull(mt) && !(cJSON_IsString(mt) && strcmp(mt->valuestring, "llama") == 0)) {
        fail(err, errlen, "%s: model_type %s is not supported (only \"llama\")", path,
             cJSON_IsString(mt) ? mt->valuestring : "(not a string)");
        goto bad;
    }
    const long BIG = 1L << 30;
    REQUIRE_INT("hidden_size", 1, BIG, &c->dim);
    REQUIRE_INT("intermediate_size", 1, BIG, &c->hidden_dim);
    REQUIRE_INT("num_hidden_layers", 1, 4096, &c->n_layers);
    REQUIRE_INT("num_attention_heads", 1, 65536, &c->n_heads);
    REQUIRE_INT("vocab_size", 1, BIG, &c->vocab_size);
    c->n_kv_heads = c->n_heads; // LlamaConfig: num_key_value_heads defaults to MHA
    OPTIONAL_INT("num_key_value_heads", 1, 65536, &c->n_kv_heads);
    if (c->n_heads % c->n_kv_heads != 0) {
        fail(err, errlen, "%s: num_attention_heads %d is not a multiple of num_key_value_heads %d", path,
             c->n_heads, c->n_kv_heads);
        goto bad;
    }
    c->head_dim = 0;
    OPTIONAL_INT("head_dim", 1, 65536, &c->head_dim);
    if (!c->head_dim) {
        if (c->dim % c->n_heads != 0) {
            fail(err, errlen, "%s: hidden_size %d is not a multiple of num_attention_heads %d", path, c->dim,
                 c->n_heads);
            goto bad;
        }
        c->head_dim = c->dim / c->n_heads;
    }
    if (c->head_dim % 2) {
        fail(err, errlen, "%s: head_dim %d must be even for RoPE", path, c->head_dim);
        goto bad;
    }
    h->max_position_embeddings = 2048; // LlamaConfig's default
    OPTIONAL_INT("max_position_embeddings", 1, BIG, &h->max_position_embeddings);
    if (max_seq_len > h->max_position_embeddings) {
        fail(err, errlen, "%s: context %d is longer than max_position_embeddings %d", path, max_seq_len,
             h->max_position_embeddings);
        goto bad;
    }
    c->max_seq_len = max_seq_len > 0 ? max_seq_len : h->max_position_embeddings;
    c->norm_eps = 1e-6f; // LlamaConfig's default
    if (json_float(j, "rms_norm_eps", 0, 1, &c->norm_eps, path, err, errlen) < 0 || !(c->norm_eps > 0)) {
        fail(err, errlen, "%s: \"rms_norm_eps\" must be a number in (0, 1]", path);   // 0: x / sqrt(0) on a zero row
        goto bad;
    }
    // dropout on the attention probabilities when training (bin/train --init uses it as its
    // default); inference never applies it
    c->att_dropout = 0.0f;
    if (json_float(j, "attention_dropout", 0, 0.95, &c->att_dropout, path, err, errlen) < 0) goto bad;
    const cJSON *tie = cJSON_GetObjectItemCaseSensitive(j, "tie_word_embeddings");
    if (tie && !cJSON_IsBool(tie) && !cJSON_IsNull(tie)) {
        fail(err, errlen, "%s: \"tie_word_embeddings\" must be true or false", path);
        goto bad;
    }
    c->tied_embeddings = cJSON_IsTrue(tie);

    // RoPE. transformers 5 writes {"rope_parameters": {"rope_theta", "rope_type", ...}};
    // older files have a top-level rope_theta and "rope_scaling" with "rope_type" (or "type").
    const cJSON *rp = cJSON_GetObjectItemCaseSensitive(j, "rope_parameters");
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(j, "rope_scaling");
    // present but not an object (a string, a list): refused, not read as absent
    if ((rp && !cJSON_IsObject(rp) && !cJSON_IsNull(rp)) || (rs && !cJSON_IsObject(rs) && !cJSON_IsNull(rs))) {
        fail(err, errlen, "%s: \"%s\" must be an object (or null)", path,
             rp && !cJSON_IsObject(rp) && !cJSON_IsNull(rp) ? "rope_parameters" : "rope_scaling");
        goto bad;
    }
    if (rp && !cJSON_IsObject(rp)) rp = NULL;
    if (rs && !cJSON_IsObject(rs)) rs = NULL;
    c->rope_theta = 10000.0f; // LlamaConfig's default
    if (json_float(j, "rope_theta", 1, 1e12, &c->rope_theta, path, err, errlen) < 0) goto bad;
    if (json_float(rp, "rope_theta", 1, 1e12, &c->rope_theta, path, err, errlen) < 0) goto bad;
    const cJSON *scaling = rs ? rs : rp;
    const cJSON *type = NULL;
    if (scaling) {
        type = cJSON_GetObjectItemCaseSensitive(scaling, "rope_type");
        if (!type) type = cJSON_GetObjectItemCaseSensitive(scaling, "type");
    }
    if (type && !cJSON_IsNull(type) && !(cJSON_IsString(type) && strcmp(type->valuestring, "default") == 0)) {
        if (!cJSON_IsString(type) || strcmp(type->valuestring, "llama3") != 0) {
            fail(err, errlen, "%s: rope_type %s is not supported (only \"default\" and \"llama3\")", path,
                 cJSON_IsString(type) ? type->valuestring : "(not a string)");
            goto bad;
        }
        const char *keys[] = {"factor", "low_freq_factor", "high_freq_factor"};
        float *dst[] = {&c->rope_factor, &c->rope_low_freq_factor, &c->rope_high_freq_factor};
        for (int k = 0; k < 3; k++) {
            int r = json_float(scaling, keys[k], 1e-6, 1e6, dst[k], path, err, errlen);
            if (r < 0) goto bad;
            if (r > 0) { fail(err, errlen, "%s: llama3 rope scaling: missing \"%s\"", path, keys[k]); goto bad; }
        }
        int r = json_int(scaling, "original_max_position_embeddings", 1, BIG, &c->rope_original_max_pos, path,
                         err, errlen);
        if (r < 0) goto bad;
        if (r > 0) {
            fail(err, errlen, "%s: llama3 rope scaling: missing \"original_max_position_embeddings\"", path);
            goto bad;
        }
        if (c->rope_low_freq_factor >= c->rope_high_freq_factor) {
            fail(err, errlen, "%s: llama3 rope scaling: low_freq_factor must be below high_freq_factor", path);
            goto bad;
        }
    }

    if (token_ids(j, "bos_token_id", &h->bos_id, &(int){0}, 1, path, err, errlen) < 0) goto bad;
    if (token_ids(j, "eos_token_id", h->eos_ids, &h->n_eos, HF_MAX_EOS, path, err, errlen) < 0) goto bad;
    cJSON_Delete(j);

    // generation_config.json is what generate() reads; Instruct models list <|eot_id|> there.
    snprintf(path, sizeof path, "%s/generation_config.json", dir);
    j = read_json(path, &missing, err, errlen);
    if (!j && !missing) return -1;
    if (j && token_ids(j, "eos_token_id", h->eos_ids, &h->n_eos, HF_MAX_EOS, path, err, errlen) < 0) goto bad;
    cJSON_Delete(j);
    for (int k = 0; k < h->n_eos; k++)
        if (h->eos_ids[k] >= c->vocab_size) return fail(err, errlen, "%s/config.json: eos_token_id %d >= vocab_size %d",
                                                        dir, h->eos_ids[k], c->vocab_size);
    if (h->bos_id >= c->vocab_size)
        return fail(err, errlen, "%s/config.json: bos_token_id %d >= vocab_size %d", dir, h->bos_id, c->vocab_size);
    return 0;
bad:
    cJSON_Delete(j);
    return -1;
}

// ---- weights ----

// Where each tensor lives: one file, or the shard the index names.
typedef struct {
    const char *dir;
    HfModel *h;
    cJSON *weight_map; // NULL when unsharded
} Source;

static const SafeTensor *find_tensor(Source *s, const char *name, char *err, size_t errlen) {
    int shard = 0;
    if (s->weight_map) {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(s->weight_map, name);
        if (!cJSON_IsString(f)) {
            fail(err, errlen, "%s/model.safetensors.index.json: no shard for tensor \"%s\"", s->dir, name);
            return NULL;
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", s->dir, f->valuestring);
        for (shard = 0; shard < s->h->n_shards; shard++)
            if (strcmp(s->h->shards[shard].path, path) == 0) break;
        if (shard == s->h->n_shards) {
            fail(err, errlen, "%s: shard not opened", path); // cannot happen: all are opened first
            return NULL;
        }
    }
    const SafeTensor *t = safetensors_find(&s->h->shards[shard], name);
    if (!t) fail(err, errlen, "%s: missing tensor \"%s\"", s->h->shards[shard].path, name);
    return t;
}

// Looks up name and checks it is a (rows, cols) matrix — or a (rows) vector when cols == 0 —
// of a dtype we compute with.
static const SafeTensor *get_checked(Source *s, const char *name, int64_t rows, int64_t cols, char *err,
                                     size_t errlen) {
    const SafeTensor *t = find_tensor(s, name, err, errlen);
    if (!t) return NULL;
    int ndim = cols ? 2 : 1;
    if (t->ndim != ndim || t->shape[0] != rows || (cols && t->shape[1] != cols)) {
        char got[128] = "", want[64];
        int n = 0;
        for (int d = 0; d < t->ndim && n < 100; d++)
            n += snprintf(got + n, sizeof got - n, "%s%lld", d ? ", " : "", (long long)t->shape[d]);
        if (cols) snprintf(want, sizeof want, "%lld, %lld", (long long)rows, (long long)cols);
        else snprintf(want, sizeof want, "%lld", (long long)rows);
        fail(err, errlen, "%s: tensor \"%s\" has shape [%s] but config.json implies [%s]", s->dir, name, got,
             want);
        return NULL;
    }
    if (t->dtype < 0) {
        fail(err, errlen, "%s: tensor \"%s\" has dtype %s (want F32, BF16 or F16)", s->dir, name, t->dtype_str);
        return NULL;
    }
    return t;
}

// A Mat view of t: straight into the mmap when its bytes are aligned for the dtype (the
// safetensors writer pads the header to 8 bytes, so they are), else an aligned copy (data NULL:
// out of memory for it).
static Mat mat_view(HfModel *h, const SafeTensor *t) {
    Mat m = { t->data, (DType)t->dtype };
    if ((uintptr_t)t->data % dtype_size(m.dtype) != 0) {
        void *copy = malloc(t->nbytes ? t->nbytes : 1);
        if (!copy) return (Mat){NULL, m.dtype};
        memcpy(copy, t->data, t->nbytes);
        arrput(h->copies, copy);
        m.data = copy;
    }
    return m;
}

// Widen n elements of t into dst.
static void to_f32(float *dst, const SafeTensor *t, size_t n) {
    Mat m = { t->data, (DType)t->dtype };
    for (size_t i = 0; i < n; i++) dst[i] = mat_get(m, i);
}

static int open_shards(Source *s, char *err, size_t errlen) {
    char path[4096];
    HfModel *h = s->h;
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", s->dir);
    int missing;
    cJSON *index = read_json(path, &missing, err, errlen);
    if (!index && !missing) return -1;
    if (!index) { // one file
        h->shards = calloc(1, sizeof(SafeTensors));
        if (!h->shards) return fail(err, errlen, "%s: out of memory", s->dir);
        snprintf(path, sizeof path, "%s/model.safetensors", s->dir);
        if (safetensors_open(&h->shards[0], path, err, errlen) != 0) return -1;
        h->n_shards = 1;
        return 0;
    }
    s->weight_map = cJSON_DetachItemFromObjectCaseSensitive(index, "weight_map");
    cJSON_Delete(index);
    if (!cJSON_IsObject(s->weight_map))
        return fail(err, errlen, "%s: missing object \"weight_map\"", path);
    int n = cJSON_GetArraySize(s->weight_map);
    h->shards = calloc(n > 0 ? n : 1, sizeof(SafeTensors));
    if (!h->shards) return fail(err, errlen, "%s: out of memory", path);
    const cJSON *e;
    cJSON_ArrayForEach(e, s->weight_map) {
        if (!cJSON_IsString(e) || strchr(e->valuestring, '/'))
            return fail(err, errlen, "%s: tensor \"%s\": shard must be a file name in the same folder", path,
                        e->string);
        char shard_path[4096];
        snprintf(shard_path, sizeof shard_path, "%s/%s", s->dir, e->valuestring);
        int seen = 0;
        for (int k = 0; k < h->n_shards; k++) seen |= strcmp(h->shards[k].path, shard_path) == 0;
        if (seen) continue;
        if (safetensors_open(&h->shards[h->n_shards], shard_path, err, errlen) != 0) return -1;
        h->n_shards++;
    }
    return 0;
}

int hf_load(HfModel *h, const char *dir, int want_f32_params, int max_seq_len, char *err, size_t errlen) {
    memset(h, 0, sizeof *h);
    Config c;
    if (hf_read_config(&c, h, dir, max_seq_len, err, errlen) != 0) return -1;
    Source s = { dir, h, NULL };
    if (open_shards(&s, err, errlen) != 0) goto bad;
    h->model = model_create(&c, want_f32_params, err, errlen);
    if (!h->model) goto bad;
    Model *m = h->model;
    const int64_t C = c.dim, L = c.n_layers, H = c.hidden_dim, V = c.vocab_size;
    const int64_t QD = (int64_t)c.n_heads * c.head_dim, KVD = (int64_t)c.n_kv_heads * c.head_dim;

    // Every tensor of the layout, with the shape config.json implies and where it goes in
    // the f32 parameter buffer (stride = elements per layer).
    struct { const char *fmt; int64_t rows, cols; float *param; Mat *mat; const float **norm; } spec[9];
    char name[256];
    const SafeTensor *t;
    if (!want_f32_params && !(h->norms = malloc((size_t)(2 * L + 1) * C * sizeof(float)))) goto oom;

    if (!(t = get_checked(&s, "model.embed_tokens.weight", V, C, err, errlen))) goto bad;
    if (want_f32_params) to_f32(m->params.tok_emb, t, (size_t)V * C);
    else if (!(m->w.tok_emb = mat_view(h, t)).data) goto oom;
    if (!(t = get_checked(&s, "model.norm.weight", C, 0, err, errlen))) goto bad;
    if (want_f32_params) to_f32(m->params.rms_final, t, C);
    else { to_f32(h->norms + 2 * L * C, t, C); m->w.rms_final = h->norms + 2 * L * C; }
    if (!c.tied_embeddings) {
        if (!(t = get_checked(&s, "lm_head.weight", V, C, err, errlen))) goto bad;
        if (want_f32_params) to_f32(m->params.lm_head, t, (size_t)V * C);
        else if (!(m->w.lm_head = mat_view(h, t)).data) goto oom;
    } else if (!want_f32_params) {
        m->w.lm_head = m->w.tok_emb;
    }

    for (int64_t l = 0; l < L; l++) {
        LayerWeights *lw = want_f32_params ? NULL : &m->w.layers[l];
        ParameterTensors *p = &m->params;
        int k = 0;
#define SPEC(f, r, cc, P, M)                                                                   \
        spec[k].fmt = f; spec[k].rows = r; spec[k].cols = cc;                                    \
        spec[k].param = want_f32_params ? p->P + l * (r) * ((cc) ? (cc) : 1) : NULL;             \
        spec[k].mat = M; spec[k].norm = NULL; k++;
        SPEC("model.layers.%lld.self_attn.q_proj.weight", QD, C, wq, lw ? &lw->wq : NULL);
        SPEC("model.layers.%lld.self_attn.k_proj.weight", KVD, C, wk, lw ? &lw->wk : NULL);
        SPEC("model.layers.%lld.self_attn.v_proj.weight", KVD, C, wv, lw ? &lw->wv : NULL);
        SPEC("model.layers.%lld.self_attn.o_proj.weight", C, QD, wo, lw ? &lw->wo : NULL);
        SPEC("model.layers.%lld.mlp.gate_proj.weight", H, C, w1, lw ? &lw->w1 : NULL);
        SPEC("model.layers.%lld.mlp.down_proj.weight", C, H, w2, lw ? &lw->w2 : NULL);
        SPEC("model.layers.%lld.mlp.up_proj.weight", H, C, w3, lw ? &lw->w3 : NULL);
        SPEC("model.layers.%lld.input_layernorm.weight", C, 0, rms_att, NULL);
        spec[k - 1].norm = lw ? &lw->rms_att : NULL;
        SPEC("model.layers.%lld.post_attention_layernorm.weight", C, 0, rms_ffn, NULL);
        spec[k - 1].norm = lw ? &lw->rms_ffn : NULL;
#undef SPEC
        for (int i = 0; i < k; i++) {
            snprintf(name, sizeof name, spec[i].fmt, (long long)l);
            if (!(t = get_checked(&s, name, spec[i].rows, spec[i].cols, err, errlen))) goto bad;
            size_t n = (size_t)spec[i].rows * (spec[i].cols ? spec[i].cols : 1);
            if (want_f32_params) to_f32(spec[i].param, t, n);
            else if (spec[i].mat) { if (!(*spec[i].mat = mat_view(h, t)).data) goto oom; }
            else { // norm vector: the two per layer sit side by side in h->norms
                float *dst = h->norms + (2 * l + (spec[i].norm == &lw->rms_ffn)) * C;
                to_f32(dst, t, C);
                *spec[i].norm = dst;
            }
        }
    }
    // a file with more layers than config.json says would run as a truncated model: refuse it
    for (int k = 0; k < h->n_shards; k++)
        for (int i = 0; i < h->shards[k].n_tensors; i++) {
            const char *tn = h->shards[k].tensors[i].name;
            long layer;
            if (sscanf(tn, "model.layers.%ld.", &layer) == 1 && layer >= L) {
                fail(err, errlen, "%s: tensor \"%s\" is past num_hidden_layers %lld in config.json", h->shards[k].path,
                     tn, (long long)L);
                goto bad;
            }
        }
    cJSON_Delete(s.weight_map);
    if (want_f32_params) { // everything is in the parameter buffer now
        model_point_weights(m);
        for (int i = 0; i < h->n_shards; i++) safetensors_close(&h->shards[i]);
        free(h->shards);
        h->shards = NULL;
        h->n_shards = 0;
    }
    return 0;
oom:
    fail(err, errlen, "%s: out of memory for the weights", dir);
bad:
    cJSON_Delete(s.weight_map);
    hf_free(h);
    return -1;
}

void hf_free(HfModel *h) {
    if (h->model) model_free(h->model);
    for (int i = 0; i < h->n_shards; i++) safetensors_close(&h->shards[i]);
    free(h->shards);
    free(h->norms);
    for (ptrdiff_t i = 0; i < arrlen(h->copies); i++) free(h->copies[i]);
    arrfree(h->copies);
    memset(h, 0, sizeof *h);
}
