// tests/test_gguf.c — the GGUF reader against llama.cpp's own files (tests/fixtures/gguf/, made
// by convert_hf_to_gguf.py and llama-quantize: tools/make_gguf_fixtures.py,
// tools/make_gguf_reference.sh):
//  - the f32 / f16 / bf16 GGUFs of tests/fixtures/hf_llama32_bf16 give the logits of that HF
//    folder (checks the Q/K un-permutation and the rope_freqs scaling);
//  - our Q8_0 / Q4_0 quantizer writes the very bytes llama-quantize wrote;
//  - perplexity on ppl.txt matches llama-perplexity's on the same files (llamacpp_ppl.txt),
//    among them a Q4_K_M file (Q4_K, Q5_K and Q6_K matrices) of a random model with rows of 256;
//  - that Q4_K_M file loads as the mix it is and, written back as f32, gives the same logits;
//  - the SentencePiece tokenizer read from GGUF metadata encodes as sentencepiece did.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "formats/gguf.h"
#include "formats/gguf_writer.h"
#include "infer/load.h"
#include "infer/perplexity.h"
#include "infer/tokenizer.h"
#include "model/quant.h"
#include "tests/test.h"

#define DIR "tests/fixtures/gguf/"

// quant: -1, or the type every matrix is re-quantized to after loading (bin/infer --quant)
static float *run_logits(const char *path, int quant, const int *toks, int T, int *V) {
    char err[512];
    LoadedModel lm;
    if (load_model(&lm, path, 0, err, sizeof err) != 0) { CHECK(0, "load %s: %s", path, err); return NULL; }
    if (quant >= 0 && load_quantize(&lm, quant, quant, err, sizeof err) != 0) {
        CHECK(0, "quantize %s: %s", path, err);
        unload_model(&lm);
        return NULL;
    }
    model_kv_alloc(lm.m, lm.ctx);
    *V = lm.m->config.vocab_size;
    float *out = malloc(sizeof(float) * T * *V);
    for (int t = 0; t < T; t++) memcpy(out + (size_t)t * *V, model_forward_kv(lm.m, toks + t, 1, t, 0), sizeof(float) * *V);
    unload_model(&lm);
    return out;
}

static void test_logits(void) {
    enum { T = 100 }; // past original_max_position_embeddings (64): the scaled RoPE frequencies matter
    int toks[T], V, Vg;
    for (int t = 0; t < T; t++) toks[t] = (t * 37 + 11) % 300;
    float *ref = run_logits("tests/fixtures/hf_llama32_bf16", -1, toks, T, &V);
    const char *files[] = {"tiny_f32", "tiny_f16", "tiny_bf16"};
    for (int i = 0; i < 3 && ref; i++) {
        char p[256];
        snprintf(p, sizeof p, DIR "%s.gguf", files[i]);
        float *got = run_logits(p, -1, toks, T, &Vg);
        if (!got) continue;
        double w = 0, mag = 0;
        for (size_t k = 0; k < (size_t)T * V; k++) { w = fmax(w, fabs(got[k] - ref[k])); mag = fmax(mag, fabs(ref[k])); }
        // bf16 weights are exact in f32, f16 and bf16: only the summation order may differ
        CHECK(Vg == V && w < 1e-5 * mag, "%s logits == the HF folder's over %d positions: max err %.2e (tol %.1e)",
              files[i], T, w, 1e-5 * mag);
        free(got);
    }
    free(ref);
}

// every Q8_0 / Q4_0 tensor llama-quantize wrote, re-made by quantize_mat from the f32 file
static void test_bit_exact(void) {
    char err[512];
    GgufFile f32, q;
    if (gguf_open(&f32, DIR "tiny_f32.gguf", err, sizeof err) != 0) { CHECK(0, "%s", err); return; }
    const char *files[] = {DIR "tiny_q8_0.gguf", DIR "tiny_q4_0.gguf"};
    for (int i = 0; i < 2; i++) {
        if (gguf_open(&q, files[i], err, sizeof err) != 0) { CHECK(0, "%s", err); continue; }
        int n = 0, same = 0;
        for (uint64_t k = 0; k < q.n_tensors; k++) {
            const GgufTensor *t = &q.tensors[k];
            if (t->type != GGML_Q8_0 && t->type != GGML_Q4_0) continue;
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.s);
            const GgufTensor *src = gguf_tensor(&f32, name);
            if (!src || src->type != GGML_F32) continue;
            DType d = t->type == GGML_Q8_0 ? DTYPE_Q8_0 : DTYPE_Q4_0;
            void *mine = malloc(t->bytes);
            quantize_mat(mine, d, (Mat){src->data, DTYPE_F32}, t->ne[1], (int)t->ne[0]);
            n++;
            same += memcmp(mine, t->data, t->bytes) == 0;
            free(mine);
        }
        CHECK(n >= 14 && same == n, "%s: %d of %d quantized tensors byte-identical to llama-quantize's", files[i], same, n);
        gguf_close(&q);
    }
    gguf_close(&f32);
}

static void test_perplexity(void) {
    FILE *f = fopen(DIR "llamacpp_ppl.txt", "r");
    if (!f) { CHECK(0, "open " DIR "llamacpp_ppl.txt"); return; }
    char file[128], err[512];
    int ctx;
    double want;
    long want_count;
    while (fscanf(f, "%127s %d %lf %ld", file, &ctx, &want, &want_count) == 4) {
        char p[256];
        snprintf(p, sizeof p, DIR "%s", file);
        LoadedModel lm;
        Tokenizer tok;
        if (load_model(&lm, p, ctx, err, sizeof err) != 0 ||
            tokenizer_open(&tok, lm.tokenizer_path, lm.tokenizer_pattern, err, sizeof err) != 0) {
            CHECK(0, "%s: %s", p, err);
            continue;
        }
        model_kv_alloc(lm.m, lm.ctx);
        PerplexityResult r;
        int rc = perplexity_file(lm.m, &tok, lm.bos_id, DIR "ppl.txt", ctx, NULL, &r, err, sizeof err);
        // llama.cpp dots K-quant rows with activations rounded to 8 bits (Q8_K); ours are float
        double rel = fabs(r.ppl - want) / want, tol = strstr(file, "_k_m") ? 1e-2 : 1e-3;
        CHECK(rc == 0 && r.count == want_count && rel < tol,
              "perplexity %s --ctx %d: %.4f over %ld tokens, llama-perplexity %.4f over %ld: rel err %.1e (tol %.0e)",
              file, ctx, r.ppl, r.count, want, want_count, rel, tol);
        tokenizer_close(&tok);
        unload_model(&lm);
    }
    fclose(f);
}

// the first 2000 bytes of ppl.txt, line by line, against sentencepiece's ids
static void test_sp_tokenizer(void) {
    char err[512];
    LoadedModel lm;
    Tokenizer tok;
    if (load_model(&lm, DIR "tiny_q8_0.gguf", 0, err, sizeof err) != 0 ||
        tokenizer_open(&tok, lm.tokenizer_path, lm.tokenizer_pattern, err, sizeof err) != 0) {
        CHECK(0, "tokenizer from GGUF: %s", err);
        return;
    }
    CHECK(tok.kind == TOKENIZER_SP && tok.vocab_size == 300 && lm.bos_id == 256,
          "GGUF tokenizer.ggml.model llama -> SentencePiece, %d pieces, BOS %d (tokenizer.ggml.bos_token_id)",
          tok.vocab_size, lm.bos_id);
    FILE *t = fopen(DIR "ppl.txt", "r"), *ids = fopen(DIR "tiny_sp_ids.txt", "r");
    char text[2001] = {0};
    size_t got = t ? fread(text, 1, 2000, t) : 0;
    text[got] = '\0';
    int lines = 0, same = 0;
    char *save = NULL, want[4096];
    for (char *line = strtok_r(text, "\n", &save); line && ids && fgets(want, sizeof want, ids); line = strtok_r(NULL, "\n", &save)) {
        int n;
        int *mine = tokenizer_encode(&tok, line, &n, err, sizeof err);
        char buf[4096] = "";
        size_t off = 0;
        for (int i = 0; i < n && off < sizeof buf - 16; i++) off += snprintf(buf + off, sizeof buf - off, "%s%d", i ? " " : "", mine[i]);
        want[strcspn(want, "\n")] = '\0';
        lines++;
        same += strcmp(buf, want) == 0;
        if (strcmp(buf, want) != 0 && lines - same == 1) printf("     line %d: ours \"%s\" sentencepiece \"%s\"\n", lines, buf, want);
        free(mine);
    }
    CHECK(lines > 50 && same == lines, "SentencePiece from GGUF == sentencepiece on %d of %d lines", same, lines);
    if (t) fclose(t);
    if (ids) fclose(ids);
    tokenizer_close(&tok);
    unload_model(&lm);
}

// llama-quantize's Q4_K_M mix, as loaded (the types tools/make_gguf_reference.sh asked for);
// written back to an f32 GGUF (every matrix through dequantize_row), the same logits; a K-quant
// output type refused; re-quantized to Q8_0 (--quant q8_0), logits close to the file's
static void test_kquant_file(void) {
    char err[512], path[] = "/tmp/test_gguf_kquant.XXXXXX";
    LoadedModel lm;
    if (load_model(&lm, DIR "random256_q4_k_m.gguf", 0, err, sizeof err) != 0) { CHECK(0, "%s", err); return; }
    const LayerWeights *w = &lm.m->w.layers[0];
    CHECK(lm.m->w.tok_emb.dtype == DTYPE_Q5_K && lm.m->w.lm_head.data == lm.m->w.tok_emb.data &&
          w->wq.dtype == DTYPE_Q4_K && w->wk.dtype == DTYPE_Q4_K && w->wo.dtype == DTYPE_Q4_K &&
          w->w1.dtype == DTYPE_Q4_K && w->w3.dtype == DTYPE_Q4_K && w->wv.dtype == DTYPE_Q6_K && w->w2.dtype == DTYPE_Q6_K,
          "random256_q4_k_m.gguf: embedding/head %s, wq %s, wv %s, w2 %s", dtype_name(lm.m->w.tok_emb.dtype),
          dtype_name(w->wq.dtype), dtype_name(w->wv.dtype), dtype_name(w->w2.dtype));
    GgufWriteInfo info = {lm.bos_id, lm.eos_ids, lm.n_eos, 256, "k", NULL, NULL, NULL};
    int fd = mkstemp(path), rc = fd < 0 ? -1 : gguf_write(lm.m, &info, path, DTYPE_Q4_K, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "gguf: q4_k output is not supported"), "gguf_write q4_k refused: \"%s\"", err);
    rc = fd < 0 ? -1 : gguf_write(lm.m, &info, path, DTYPE_F32, err, sizeof err);
    CHECK(rc == 0, "gguf_write f32 of the Q4_K_M model: %s", rc ? err : "ok");
    unload_model(&lm);
    enum { T = 40 };
    int toks[T], V = 0, Vf = 0, Vq = 0;
    for (int t = 0; t < T; t++) toks[t] = (t * 37 + 11) % 300;
    float *k = run_logits(DIR "random256_q4_k_m.gguf", -1, toks, T, &V), *f = rc ? NULL : run_logits(path, -1, toks, T, &Vf);
    float *q = run_logits(DIR "random256_q4_k_m.gguf", DTYPE_Q8_0, toks, T, &Vq);
    for (int i = 0; i < 2 && k; i++) {
        const float *o = (i ? Vq : Vf) == V ? (i ? q : f) : NULL;
        double tol = i ? 0.05 : 1e-5, e = 0, mag = 0;
        for (size_t j = 0; o && j < (size_t)T * V; j++) { e = fmax(e, fabs(k[j] - o[j])); mag = fmax(mag, fabs(k[j])); }
        CHECK(o && e < tol * mag, "Q4_K_M logits vs %s over %d positions: max err %.2e (tol %g of max |logit| %.2f)",
              i ? "re-quantized to Q8_0" : "its f32 export's", T, e, tol, mag);
    }
    free(k); free(f); free(q);
    if (fd >= 0) { close(fd); unlink(path); }
}

int main(void) {
    test_logits();
    test_bit_exact();
    test_kquant_file();
    test_perplexity();
    test_sp_tokenizer();
    return test_summary();
}
