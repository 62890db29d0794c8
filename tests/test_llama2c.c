// tests/test_llama2c.c — llama2.c's formats: its checkpoints (legacy and v1 "ak42" headers,
// interleaved RoPE rows, shared classifier) against transformers' logits for the same weights
// (tests/fixtures/hf_llama2_fp32, rewritten in llama2.c's layout), and its SentencePiece
// tokenizer.bin against SentencePiece's ids (tests/fixtures/sp_tiny).
//
// Every malformed input must fail with a one-line message, never crash.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "data/sp_tokenizer.h"
#include "formats/llama2c_loader.h"
#include "formats/safetensors.h"
#include <cjson/cJSON.h>
#include "tests/fixture.h"
#include "tests/loader_test.h"
#include "tests/test.h"

static char tmpdir[256];

// ---- llama2.c ----

// Inverse of llama2c_permute_rope_rows: rotate-half rows back to interleaved pairs (what
// llama2.c's export.py does to HF weights: old row 2j = new j, old row 2j+1 = new j + HD/2).
static void to_interleaved(float *dst, const float *src, int rows, int HD, int C) {
    for (int h = 0; h < rows / HD; h++)
        for (int j = 0; j < HD / 2; j++) {
            memcpy(dst + ((size_t)h * HD + 2 * j) * C, src + ((size_t)h * HD + j) * C, C * sizeof(float));
            memcpy(dst + ((size_t)h * HD + 2 * j + 1) * C, src + ((size_t)h * HD + j + HD / 2) * C, C * sizeof(float));
        }
}

// Writes the fp32 HF fixture as a llama2.c checkpoint (v0 legacy or v1 "ak42"), layout as in
// llama2.c's export.py; wq/wk rows go back to llama2.c's interleaved order. shared: write no
// classifier and flag it shared (the model then uses tok_emb as its head). extra: bytes of
// junk appended (a wrong-size file).
static void write_llama2c(const char *path, int v1, int shared, int extra) {
    SafeTensors st;
    char err[512];
    if (safetensors_open(&st, "tests/fixtures/hf_llama2_fp32/model.safetensors", err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    const int C = 64, H = 172, L = 2, NH = 4, V = 256, S = 128, HD = 16;
    FILE *f = fopen(path, "wb");
#define T(name) ((const float *)safetensors_find(&st, name)->data)
#define PUT(p, n) fwrite(p, sizeof(float), (size_t)(n), f)
    char name[128];
    if (v1) {
        uint32_t magic = LLAMA2C_MAGIC;
        int32_t version = 1, hdr[7] = {C, H, L, NH, NH, V, S};
        unsigned char pad[256] = {0};
        fwrite(&magic, 4, 1, f);
        fwrite(&version, 4, 1, f);
        fwrite(hdr, 4, 7, f);
        pad[0] = (unsigned char)shared;
        fwrite(pad, 1, 256 - 36, f); // the flag byte, then zeros to 256
        const char *norms[] = {"input_layernorm", "post_attention_layernorm"};
        for (int k = 0; k < 2; k++)
            for (int l = 0; l < L; l++) { snprintf(name, sizeof name, "model.layers.%d.%s.weight", l, norms[k]); PUT(T(name), C); }
        PUT(T("model.norm.weight"), C);
        PUT(T("model.embed_tokens.weight"), V * C);
    } else {
        int32_t hdr[7] = {C, H, L, NH, NH, shared ? V : -V, S};
        fwrite(hdr, 4, 7, f);
        PUT(T("model.embed_tokens.weight"), V * C);
        for (int l = 0; l < L; l++) { snprintf(name, sizeof name, "model.layers.%d.input_layernorm.weight", l); PUT(T(name), C); }
    }
    float *buf = malloc((size_t)C * H * sizeof(float));
    const char *mats[] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                          "post_attention_layernorm", "mlp.gate_proj", "mlp.down_proj", "mlp.up_proj"};
    for (int k = 0; k < 8; k++) {
        if (k == 4 && v1) continue; // v1 wrote the norms up front
        for (int l = 0; l < L; l++) {
            snprintf(name, sizeof name, "model.layers.%d.%s.weight", l, mats[k]);
            const SafeTensor *t = safetensors_find(&st, name);
            if (k < 2) { to_interleaved(buf, t->data, C, HD, C); PUT(buf, C * C); }
            else PUT(t->data, t->nbytes / 4);
        }
    }
    if (!v1) {
        PUT(T("model.norm.weight"), C);
        float *freqs = calloc((size_t)S * HD, sizeof(float)); // freq_cis_real, freq_cis_imag: skipped by the loader
        PUT(freqs, S * HD / 2);
        PUT(freqs, S * HD / 2);
        free(freqs);
    }
    if (!shared) PUT(T("lm_head.weight"), V * C);
    for (int i = 0; i < extra; i++) fputc(0, f);
#undef T
#undef PUT
    fclose(f);
    free(buf);
    safetensors_close(&st);
}

static void test_llama2c(void) {
    char path[512], err[512];
    Fixture fx;
    fixture_load(&fx, "tests/fixtures/hf_llama2_fp32.fx");
    FixtureTensor *tp = fixture_get(&fx, "prompt2");
    const float *ref = fixture_get(&fx, "logits2")->data;
    const int V = 256, T = (int)tp->numel;
    for (int v1 = 0; v1 < 2; v1++) {
        snprintf(path, sizeof path, "%s/model_v%d.bin", tmpdir, v1);
        write_llama2c(path, v1, 0, 0);
        Model *m = llama2c_load(path, 0, err, sizeof err);
        CHECK(m != NULL, "llama2c_load %s header (%s)", v1 ? "v1 ak42" : "legacy", m ? "ok" : err);
        if (!m) continue;
        model_kv_alloc(m, m->config.max_seq_len);
        const float *logits = model_forward_kv(m, tp->data, T, 0, 1);
        double e = rel_err(logits, ref, (size_t)T * V);
        CHECK(e < 1e-5, "llama2.c %s file (interleaved RoPE rows) of the fp32 fixture: logits vs transformers: "
              "max rel err %.2e (tol 1e-05)", v1 ? "v1" : "legacy", e);
        model_free(m);
    }
    // shared classifier: the head is tok_emb, no extra tensor in the file
    snprintf(path, sizeof path, "%s/model_shared.bin", tmpdir);
    write_llama2c(path, 1, 1, 0);
    Model *m = llama2c_load(path, 0, err, sizeof err);
    CHECK(m && m->config.tied_embeddings && m->w.lm_head.data == m->w.tok_emb.data,
          "llama2c_load v1 shared classifier: lm_head is tok_emb (%s)", m ? "ok" : err);
    model_free(m);
    snprintf(path, sizeof path, "%s/model_shared0.bin", tmpdir);
    write_llama2c(path, 0, 1, 0);
    m = llama2c_load(path, 0, err, sizeof err);
    CHECK(m && m->config.tied_embeddings, "llama2c_load legacy positive vocab_size = shared classifier (%s)", m ? "ok" : err);
    model_free(m);

    // wrong sizes and foreign files
    struct { const char *what; int v1, extra; const char *expect; } bad[] = {
        {"legacy file 4 bytes too long", 0, 4, "implies"},
        {"v1 file 1 byte too long", 1, 1, "implies"},
    };
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/bad%d.bin", tmpdir, i);
        write_llama2c(path, bad[i].v1, 0, bad[i].extra);
        m = llama2c_load(path, 0, err, sizeof err);
        CHECK(!m && one_line(err) && strstr(err, bad[i].expect), "llama2c_load %s: \"%s\"", bad[i].what, err);
    }
    size_t n;
    snprintf(path, sizeof path, "%s/model_v0.bin", tmpdir);
    char *buf = read_file(path, &n);
    snprintf(path, sizeof path, "%s/trunc.bin", tmpdir);
    write_file(path, buf, n - 4);
    m = llama2c_load(path, 0, err, sizeof err);
    CHECK(!m && one_line(err) && strstr(err, "implies"), "llama2c_load truncated legacy file: \"%s\"", err);
    write_file(path, buf, 20);
    m = llama2c_load(path, 0, err, sizeof err);
    CHECK(!m && one_line(err) && strstr(err, "truncated"), "llama2c_load 20-byte file: \"%s\"", err);
    ((int32_t *)buf)[3] = 5; // n_heads 5 does not divide dim 64
    write_file(path, buf, n);
    m = llama2c_load(path, 0, err, sizeof err);
    CHECK(!m && one_line(err), "llama2c_load header with n_heads 5: \"%s\"", err);
    write_file(path, "{\"json\": \"not a model at all\"}", 31);
    m = llama2c_load(path, 0, err, sizeof err);
    CHECK(!m && one_line(err), "llama2c_load a JSON file: \"%s\"", err);
    ((uint32_t *)buf)[0] = LLAMA2C_MAGIC;
    ((int32_t *)buf)[1] = 2; // Q8_0 export
    write_file(path, buf, 300);
    m = llama2c_load(path, 0, err, sizeof err);
    CHECK(!m && one_line(err) && strstr(err, "version 2"), "llama2c_load ak42 version 2: \"%s\"", err);
    free(buf);
    fixture_free(&fx);
}

// The permutation on its own: llama2.c's RoPE rotates pairs (2i, 2i+1) of q = W x with angle
// pos * theta^(-2i/HD); ours rotates (i, i + HD/2) of q' = W' x with W' the permuted rows. Then
// q'[j] = q[2j] and q'[j + HD/2] = q[2j + 1] after rotation too, so q.k is unchanged.
static void test_permutation(void) {
    enum { HD = 8, NH = 2, C = 6, ROWS = NH * HD };
    float w[ROWS * C], wp[ROWS * C], x[C], q[ROWS], qp[ROWS];
    srand(3);
    for (int i = 0; i < ROWS * C; i++) w[i] = rand() / (float)RAND_MAX - 0.5f;
    for (int i = 0; i < C; i++) x[i] = rand() / (float)RAND_MAX - 0.5f;
    llama2c_permute_rope_rows(wp, w, 1, NH, HD, C);
    for (int r = 0; r < ROWS; r++) {
        q[r] = qp[r] = 0;
        for (int c = 0; c < C; c++) { q[r] += w[r * C + c] * x[c]; qp[r] += wp[r * C + c] * x[c]; }
    }
    const int pos = 5;
    double worst = 0;
    for (int h = 0; h < NH; h++)
        for (int i = 0; i < HD / 2; i++) {
            double ang = pos * pow(10000.0, -2.0 * i / HD), cs = cos(ang), sn = sin(ang);
            // llama2.c run.c: (v0, v1) = (q[2i], q[2i+1]) -> (v0 cos - v1 sin, v0 sin + v1 cos)
            double a0 = q[h * HD + 2 * i], a1 = q[h * HD + 2 * i + 1];
            double r0 = a0 * cs - a1 * sn, r1 = a0 * sn + a1 * cs;
            // rotate-half: (q'[i], q'[i + HD/2]) -> (x cos - y sin, y cos + x sin)
            double b0 = qp[h * HD + i], b1 = qp[h * HD + i + HD / 2];
            double s0 = b0 * cs - b1 * sn, s1 = b1 * cs + b0 * sn;
            worst = fmax(worst, fmax(fabs(r0 - s0), fabs(r1 - s1)));
        }
    CHECK(worst < 1e-6, "llama2c_permute_rope_rows: interleaved RoPE of W x == rotate-half RoPE of W' x, "
          "element for element: max err %.1e (tol 1e-06)", worst);
}

// ---- llama2.c tokenizer.bin ----

// The first line of s, at most 30 bytes, for naming a case in one output line.
static const char *head_of(const char *s) {
    static char buf[40];
    size_t n = strcspn(s, "\n");
    snprintf(buf, sizeof buf, "%.*s%s", (int)(n < 30 ? n : 30), s, s[n] || n > 30 ? "..." : "");
    return buf;
}

// tests/fixtures/sp_tiny (tools/make_sp_fixture.py): a 600-piece SentencePiece BPE trained with
// Llama 2's settings on tiny Shakespeare, exported as llama2.c's tokenizer.py does, and
// SentencePiece's own ids (with BOS) for texts that reach every part of the encoder: merges,
// the dummy prefix, runs of spaces, digits split one by one, byte fallback for characters the
// vocabulary lacks (CJK, emoji), \r and \t.
static void test_sp_tokenizer(void) {
    char path[512], err[512];
    snprintf(path, sizeof path, "tests/fixtures/sp_tiny/tokenizer.bin");
    SpTokenizer t;
    int rc = sp_load(&t, path, err, sizeof err);
    CHECK(rc == 0 && t.vocab_size == 600, "sp_load sp_tiny tokenizer.bin: %d tokens (%s)", t.vocab_size, rc ? err : "ok");
    if (rc) return;
    size_t jlen;
    char *json = read_file("tests/fixtures/sp_tiny/cases.json", &jlen);
    cJSON *root = json ? cJSON_Parse(json) : NULL;
    cJSON *cases = cJSON_GetObjectItemCaseSensitive(root, "cases");
    CHECK(cJSON_GetArraySize(cases) >= 10, "sp_tiny/cases.json: %d cases", cJSON_GetArraySize(cases));
    int n_fallback = 0;
    for (cJSON *c = cases ? cases->child : NULL; c; c = c->next) {
        const char *text = cJSON_GetObjectItemCaseSensitive(c, "text")->valuestring;
        cJSON *want = cJSON_GetObjectItemCaseSensitive(c, "ids");
        int nw = cJSON_GetArraySize(want), *ids = malloc((strlen(text) + 3) * sizeof(int));
        int n = sp_encode(&t, text, 1, 0, ids), same = n == nw;
        for (int i = 0; same && i < n; i++) {
            same = ids[i] == cJSON_GetArrayItem(want, i)->valueint;
            n_fallback += ids[i] >= 3 && ids[i] < 259;
        }
        CHECK(same, "sp_encode \"%s\": %d ids identical to SentencePiece's (got %d)", head_of(text), nw, n);
        // and back: decode each piece after its predecessor, as bin/infer prints
        char *out = malloc(strlen(text) * 4 + 64);
        size_t len = 0, k;
        for (int i = 1; i < n; i++) {
            const char *b = sp_decode(&t, ids[i - 1], ids[i], &k);
            memcpy(out + len, b, k);
            len += k;
        }
        out[len] = '\0';
        CHECK(len == strlen(text) && memcmp(out, text, len) == 0, "sp_decode round trip \"%s\"", head_of(text));
        free(out);
        free(ids);
    }
    CHECK(n_fallback > 0, "the cases use byte fallback (%d <0xXX> ids)", n_fallback);
    cJSON_Delete(root);
    free(json);
    sp_free(&t);

    snprintf(path, sizeof path, "%s/tok_trunc.bin", tmpdir);
    size_t size;
    char *buf = read_file("tests/fixtures/sp_tiny/tokenizer.bin", &size);
    write_file(path, buf, size - 3);
    free(buf);
    rc = sp_load(&t, path, err, sizeof err);
    CHECK(rc == -1 && one_line(err) && strstr(err, "truncated"), "sp_load truncated tokenizer.bin: \"%s\"", err);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_llama2c.XXXXXX");
    if (!mkdtemp(tmpdir)) { perror("mkdtemp"); return 1; }
    test_permutation();
    test_llama2c();
    test_sp_tokenizer();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return test_summary();
}
