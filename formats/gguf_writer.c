// formats/gguf_writer.c — see gguf_writer.h; the layout constants are formats/gguf.h's.
#include "formats/gguf_writer.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "data/bytes_map.h"
#include "data/hf_vocab.h"
#include "formats/gguf.h"
#include "model/quant.h"
#include "util/atomic_file.h"
#include "util/errors.h"

#define ALIGN 32 // general.alignment's default

// llama.cpp's token types (llama_token_type)
enum { TOK_NORMAL = 1, TOK_UNKNOWN = 2, TOK_CONTROL = 3, TOK_UNUSED = 5, TOK_BYTE = 6 };

// ---- metadata into a memory stream ----
static void put_u32(FILE *f, uint32_t v) { fwrite(&v, 4, 1, f); }
static void put_u64(FILE *f, uint64_t v) { fwrite(&v, 8, 1, f); }
static void put_str(FILE *f, const char *s, size_t n) { put_u64(f, n); fwrite(s, 1, n, f); }
static void key(FILE *f, const char *k, uint32_t type, int *n_kv) { put_str(f, k, strlen(k)); put_u32(f, type); (*n_kv)++; }
static void kv_u32(FILE *f, int *n, const char *k, uint32_t v) { key(f, k, GGUF_U32, n); put_u32(f, v); }
static void kv_f32(FILE *f, int *n, const char *k, float v) { key(f, k, GGUF_F32, n); fwrite(&v, 4, 1, f); }
static void kv_bool(FILE *f, int *n, const char *k, int v) { key(f, k, GGUF_BOOL, n); fputc(v ? 1 : 0, f); }
static void kv_str(FILE *f, int *n, const char *k, const char *v) { key(f, k, GGUF_STRING, n); put_str(f, v, strlen(v)); }
static void arr_head(FILE *f, int *n, const char *k, uint32_t type, uint64_t count) {
    key(f, k, GGUF_ARRAY, n); put_u32(f, type); put_u64(f, count);
}

// GPT-2's byte-level stand-in of each byte (hf_vocab.h's map, inverted), UTF-8 encoded
static size_t byte_level_encode(const unsigned char *b, size_t n, char *out) {
    static unsigned cp_of[256];
    if (!cp_of['A']) for (unsigned cp = 0; cp < 512; cp++) { int x = hf_bytelevel_byte(cp); if (x >= 0) cp_of[x] = cp; }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned cp = cp_of[b[i]];
        if (cp < 0x80) out[o++] = (char)cp;
        else { out[o++] = (char)(0xC0 | cp >> 6); out[o++] = (char)(0x80 | (cp & 0x3F)); }
    }
    return o;
}

// tokenizer.ggml.* for a tiktoken rank file: tokens as byte-level strings, specials CONTROL,
// ids the tokenizer lacks as [PADn] (UNUSED, as convert_hf_to_gguf.py pads), and the merges
// HF's tiktoken converter derives: every split of a token into two tokens, ordered by the
// merged token's rank, then by the parts' ranks.
static int gpt2_vocab(FILE *f, int *n_kv, const Tiktoken *tt, int V, char *err, size_t errlen) {
    const char *pat = tiktoken_pattern_name(tt);
    const char *pre = !strcmp(pat, "llama3") ? "llama-bpe" : !strcmp(pat, "gpt2") ? "gpt-2" : NULL;
    if (!pre) return fail(err, errlen, "gguf: a tokenizer with the %s split pattern has no GGUF name (gpt2 and llama3 do)", pat);
    int n_ranks = tiktoken_n_ranks(tt);
    if (tiktoken_vocab_size(tt) > V) return fail(err, errlen, "gguf: the tokenizer has %d tokens, the model %d", tiktoken_vocab_size(tt), V);
    kv_str(f, n_kv, "tokenizer.ggml.model", "gpt2");
    kv_str(f, n_kv, "tokenizer.ggml.pre", pre);
    char *buf = malloc(2 * 4096 + 2);
    if (!buf) return fail(err, errlen, "out of memory");
    arr_head(f, n_kv, "tokenizer.ggml.tokens", GGUF_STRING, V);
    for (int id = 0; id < V; id++) {
        size_t len;
        const char *b = tiktoken_token_bytes(tt, id, &len);
        if (!b) { int k = snprintf(buf, 64, "[PAD%d]", id); put_str(f, buf, k); }
        else if (id >= n_ranks) put_str(f, b, len);           // a special token: its name
        else put_str(f, buf, byte_level_encode((const unsigned char *)b, len < 4096 ? len : 4096, buf));
    }
    arr_head(f, n_kv, "tokenizer.ggml.token_type", GGUF_I32, V);
    for (int id = 0; id < V; id++) {
        size_t len;
        put_u32(f, !tiktoken_token_bytes(tt, id, &len) ? TOK_UNUSED : id >= n_ranks ? TOK_CONTROL : TOK_NORMAL);
    }
    BytesMap ranks = {0};
    for (int id = 0; id < n_ranks; id++) {
        size_t len;
        const char *b = tiktoken_token_bytes(tt, id, &len);
        if (b) bytes_map_put(&ranks, b, len, id);
    }
    // merges: count, then write (the array's length comes first)
    char *mtext = NULL;
    size_t mlen = 0;
    uint64_t n_merges = 0;
    FILE *mf = open_memstream(&mtext, &mlen);
    struct { int l, r, k; } *cand = malloc(sizeof *cand * 4096);
    if (!mf || !cand) { if (mf) fclose(mf); free(mtext); free(cand); free(buf); bytes_map_free(&ranks); return fail(err, errlen, "out of memory"); }
    for (int id = 0; id < n_ranks; id++) {
        size_t len;
        const unsigned char *b = (const unsigned char *)tiktoken_token_bytes(tt, id, &len);
        if (!b || len < 2 || len > 4096) continue;
        int nc = 0;
        for (size_t k = 1; k < len; k++) {
            int l = bytes_map_get(&ranks, b, k), r = bytes_map_get(&ranks, b + k, len - k);
            if (l >= 0 && r >= 0) { cand[nc].l = l; cand[nc].r = r; cand[nc].k = (int)k; nc++; }
        }
        for (int i = 1; i < nc; i++) // insertion sort by (left rank, right rank); nc is small
            for (int j = i; j > 0 && (cand[j].l < cand[j - 1].l || (cand[j].l == cand[j - 1].l && cand[j].r < cand[j - 1].r)); j--) {
                __typeof__(*cand) t = cand[j]; cand[j] = cand[j - 1]; cand[j - 1] = t;
            }
        for (int i = 0; i < nc; i++) {
            size_t a = byte_level_encode(b, cand[i].k, buf);
            buf[a] = ' ';
            size_t c = byte_level_encode(b + cand[i].k, len - cand[i].k, buf + a + 1);
            put_str(mf, buf, a + 1 + c);
            n_merges++;
        }
    }
    fclose(mf);
    arr_head(f, n_kv, "tokenizer.ggml.merges", GGUF_STRING, n_merges);
    fwrite(mtext, 1, mlen, f);
    free(mtext); free(cand); free(buf);
    bytes_map_free(&ranks);
    return 0;
}

// tokenizer.ggml.* for llama2.c's SentencePiece vocabulary: pieces with "▁" for space, scores,
// <unk> UNKNOWN, <s> </s> CONTROL, <0xNN> BYTE
static int llama_vocab(FILE *f, int *n_kv, const SpTokenizer *sp, int V, char *err, size_t errlen) {
    if (sp->vocab_size != V) return fail(err, errlen, "gguf: the tokenizer has %d pieces, the model %d", sp->vocab_size, V);
    kv_str(f, n_kv, "tokenizer.ggml.model", "llama");
    arr_head(f, n_kv, "tokenizer.ggml.tokens", GGUF_STRING, V);
    for (int id = 0; id < V; id++) {
        const char *p = sp->vocab[id];
        size_t n = 0;
        for (const char *c = p; *c; c++) n += *c == ' ' ? 3 : 1;
        put_u64(f, n);
        for (const char *c = p; *c; c++)
            if (*c == ' ') fwrite("\xE2\x96\x81", 1, 3, f); else fputc(*c, f);
    }
    arr_head(f, n_kv, "tokenizer.ggml.scores", GGUF_F32, V);
    fwrite(sp->scores, 4, V, f);
    arr_head(f, n_kv, "tokenizer.ggml.token_type", GGUF_I32, V);
    for (int id = 0; id < V; id++)
        put_u32(f, id == 0 ? TOK_UNKNOWN : id <= 2 ? TOK_CONTROL : id <= 258 ? TOK_BYTE : TOK_NORMAL);
    kv_u32(f, n_kv, "tokenizer.ggml.unknown_token_id", 0);
    return 0;
}

// ---- tensors ----
typedef struct {
    char name[64];
    Mat mat;          // rows x cols; rows == 0: a 1-D f32 vector of cols
    size_t rows;
    int cols;
    int rope_heads;   // attn_q / attn_k: heads whose rows go to GGUF's RoPE order
    uint32_t type;    // ggml type written
    DType dtype;      // the same as a DType
    uint64_t offset;
} OutTensor;

static uint32_t ggml_of(DType t) {
    switch (t) {
    case DTYPE_F32: return GGML_F32;
    case DTYPE_F16: return GGML_F16;
    case DTYPE_BF16: return GGML_BF16;
    case DTYPE_Q8_0: return GGML_Q8_0;
    case DTYPE_Q4_0: return GGML_Q4_0;
    case DTYPE_Q4_K: return GGML_Q4_K;
    case DTYPE_Q5_K: return GGML_Q5_K;
    default: return GGML_Q6_K;
    }
}

static uint32_t file_type(DType t) { // llama_ftype: ALL_F32 0, MOSTLY_F16 1, Q4_0 2, Q8_0 7, BF16 32
    return t == DTYPE_F32 ? 0 : t == DTYPE_F16 ? 1 : t == DTYPE_Q4_0 ? 2 : t == DTYPE_Q8_0 ? 7 : 32;
}

// Llama 3 RoPE scaling as the divisors convert_hf_to_gguf.py stores in rope_freqs.weight:
// inv_freq_i = 1 / theta^(2i/HD) in float32 (torch), then per frequency 1 (short wavelengths),
// factor (long), or 1 / ((1 - smooth) / factor + smooth) in between.
static void rope_factors(const Config *c, float *out) {
    int HD = c->head_dim;
    double lo_wl = c->rope_original_max_pos / c->rope_low_freq_factor;
    double hi_wl = c->rope_original_max_pos / c->rope_high_freq_factor;
    for (int i = 0; i < HD / 2; i++) {
        float inv = 1.0f / powf(c->rope_theta, (float)(2 * i) / (float)HD);
        double wl = 2 * M_PI / inv;
        if (wl < hi_wl) out[i] = 1.0f;
        else if (wl > lo_wl) out[i] = c->rope_factor;
        else {
            double smooth = (c->rope_original_max_pos / wl - c->rope_low_freq_factor) /
                            (c->rope_high_freq_factor - c->rope_low_freq_factor);
            out[i] = (float)(1.0 / ((1 - smooth) / c->rope_factor + smooth));
        }
    }
}

int gguf_write(const Model *m, const GgufWriteInfo *info, const char *path, DType type, char *err, size_t errlen) {
    if (dtype_is_kquant(type))
        return fail(err, errlen, "gguf: %s output is not supported (f32, f16, bf16, q8_0, q4_0 are)", dtype_name(type));
    const Config *c = &m->config;
    const Weights *w = &m->w;
    size_t C = c->dim, H = c->hidden_dim, HD = c->head_dim, V = c->vocab_size;
    size_t QD = (size_t)c->n_heads * HD, KVD = (size_t)c->n_kv_heads * HD;
    int L = c->n_layers, nt = 0;
    float *rf = calloc(HD / 2 + 1, sizeof(float));
    OutTensor *ts = calloc((size_t)9 * L + 4, sizeof *ts);
    if (!ts || !rf) { free(ts); free(rf); return fail(err, errlen, "out of memory"); }
#define ADD(nm, m_, r_, c_, heads) do { OutTensor *t = &ts[nt++]; snprintf(t->name, sizeof t->name, "%s", nm); \
        t->mat = (m_); t->rows = (r_); t->cols = (int)(c_); t->rope_heads = (heads); } while (0)
    char nm[64];
    ADD("token_embd.weight", w->tok_emb, V, C, 0);
    for (int l = 0; l < L; l++) {
        const LayerWeights *lw = &w->layers[l];
        Mat an = {lw->rms_att, DTYPE_F32}, fn = {lw->rms_ffn, DTYPE_F32};
#define LAYER(s, m_, r_, c_, h) snprintf(nm, sizeof nm, "blk.%d.%s.weight", l, s); ADD(nm, m_, r_, c_, h)
        LAYER("attn_norm", an, 0, C, 0);
        LAYER("attn_q", lw->wq, QD, C, c->n_heads);
        LAYER("attn_k", lw->wk, KVD, C, c->n_kv_heads);
        LAYER("attn_v", lw->wv, KVD, C, 0);
        LAYER("attn_output", lw->wo, C, QD, 0);
        LAYER("ffn_norm", fn, 0, C, 0);
        LAYER("ffn_gate", lw->w1, H, C, 0);
        LAYER("ffn_up", lw->w3, H, C, 0);
        LAYER("ffn_down", lw->w2, C, H, 0);
#undef LAYER
    }
    Mat on = {w->rms_final, DTYPE_F32};
    ADD("output_norm.weight", on, 0, C, 0);
    if (!c->tied_embeddings) ADD("output.weight", w->lm_head, V, C, 0);
    if (info->rope_divisors || c->rope_factor != 0) {
        if (info->rope_divisors) memcpy(rf, info->rope_divisors, HD / 2 * sizeof(float));
        else rope_factors(c, rf);
        Mat rm = {rf, DTYPE_F32};
        ADD("rope_freqs.weight", rm, 0, HD / 2, 0);
    }
#undef ADD
    uint64_t off = 0;
    size_t max_cols = 0;
    for (int i = 0; i < nt; i++) {
        OutTensor *t = &ts[i];
        t->dtype = !t->rows ? DTYPE_F32 : dtype_is_quant(type) ? t->mat.dtype : type;
        if (t->cols % dtype_block(t->dtype)) {
            free(ts); free(rf);
            return fail(err, errlen, "gguf: %s has rows of %d, not a multiple of %d: it cannot be %s", t->name, t->cols,
                        dtype_block(t->dtype), dtype_name(t->dtype));
        }
        t->type = ggml_of(t->dtype);
        t->offset = off;
        off += (dtype_bytes(t->dtype, (t->rows ? t->rows : 1) * (size_t)t->cols) + ALIGN - 1) / ALIGN * ALIGN;
        if ((size_t)t->cols > max_cols) max_cols = t->cols;
    }

    // header + metadata + tensor infos
    char *head = NULL;
    size_t hlen = 0;
    FILE *f = open_memstream(&head, &hlen);
    if (!f) { free(ts); free(rf); return fail(err, errlen, "out of memory"); }
    char meta_err[256] = "";
    char *kvtext = NULL;
    size_t kvlen = 0;
    FILE *k = open_memstream(&kvtext, &kvlen);
    int n_kv = 0, rc = k ? 0 : fail(err, errlen, "out of memory");
    if (!rc) {
        kv_str(k, &n_kv, "general.architecture", "llama");
        kv_str(k, &n_kv, "general.type", "model");
        if (info->name && *info->name) kv_str(k, &n_kv, "general.name", info->name);
        kv_u32(k, &n_kv, "llama.block_count", L);
        kv_u32(k, &n_kv, "llama.context_length", info->context_length);
        kv_u32(k, &n_kv, "llama.embedding_length", C);
        kv_u32(k, &n_kv, "llama.feed_forward_length", H);
        kv_u32(k, &n_kv, "llama.attention.head_count", c->n_heads);
        kv_u32(k, &n_kv, "llama.attention.head_count_kv", c->n_kv_heads);
        kv_f32(k, &n_kv, "llama.rope.freq_base", c->rope_theta);
        kv_f32(k, &n_kv, "llama.attention.layer_norm_rms_epsilon", c->norm_eps);
        kv_u32(k, &n_kv, "llama.attention.key_length", HD);
        kv_u32(k, &n_kv, "llama.attention.value_length", HD);
        kv_u32(k, &n_kv, "general.file_type", file_type(type));
        kv_u32(k, &n_kv, "llama.vocab_size", V);
        kv_u32(k, &n_kv, "llama.rope.dimension_count", HD);
        if (dtype_is_quant(type)) kv_u32(k, &n_kv, "general.quantization_version", 2);
        if (info->tt) rc = gpt2_vocab(k, &n_kv, info->tt, (int)V, meta_err, sizeof meta_err);
        else if (info->sp) rc = llama_vocab(k, &n_kv, info->sp, (int)V, meta_err, sizeof meta_err);
        if (!rc && (info->tt || info->sp)) {
            if (info->bos_id >= 0) kv_u32(k, &n_kv, "tokenizer.ggml.bos_token_id", info->bos_id);
            if (info->n_eos > 0) kv_u32(k, &n_kv, "tokenizer.ggml.eos_token_id", info->eos_ids[0]);
            kv_bool(k, &n_kv, "tokenizer.ggml.add_bos_token", info->bos_id >= 0);
            kv_bool(k, &n_kv, "tokenizer.ggml.add_eos_token", 0);
        }
        fclose(k);
        if (rc) fail(err, errlen, "%s", meta_err);
    }
    if (!rc) {
        fwrite("GGUF", 1, 4, f);
        put_u32(f, 3);
        put_u64(f, nt);
        put_u64(f, n_kv);
        fwrite(kvtext, 1, kvlen, f);
        for (int i = 0; i < nt; i++) {
            put_str(f, ts[i].name, strlen(ts[i].name));
            put_u32(f, ts[i].rows ? 2 : 1);
            put_u64(f, ts[i].cols);
            if (ts[i].rows) put_u64(f, ts[i].rows);
            put_u32(f, ts[i].type);
            put_u64(f, ts[i].offset);
        }
        long pos = ftell(f);
        while (pos++ % ALIGN) fputc(0, f);
    }
    free(kvtext);
    fclose(f);

    float *row = malloc(max_cols * sizeof(float));
    void *out = malloc(dtype_bytes(DTYPE_F32, max_cols) + ALIGN);
    static const char zeros[ALIGN];
    AtomicFile af;
    if (!rc && (!row || !out)) rc = fail(err, errlen, "out of memory");
    if (!rc) rc = atomic_open(&af, path, err, errlen);
    if (!rc) {
        rc = atomic_write(&af, head, hlen, err, errlen);
        for (int i = 0; !rc && i < nt; i++) {
            const OutTensor *t = &ts[i];
            size_t rows = t->rows ? t->rows : 1, hd = t->rope_heads ? t->rows / t->rope_heads : 0;
            size_t in_row = dtype_bytes(t->mat.dtype, t->cols), out_row = dtype_bytes(t->dtype, t->cols);
            for (size_t r = 0; !rc && r < rows; r++) {
                size_t src = r;
                if (hd) { // GGUF row h*HD + 2i + s <- our row h*HD + s*HD/2 + i
                    size_t h = r / hd, j = r % hd;
                    src = h * hd + (j % 2) * (hd / 2) + j / 2;
                }
                const char *p = (const char *)t->mat.data + src * in_row;
                if (t->dtype == t->mat.dtype) { rc = atomic_write(&af, p, out_row, err, errlen); continue; }
                dequantize_row(t->mat.dtype, p, row, t->cols);
                uint16_t *h16 = out;
                if (t->dtype == DTYPE_F32) memcpy(out, row, out_row);
                else if (t->dtype == DTYPE_BF16) for (int q = 0; q < t->cols; q++) h16[q] = f32_to_bf16(row[q]);
                else if (t->dtype == DTYPE_F16) for (int q = 0; q < t->cols; q++) h16[q] = f32_to_f16(row[q]);
                else if (t->dtype == DTYPE_Q8_0) quant_row_q8_0(out, row, t->cols);
                else quantize_row_q4_0(out, row, t->cols);
                rc = atomic_write(&af, out, out_row, err, errlen);
            }
            size_t pad = (ALIGN - dtype_bytes(t->dtype, rows * (size_t)t->cols) % ALIGN) % ALIGN;
            if (!rc && pad) rc = atomic_write(&af, zeros, pad, err, errlen);
        }
        if (rc) atomic_abort(&af);
        else rc = atomic_commit(&af, err, errlen);
    }
    free(head); free(row); free(out); free(ts); free(rf);
    return rc ? -1 : 0;
}
