// formats/gguf_llama.c — a llama-architecture GGUF as our Model and tokenizer (see gguf.h).
#include "formats/gguf.h"
#include "util/errors.h"
#include "data/tiktoken.h"
#include "model/ops.h"
#include "model/quant.h"
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int get_int(const GgufFile *g, const char *key, int64_t *out) {
    const GgufKV *kv = gguf_find(g, key);
    if (!kv) return -1;
    switch (kv->type) {
    case GGUF_U8: case GGUF_U16: case GGUF_U32: case GGUF_U64: case GGUF_BOOL:
        if (kv->num.u > INT64_MAX) return -2;
        *out = (int64_t)kv->num.u; return 0;
    case GGUF_I8: case GGUF_I16: case GGUF_I32: case GGUF_I64: *out = kv->num.i; return 0;
    default: return -2;
    }
}
static int get_float(const GgufFile *g, const char *key, double *out) {
    const GgufKV *kv = gguf_find(g, key);
    if (!kv) return -1;
    if (kv->type != GGUF_F32 && kv->type != GGUF_F64) return -2;
    *out = kv->num.f;
    return 0;
}
// a required integer in [lo, hi]
static int need_int(const GgufFile *g, const char *path, const char *key, int64_t lo, int64_t hi, int *out,
                    char *err, size_t errlen) {
    int64_t v;
    int rc = get_int(g, key, &v);
    if (rc == -1) return fail(err, errlen, "%s: missing metadata %s", path, key);
    if (rc == -2 || v < lo || v > hi)
        return fail(err, errlen, "%s: metadata %s must be an integer in [%lld, %lld]", path, key, (long long)lo, (long long)hi);
    *out = (int)v;
    return 0;
}

static int to_dtype(uint32_t type, DType *d) {
    switch (type) {
    case GGML_F32: *d = DTYPE_F32; return 0;
    case GGML_F16: *d = DTYPE_F16; return 0;
    case GGML_BF16: *d = DTYPE_BF16; return 0;
    case GGML_Q8_0: *d = DTYPE_Q8_0; return 0;
    case GGML_Q4_0: *d = DTYPE_Q4_0; return 0;
    case GGML_Q4_K: *d = DTYPE_Q4_K; return 0;
    case GGML_Q5_K: *d = DTYPE_Q5_K; return 0;
    case GGML_Q6_K: *d = DTYPE_Q6_K; return 0;
    default: return -1;
    }
}

// The tensor called name with ne = {cols, rows} (rows 0: a vector of cols), as a Mat.
static int get_mat(const GgufFile *g, const char *path, const char *name, int64_t cols, int64_t rows, Mat *out,
                   char *err, size_t errlen) {
    const GgufTensor *t = gguf_tensor(g, name);
    if (!t) return fail(err, errlen, "%s: missing tensor %s", path, name);
    DType d;
    if (to_dtype(t->type, &d) != 0) {
        const char *tn = ggml_type_name(t->type);
        char num[32];
        snprintf(num, sizeof num, "%u", t->type);
        return fail(err, errlen, "%s: tensor %s has type %s, which is not supported (f32, f16, bf16, q8_0, q4_0, q4_K, q5_K, q6_K are)",
                    path, name, tn ? tn : num);
    }
    uint32_t nd = rows ? 2 : 1;
    if (t->n_dims != nd || t->ne[0] != (uint64_t)cols || (rows && t->ne[1] != (uint64_t)rows))
        return fail(err, errlen, "%s: tensor %s has shape [%llu, %llu], want [%lld, %lld]", path, name,
                    (unsigned long long)t->ne[0], (unsigned long long)(t->n_dims > 1 ? t->ne[1] : 1),
                    (long long)cols, (long long)(rows ? rows : 1));
    if (!rows && dtype_is_quant(d)) return fail(err, errlen, "%s: tensor %s: a quantized vector is not supported", path, name);
    out->data = t->data;
    out->dtype = d;
    return 0;
}

// ---- tokenizer: written in our own formats to a memory file ----

static int write_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w <= 0) return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

// GPT-2's byte-level alphabet: bytes 33..126, 161..172, 174..255 stand for themselves; the other
// 68 bytes, in order, for the code points 256, 257, ...
static int byte_of_codepoint(uint32_t cp) {
    if ((cp >= 33 && cp <= 126) || (cp >= 161 && cp <= 172) || (cp >= 174 && cp <= 255)) return (int)cp;
    if (cp < 256 || cp >= 256 + 68) return -1;
    int k = (int)cp - 256;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
        if (!printable && k-- == 0) return b;
    }
    return -1;
}

// A byte-level token string (UTF-8 of code points in that alphabet) -> its bytes; -1 if it is not one.
static long byte_level_decode(GgufStr s, unsigned char *out) {
    long n = 0;
    for (uint64_t i = 0; i < s.len;) {
        unsigned char c = (unsigned char)s.s[i];
        uint32_t cp;
        if (c < 0x80) { cp = c; i += 1; }
        else if ((c & 0xE0) == 0xC0 && i + 1 < s.len) { cp = (uint32_t)(c & 0x1F) << 6 | (s.s[i + 1] & 0x3F); i += 2; }
        else return -1;
        int b = byte_of_codepoint(cp);
        if (b < 0) return -1;
        out[n++] = (unsigned char)b;
    }
    return n;
}

static const GgufKV *string_array(const GgufFile *g, const char *key) {
    const GgufKV *kv = gguf_find(g, key);
    return kv && kv->type == GGUF_ARRAY && kv->arr_type == GGUF_STRING ? kv : NULL;
}

static int gpt2_tokenizer(GgufModel *gm, const char *path, FILE *f, const GgufKV *tokens, char *err, size_t errlen) {
    const GgufFile *g = &gm->f;
    const GgufKV *pre = gguf_find(g, "tokenizer.ggml.pre"), *types = gguf_find(g, "tokenizer.ggml.token_type");
    char name[64] = "";
    if (pre && pre->type == GGUF_STRING)
        snprintf(name, sizeof name, "%.*s", (int)(pre->str.len < 60 ? pre->str.len : 60), pre->str.s);
    // llama.cpp splits "smaug-bpe" text with Llama 3's regex too
    const char *pattern = strcmp(name, "llama-bpe") == 0 || strcmp(name, "smaug-bpe") == 0 ? "llama3" :
                          strcmp(name, "gpt-2") == 0 ? "gpt2" : NULL;
    if (!pattern)
        return fail(err, errlen, "%s: tokenizer.ggml.pre \"%s\" is not supported (llama-bpe, smaug-bpe, gpt-2 are)", path, name);
    if (types && (types->type != GGUF_ARRAY || types->arr_type != GGUF_I32 || types->arr_n != tokens->arr_n))
        return fail(err, errlen, "%s: tokenizer.ggml.token_type must be an i32 array, one per token", path);
    snprintf(gm->tokenizer_pattern, sizeof gm->tokenizer_pattern, "%s", pattern);
    // tiktoken ranks: rank = id for the normal tokens (type 1), as in vocabularies made from
    // tiktoken files (Llama 3's); the special tokens come from the pattern's own table
    unsigned char *buf = malloc(4096), seen[256] = {0};
    if (!buf) return fail(err, errlen, "out of memory");
    for (uint64_t id = 0; id < tokens->arr_n; id++) {
        int32_t ty = 1;
        if (types) memcpy(&ty, types->arr + 4 * id, 4);
        if (ty != 1) continue;
        GgufStr s = tokens->arr_str[id];
        long n = s.len <= 4096 ? byte_level_decode(s, buf) : -1;
        if (n <= 0) {
            free(buf);
            return fail(err, errlen, "%s: token %llu is not a byte-level BPE token", path, (unsigned long long)id);
        }
        if (n == 1) seen[buf[0]] = 1;
        tiktoken_write_rank(f, buf, (size_t)n, (long)id);
    }
    free(buf);
    for (int b = 0; b < 256; b++)
        if (!seen[b]) return fail(err, errlen, "%s: the gpt2 vocabulary has no token for byte 0x%02x", path, b);
    return 0;
}

static int llama_tokenizer(const char *path, FILE *f, const GgufFile *g, const GgufKV *tokens, char *err, size_t errlen) {
    const GgufKV *scores = gguf_find(g, "tokenizer.ggml.scores");
    if (scores && (scores->type != GGUF_ARRAY || scores->arr_type != GGUF_F32 || scores->arr_n != tokens->arr_n))
        return fail(err, errlen, "%s: tokenizer.ggml.scores must be an f32 array, one per token", path);
    // our SentencePiece encoder (llama2.c's) falls back to bytes at ids 3 + byte
    char want[8];
    for (int b = 0; b < 256; b++) {
        snprintf(want, sizeof want, "<0x%02X>", b);
        if (tokens->arr_n < 259 || !gguf_str_eq(tokens->arr_str[3 + b], want))
            return fail(err, errlen, "%s: SentencePiece vocabulary without the byte pieces <0x00>..<0xFF> at ids 3..258 "
                        "is not supported", path);
    }
    uint32_t max_len = 1;
    for (uint64_t id = 0; id < tokens->arr_n; id++)
        if (tokens->arr_str[id].len > max_len) max_len = (uint32_t)(tokens->arr_str[id].len < 4096 ? tokens->arr_str[id].len : 4096);
    fwrite(&max_len, 4, 1, f);
    char *piece = malloc(4097);
    if (!piece) return fail(err, errlen, "out of memory");
    for (uint64_t id = 0; id < tokens->arr_n; id++) {
        GgufStr s = tokens->arr_str[id];
        float score = 0;
        if (scores) memcpy(&score, scores->arr + 4 * id, 4);
        int32_t n = 0;
        for (uint64_t i = 0; i < s.len && n < 4096; i++) { // U+2581 (E2 96 81) is SentencePiece's space
            if (i + 2 < s.len && memcmp(s.s + i, "\xE2\x96\x81", 3) == 0) { piece[n++] = ' '; i += 2; }
            else piece[n++] = s.s[i];
        }
        fwrite(&score, 4, 1, f);
        fwrite(&n, 4, 1, f);
        fwrite(piece, 1, (size_t)n, f);
    }
    free(piece);
    return 0;
}

static int load_tokenizer(GgufModel *gm, const char *path, char *err, size_t errlen) {
    const GgufFile *g = &gm->f;
    const GgufKV *model = gguf_find(g, "tokenizer.ggml.model"), *tokens = string_array(g, "tokenizer.ggml.tokens");
    if (!model) return 0; // none: --prompt-ids only
    if (model->type != GGUF_STRING) return fail(err, errlen, "%s: tokenizer.ggml.model is not a string", path);
    if (!tokens) return fail(err, errlen, "%s: tokenizer.ggml.tokens missing or not a string array", path);
    int gpt2 = gguf_str_eq(model->str, "gpt2"), llama = gguf_str_eq(model->str, "llama");
    if (!gpt2 && !llama)
        return fail(err, errlen, "%s: tokenizer.ggml.model \"%.*s\" is not supported (llama, gpt2 are)", path,
                    (int)(model->str.len < 60 ? model->str.len : 60), model->str.s);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return fail(err, errlen, "out of memory");
    int rc = gpt2 ? gpt2_tokenizer(gm, path, f, tokens, err, errlen) : llama_tokenizer(path, f, g, tokens, err, errlen);
    fclose(f);
    if (rc == 0) {
        gm->tokenizer_fd = memfd_create("gguf-tokenizer", 0);
        if (gm->tokenizer_fd < 0 || write_all(gm->tokenizer_fd, text, len) != 0)
            rc = fail(err, errlen, "%s: cannot write the tokenizer to a memory file", path);
        else snprintf(gm->tokenizer_path, sizeof gm->tokenizer_path, "/proc/self/fd/%d", gm->tokenizer_fd);
    }
    free(text);
    // BOS, as llama.cpp adds it: when tokenizer.ggml.add_bos_token says so; without it, for
    // SentencePiece and for BPE with pre-tokenizer llama-bpe, not for the other BPEs
    const GgufKV *pre = gguf_find(g, "tokenizer.ggml.pre");
    int64_t v, add_bos = llama || (pre && pre->type == GGUF_STRING && gguf_str_eq(pre->str, "llama-bpe"));
    if (get_int(g, "tokenizer.ggml.add_bos_token", &v) == 0) add_bos = v;
    if (add_bos && get_int(g, "tokenizer.ggml.bos_token_id", &v) == 0 && v >= 0 && v < gm->model->config.vocab_size)
        gm->bos_id = (int)v;
    const char *eos_keys[] = {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id"};
    for (int k = 0; k < 2; k++)
        if (get_int(g, eos_keys[k], &v) == 0 && v >= 0 && v < gm->model->config.vocab_size) gm->eos_ids[gm->n_eos++] = (int)v;
    return rc;
}

// ---- the model ----

int gguf_load_model(GgufModel *gm, const char *path, int ctx, int default_ctx, char *err, size_t errlen) {
    memset(gm, 0, sizeof *gm);
    gm->bos_id = -1;
    gm->tokenizer_fd = -1;
    GgufFile *g = &gm->f;
    if (gguf_open(g, path, err, errlen) != 0) return -1;
    const GgufKV *arch = gguf_find(g, "general.architecture");
    if (!arch || arch->type != GGUF_STRING) { fail(err, errlen, "%s: missing general.architecture", path); goto bad; }
    if (!gguf_str_eq(arch->str, "llama")) {
        fail(err, errlen, "%s: architecture \"%.*s\" is not supported (llama is)", path,
             (int)(arch->str.len < 60 ? arch->str.len : 60), arch->str.s);
        goto bad;
    }
    Config c = {0};
    int ctx_len;
    if (need_int(g, path, "llama.embedding_length", 1, 1 << 20, &c.dim, err, errlen) ||
        need_int(g, path, "llama.block_count", 1, 1 << 16, &c.n_layers, err, errlen) ||
        need_int(g, path, "llama.feed_forward_length", 1, 1 << 22, &c.hidden_dim, err, errlen) ||
        need_int(g, path, "llama.attention.head_count", 1, 1 << 16, &c.n_heads, err, errlen) ||
        need_int(g, path, "llama.context_length", 1, 1 << 30, &ctx_len, err, errlen))
        goto bad;
    c.n_kv_heads = c.n_heads;
    if (gguf_find(g, "llama.attention.head_count_kv") &&
        need_int(g, path, "llama.attention.head_count_kv", 1, c.n_heads, &c.n_kv_heads, err, errlen)) goto bad;
    c.head_dim = c.dim / c.n_heads;
    if (gguf_find(g, "llama.attention.key_length") &&
        need_int(g, path, "llama.attention.key_length", 2, 1 << 16, &c.head_dim, err, errlen)) goto bad;
    double eps = 1e-5, theta = 10000.0;
    if (get_float(g, "llama.attention.layer_norm_rms_epsilon", &eps) == -2 || get_float(g, "llama.rope.freq_base", &theta) == -2) {
        fail(err, errlen, "%s: layer_norm_rms_epsilon and rope.freq_base must be floats", path);
        goto bad;
    }
    c.norm_eps = (float)eps;
    c.rope_theta = (float)theta;
    const GgufKV *scaling = gguf_find(g, "llama.rope.scaling.type");
    if (scaling && !(scaling->type == GGUF_STRING && gguf_str_eq(scaling->str, "none"))) {
        fail(err, errlen, "%s: llama.rope.scaling.type is not supported (Llama 3 scaling through rope_freqs.weight is)", path);
        goto bad;
    }
    const GgufTensor *emb = gguf_tensor(g, "token_embd.weight");
    if (!emb || emb->n_dims != 2 || emb->ne[1] > (1 << 24)) { fail(err, errlen, "%s: missing or malformed tensor token_embd.weight", path); goto bad; }
    c.vocab_size = (int)emb->ne[1];
    c.tied_embeddings = gguf_tensor(g, "output.weight") == NULL;
    gm->context_length = ctx_len;
    {   // every matrix checked before model_create sizes anything by the metadata: its
        // dimensions are then bounded by the file's size
        const int64_t C = c.dim, H = c.hidden_dim, QD = (int64_t)c.n_heads * c.head_dim;
        const int64_t KVD = (int64_t)c.n_kv_heads * c.head_dim;
        char nm[96];
        Mat dummy;
        if (get_mat(g, path, "token_embd.weight", C, c.vocab_size, &dummy, err, errlen)) goto bad;
        if (!c.tied_embeddings && get_mat(g, path, "output.weight", C, c.vocab_size, &dummy, err, errlen)) goto bad;
        for (int l = 0; l < c.n_layers; l++) {
            struct { const char *nm; int64_t cols, rows; } spec[] = {
                {"attn_q", C, QD}, {"attn_k", C, KVD}, {"attn_v", C, KVD}, {"attn_output", QD, C},
                {"ffn_gate", C, H}, {"ffn_up", C, H}, {"ffn_down", H, C}, {"attn_norm", C, 0}, {"ffn_norm", C, 0}};
            for (int i = 0; i < 9; i++) {
                snprintf(nm, sizeof nm, "blk.%d.%s.weight", l, spec[i].nm);
                if (get_mat(g, path, nm, spec[i].cols, spec[i].rows, &dummy, err, errlen)) goto bad;
            }
        }
    }
    if (ctx > ctx_len) { fail(err, errlen, "--ctx %d is longer than the model's context_length %d", ctx, ctx_len); goto bad; }
    c.max_seq_len = ctx ? ctx : ctx_len < default_ctx ? ctx_len : default_ctx;
    gm->model = model_create(&c, 0, err, errlen);
    if (!gm->model) goto bad;
    Model *m = gm->model;
    const int64_t C = c.dim, L = c.n_layers, H = c.hidden_dim, V = c.vocab_size, HD = c.head_dim;
    const int64_t QD = (int64_t)c.n_heads * HD, KVD = (int64_t)c.n_kv_heads * HD;

    // RoPE: frequencies divided by rope_freqs (Llama 3's scaling, precomputed by the converter)
    const GgufTensor *rf = gguf_tensor(g, "rope_freqs.weight");
    if (rf) {
        if (rf->type != GGML_F32 || rf->n_dims != 1 || rf->ne[0] != (uint64_t)HD / 2 || !rf->data) {
            fail(err, errlen, "%s: rope_freqs.weight must be f32 [%lld]", path, (long long)HD / 2);
            goto bad;
        }
        const float *div = rf->data;
        for (int i = 0; i < HD / 2; i++)
            if (!(div[i] > 0) || div[i] > 1e30f) { fail(err, errlen, "%s: rope_freqs.weight[%d] is not a positive number", path, i); goto bad; }
        rope_tables_divided(m->rope_cos, m->rope_sin, c.max_seq_len, (int)HD, c.rope_theta, div);
    }

    char name[96];
    Mat t;
    if (get_mat(g, path, "token_embd.weight", C, V, &m->w.tok_emb, err, errlen)) goto bad;
    if (c.tied_embeddings) m->w.lm_head = m->w.tok_emb;
    else if (get_mat(g, path, "output.weight", C, V, &m->w.lm_head, err, errlen)) goto bad;

    // one buffer for what cannot stay in the mmap: f32 norm weights, un-permuted Q/K rows
    size_t norm_bytes = (size_t)(2 * L + 1) * C * sizeof(float), qk_bytes = 0;
    for (int64_t l = 0; l < L; l++) {
        const char *nm[2] = {"attn_q", "attn_k"};
        for (int k = 0; k < 2; k++) {
            snprintf(name, sizeof name, "blk.%lld.%s.weight", (long long)l, nm[k]);
            if (get_mat(g, path, name, C, k ? KVD : QD, &t, err, errlen)) goto bad;
            qk_bytes += (dtype_bytes(t.dtype, (size_t)(k ? KVD : QD) * C) + 63) / 64 * 64;
        }
    }
    char *copies = aligned_alloc(64, (norm_bytes + qk_bytes + 63) / 64 * 64);
    if (!copies) { fail(err, errlen, "%s: out of memory", path); goto bad; }
    gm->copies = copies;
    float *norms = (float *)copies;
    char *qk = copies + (norm_bytes + 63) / 64 * 64;

    if (get_mat(g, path, "output_norm.weight", C, 0, &t, err, errlen)) goto bad;
    dequantize_row(t.dtype, t.data, norms + 2 * L * C, (int)C);
    m->w.rms_final = norms + 2 * L * C;
    for (int64_t l = 0; l < L; l++) {
        LayerWeights *lw = &m->w.layers[l];
        struct { const char *nm; int64_t cols, rows; Mat *mat; } spec[] = {
            {"attn_v", C, KVD, &lw->wv}, {"attn_output", QD, C, &lw->wo}, {"ffn_gate", C, H, &lw->w1},
            {"ffn_up", C, H, &lw->w3}, {"ffn_down", H, C, &lw->w2}};
        for (int i = 0; i < 5; i++) {
            snprintf(name, sizeof name, "blk.%lld.%s.weight", (long long)l, spec[i].nm);
            if (get_mat(g, path, name, spec[i].cols, spec[i].rows, spec[i].mat, err, errlen)) goto bad;
        }
        const char *nn[2] = {"attn_norm", "ffn_norm"};
        for (int k = 0; k < 2; k++) {
            snprintf(name, sizeof name, "blk.%lld.%s.weight", (long long)l, nn[k]);
            if (get_mat(g, path, name, C, 0, &t, err, errlen)) goto bad;
            float *dst = norms + (2 * l + k) * C;
            dequantize_row(t.dtype, t.data, dst, (int)C);
            if (k == 0) lw->rms_att = dst; else lw->rms_ffn = dst;
        }
        // convert_hf_to_gguf.py stores q/k rows per head in interleaved-pair order: its row
        // 2i + s of a head is our (rotate-half) row s * HD/2 + i
        const char *qn[2] = {"attn_q", "attn_k"};
        Mat *dstm[2] = {&lw->wq, &lw->wk};
        int64_t heads[2] = {c.n_heads, c.n_kv_heads};
        for (int k = 0; k < 2; k++) {
            snprintf(name, sizeof name, "blk.%lld.%s.weight", (long long)l, qn[k]);
            get_mat(g, path, name, C, heads[k] * HD, &t, err, errlen);
            size_t rb = dtype_bytes(t.dtype, (size_t)C);
            for (int64_t h = 0; h < heads[k]; h++)
                for (int64_t i = 0; i < HD / 2; i++)
                    for (int s = 0; s < 2; s++)
                        memcpy(qk + (size_t)(h * HD + s * (HD / 2) + i) * rb,
                               (const char *)t.data + (size_t)(h * HD + 2 * i + s) * rb, rb);
            *dstm[k] = (Mat){ qk, t.dtype };
            qk += (dtype_bytes(t.dtype, (size_t)heads[k] * HD * C) + 63) / 64 * 64;
        }
    }
    if (load_tokenizer(gm, path, err, errlen) != 0) goto bad;
    return 0;
bad:
    gguf_free_model(gm);
    return -1;
}

void gguf_free_model(GgufModel *gm) {
    if (gm->model) model_free(gm->model);
    free(gm->copies);
    if (gm->tokenizer_fd >= 0) close(gm->tokenizer_fd);
    gguf_close(&gm->f);
    memset(gm, 0, sizeof *gm);
    gm->tokenizer_fd = -1;
}
