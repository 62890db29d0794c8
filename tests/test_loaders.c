// tests/test_loaders.c — the safetensors reader, the Hugging Face and llama2.c loaders and
// llama2.c's SentencePiece tokenizer, against references from transformers (tests/fixtures,
// written by tools/make_hf_fixtures.py) and SentencePiece (ids quoted from llama2.c's test.c).
//
// Every malformed input must fail with a one-line message, never crash.
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stb/stb_ds.h>
#include "data/sp_tokenizer.h"
#include "infer/generate.h"
#include "infer/sampler.h"
#include "formats/hf_loader.h"
#include "formats/llama2c_loader.h"
#include "formats/safetensors.h"
#include <cjson/cJSON.h>
#include "tests/fixture.h"
#include "tests/test.h"

static char tmpdir[256];

// ---- small file helpers ----

static void write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n) { perror(path); exit(1); }
    fclose(f);
}

static char *read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(1); }
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc(*n + 1);
    if (fread(buf, 1, *n, f) != *n) { perror(path); exit(1); }
    buf[*n] = '\0';
    fclose(f);
    return buf;
}

static void copy_dir(const char *src, const char *dst) {
    mkdir(dst, 0755);
    DIR *d = opendir(src);
    if (!d) { perror(src); exit(1); }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char a[1024], b[1024];
        snprintf(a, sizeof a, "%s/%s", src, e->d_name);
        snprintf(b, sizeof b, "%s/%s", dst, e->d_name);
        size_t n;
        char *buf = read_file(a, &n);
        write_file(b, buf, n);
        free(buf);
    }
    closedir(d);
}

static ptrdiff_t arrlen_copies(HfModel *h) { return arrlen(h->copies); }

static int one_line(const char *err) { return err[0] && !strchr(err, '\n'); }

// The first line of s, at most 30 bytes, for naming a case in one output line.
static const char *head_of(const char *s) {
    static char buf[40];
    size_t n = strcspn(s, "\n");
    snprintf(buf, sizeof buf, "%.*s%s", (int)(n < 30 ? n : 30), s, s[n] || n > 30 ? "..." : "");
    return buf;
}

// A safetensors file from a header string and a data buffer; hdr_len_override replaces the
// 8-byte length when nonzero.
static void write_st(const char *path, const char *header, const void *data, size_t n, uint64_t hdr_len_override) {
    uint64_t hl = hdr_len_override ? hdr_len_override : strlen(header);
    size_t total = 8 + strlen(header) + n;
    char *buf = malloc(total);
    memcpy(buf, &hl, 8);
    memcpy(buf + 8, header, strlen(header));
    memcpy(buf + 8 + strlen(header), data, n);
    write_file(path, buf, total);
    free(buf);
}

// ---- comparisons ----

// max |a - b| / max |b|: the error relative to the scale of the reference logits
static double rel_err(const float *a, const float *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (d > num || isnan(d)) num = isnan(d) ? INFINITY : d;
        if (fabs(b[i]) > den) den = fabs(b[i]);
    }
    return num / (den > 0 ? den : 1);
}

// ---- safetensors ----

static void test_safetensors(void) {
    char path[512], err[512];
    SafeTensors st;
    // transformers' shards of tests/fixtures/hf_llama3_tiny: the embedding alone in the first,
    // the 19 other tensors in the second
    snprintf(path, sizeof path, "tests/fixtures/hf_llama3_tiny/model-00001-of-00002.safetensors");
    int rc = safetensors_open(&st, path, err, sizeof err);
    CHECK(rc == 0, "safetensors_open hf_llama3_tiny shard 1 (%s)", rc ? err : "ok");
    if (rc == 0) {
        const SafeTensor *t = safetensors_find(&st, "model.embed_tokens.weight");
        CHECK(t && t->dtype == DTYPE_BF16 && t->ndim == 2 && t->shape[0] == 128256 && t->shape[1] == 4 &&
              t->nbytes == 128256 * 4 * 2 && st.n_tensors == 1, "safetensors embed_tokens: BF16 [128256, 4], 1026048 bytes, alone");
        safetensors_close(&st);
    }
    snprintf(path, sizeof path, "tests/fixtures/hf_llama3_tiny/model-00002-of-00002.safetensors");
    rc = safetensors_open(&st, path, err, sizeof err);
    CHECK(rc == 0, "safetensors_open hf_llama3_tiny shard 2 (%s)", rc ? err : "ok");
    if (rc == 0) {
        const SafeTensor *t = safetensors_find(&st, "model.layers.0.self_attn.k_proj.weight");
        CHECK(t && t->dtype == DTYPE_BF16 && t->ndim == 2 && t->shape[0] == 8 && t->shape[1] == 4 &&
              t->nbytes == 8 * 4 * 2, "safetensors k_proj: BF16 [8, 4], 64 bytes");
        CHECK(st.n_tensors == 19 && !safetensors_find(&st, "nope"), "safetensors: 19 tensors, unknown name -> NULL");
        safetensors_close(&st);
    }

    // malformed files: each one line, each refused
    float data[6] = {1, 2, 3, 4, 5, 6};
    struct { const char *what, *header; size_t n; uint64_t len; const char *expect; } bad[] = {
        {"header length past EOF", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, 1000, "past the end"},
        {"malformed JSON", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],", 8, 0, "JSON"},
        {"unknown dtype", "{\"a\":{\"dtype\":\"Q4_K\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, 0, "unknown dtype"},
        {"shape x dtype != bytes", "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, 0, "need 12 bytes"},
        {"offsets past EOF", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8, 0, "past the end"},
        {"overlapping tensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                                "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, 0, "overlaps"},
        {"hole between tensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                                 "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12, 0, "hole"},
        {"trailing bytes", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 12, 0, "trailing"},
        {"negative offset", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4, 0, "data_offsets"},
        {"shape overflow", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", 4, 0, "overflow"},
        {"header not an object", "[1,2,3]", 0, 0, "not a JSON object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(path, sizeof path, "%s/bad%zu.safetensors", tmpdir, i);
        write_st(path, bad[i].header, data, bad[i].n, bad[i].len);
        err[0] = '\0';
        rc = safetensors_open(&st, path, err, sizeof err);
        CHECK(rc == -1 && one_line(err) && strstr(err, bad[i].expect), "safetensors %s: \"%s\"", bad[i].what, err);
    }
    snprintf(path, sizeof path, "%s/short.safetensors", tmpdir);
    write_file(path, "abc", 3);
    rc = safetensors_open(&st, path, err, sizeof err);
    CHECK(rc == -1 && one_line(err) && strstr(err, "truncated"), "safetensors 3-byte file: \"%s\"", err);
}

// ---- Hugging Face checkpoints vs transformers ----

// generate()'s token callback for the tests: collect the ids
typedef struct { int *ids, *n; } Collect;
static int collect(void *u, int t) {
    Collect *c = u;
    c->ids[(*c->n)++] = t;
    return 0;
}

// Logits at every prompt position, the greedy continuation through generate() (bin/infer's
// loop), and KV-cached decode vs full recompute at every generated step.
static void check_hf_against_fixture(const char *tag, const char *dir, const char *fx_path, double tol) {
    char err[512];
    HfModel h, h2;
    int rc = hf_load(&h, dir, 0, 0, err, sizeof err);
    CHECK(rc == 0, "%s: hf_load (%s)", tag, rc ? err : "ok");
    if (rc) return;
    Fixture fx;
    if (fixture_load(&fx, fx_path) != 0) { CHECK(0, "%s: fixture %s", tag, fx_path); hf_free(&h); return; }
    hf_load(&h2, dir, 0, 0, err, sizeof err); // a second copy, for full recomputes
    Model *m = h.model;
    const int V = m->config.vocab_size;
    int *meta = fixture_get(&fx, "meta")->data;
    CHECK(meta[0] == V && meta[1] == h.bos_id && h.n_eos >= 1 && h.eos_ids[0] == meta[2],
          "%s: config vocab %d bos %d eos %d match the fixture", tag, V, h.bos_id, h.eos_ids[0]);
    model_kv_alloc(m, m->config.max_seq_len);
    model_kv_alloc(h2.model, h2.model->config.max_seq_len);
    Sampler greedy;
    sampler_init(&greedy, V, 0.0f, 0, 1.0f, 0.0f, 1);
    for (int k = 0;; k++) {
        char name[32];
        snprintf(name, sizeof name, "prompt%d", k);
        FixtureTensor *tp = NULL;
        for (int i = 0; i < fx.count; i++) if (strcmp(fx.t[i].name, name) == 0) tp = &fx.t[i];
        if (!tp) break;
        const int T = (int)tp->numel, *prompt = tp->data;
        snprintf(name, sizeof name, "logits%d", k);
        const float *ref = fixture_get(&fx, name)->data;
        snprintf(name, sizeof name, "greedy%d", k);
        FixtureTensor *tg = fixture_get(&fx, name);
        const int *ref_ids = tg->data, G = (int)tg->numel;

        const float *logits = model_forward_kv(m, prompt, T, 0, 1);
        double e = logits ? rel_err(logits, ref, (size_t)T * V) : INFINITY;
        CHECK(e < tol, "%s prompt %d (T=%d): logits at every position vs transformers: max rel err %.2e (tol %.0e)",
              tag, k, T, e, tol);

        // greedy through generate(), as bin/infer runs it
        int ids[256], n = 0, pos = 0;
        GenResult r;
        Collect col = { ids, &n };
        rc = generate(m, &greedy, m->config.max_seq_len, prompt, T, &pos, G, h.eos_ids, h.n_eos, collect, &col,
                      NULL, &r, err, sizeof err);
        int same = rc == 0 && n == G;
        for (int i = 0; same && i < G; i++) same = ids[i] == ref_ids[i];
        CHECK(same, "%s prompt %d: greedy %d tokens through generate() identical to transformers generate() "
              "(got %d, first %d %d %d)", tag, k, G, n, n > 0 ? ids[0] : -1, n > 1 ? ids[1] : -1, n > 2 ? ids[2] : -1);

        // KV-cached decode (model m: prefill, then one token at a time) vs a full recompute of
        // the whole sequence from an empty cache (model h2) at every step
        int seq[256];
        memcpy(seq, prompt, T * sizeof(int));
        memcpy(seq + T, ref_ids, G * sizeof(int));
        model_forward_kv(m, seq, T, 0, 0);
        double worst = 0;
        for (int i = 0; i < G; i++) {
            const float *inc = model_forward_kv(m, &seq[T + i], 1, T + i, 0);
            float *inc_copy = malloc(V * sizeof(float));
            memcpy(inc_copy, inc, V * sizeof(float));
            const float *full = model_forward_kv(h2.model, seq, T + i + 1, 0, 0);
            double ei = rel_err(inc_copy, full, V);
            worst = ei > worst ? ei : worst;
            free(inc_copy);
        }
        CHECK(worst < 1e-5, "%s prompt %d: KV-cached decode vs full recompute, %d steps: max rel err %.2e (tol 1e-05)",
              tag, k, G, worst);
    }
    sampler_free(&greedy);
    fixture_free(&fx);
    hf_free(&h2);
    hf_free(&h);
}

// Loading into the f32 parameter buffer (bin/train --init) computes the same logits.
static void check_f32_params(const char *dir, const char *fx_path, double tol) {
    char err[512];
    HfModel h;
    int rc = hf_load(&h, dir, 1, 0, err, sizeof err);
    CHECK(rc == 0 && h.model->params_memory && h.n_shards == 0, "hf_load %s into f32 params (%s)", dir, rc ? err : "ok");
    if (rc) return;
    Fixture fx;
    fixture_load(&fx, fx_path);
    FixtureTensor *tp = fixture_get(&fx, "prompt2");
    model_kv_alloc(h.model, h.model->config.max_seq_len);
    const float *logits = model_forward_kv(h.model, tp->data, (int)tp->numel, 0, 1);
    double e = rel_err(logits, fixture_get(&fx, "logits2")->data, tp->numel * h.model->config.vocab_size);
    CHECK(e < tol, "%s as f32 params: logits vs transformers: max rel err %.2e (tol %.0e)", dir, e, tol);
    fixture_free(&fx);
    hf_free(&h);
}

// Corrupted copies of a fixture directory: each hf_load must fail with one line.
static void check_hf_malformed(void) {
    const char *src = "tests/fixtures/hf_llama2_fp32", *srcs = "tests/fixtures/hf_llama32_bf16";
    char dir[512], path[600], err[512];
    size_t n;
    HfModel h;
    struct { const char *what, *find, *replace, *expect; } cfg_edits[] = {
        {"missing config key", "\"num_attention_heads\"", "\"num_attention_headz\"", "missing \"num_attention_heads\""},
        {"malformed JSON", "\"hidden_size\": 64,", "\"hidden_size\": 64,,", "malformed JSON"},
        {"intermediate_size mismatch", "\"intermediate_size\": 172", "\"intermediate_size\": 173", "shape"},
        {"vocab mismatch", "\"vocab_size\": 256", "\"vocab_size\": 255", "shape"},
        {"unsupported rope_type", "\"rope_scaling\": null", "\"rope_scaling\": {\"rope_type\": \"yarn\"}", "rope_type"},
        {"non-integer size", "\"hidden_size\": 64", "\"hidden_size\": 64.5", "hidden_size"},
    };
    for (size_t i = 0; i < sizeof cfg_edits / sizeof cfg_edits[0]; i++) {
        snprintf(dir, sizeof dir, "%s/cfg%zu", tmpdir, i);
        copy_dir(src, dir);
        snprintf(path, sizeof path, "%s/config.json", dir);
        char *text = read_file(path, &n), *at = strstr(text, cfg_edits[i].find);
        if (!at) { CHECK(0, "fixture config has %s", cfg_edits[i].find); free(text); continue; }
        FILE *f = fopen(path, "wb");
        fwrite(text, 1, at - text, f);
        fputs(cfg_edits[i].replace, f);
        fputs(at + strlen(cfg_edits[i].find), f);
        fclose(f);
        free(text);
        err[0] = '\0';
        int rc = hf_load(&h, dir, 0, 0, err, sizeof err);
        CHECK(rc == -1 && one_line(err) && strstr(err, cfg_edits[i].expect), "hf_load %s: \"%s\"", cfg_edits[i].what, err);
    }

    // the weights file: dtype changed in the header, header length past EOF, truncated
    snprintf(dir, sizeof dir, "%s/dtype", tmpdir);
    copy_dir(src, dir);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    char *st = read_file(path, &n);
    char *d = strstr(st + 8, "\"F32\""); // the first tensor's dtype -> I32 (same size: only the dtype is wrong)
    memcpy(d, "\"I32\"", 5);
    write_file(path, st, n);
    int rc = hf_load(&h, dir, 0, 0, err, sizeof err);
    CHECK(rc == -1 && one_line(err) && strstr(err, "dtype I32"), "hf_load tensor of dtype I32: \"%s\"", err);
    memcpy(d, "\"X32\"", 5);
    write_file(path, st, n);
    rc = hf_load(&h, dir, 0, 0, err, sizeof err);
    CHECK(rc == -1 && one_line(err) && strstr(err, "unknown dtype"), "hf_load unknown dtype: \"%s\"", err);
    memcpy(d, "\"F32\"", 5);
    uint64_t big = n; // header length = the whole file: past its end
    memcpy(st, &big, 8);
    write_file(path, st, n);
    rc = hf_load(&h, dir, 0, 0, err, sizeof err);
    CHECK(rc == -1 && one_line(err) && strstr(err, "past the end"), "hf_load header length past EOF: \"%s\"", err);
    free(st);
    st = read_file("tests/fixtures/hf_llama2_fp32/model.safetensors", &n);
    write_file(path, st, n - 1000); // truncated: the header is intact, the last tensors are cut
    rc = hf_load(&h, dir, 0, 0, err, sizeof err);
    CHECK(rc == -1 && one_line(err) && strstr(err, "past the end"), "hf_load truncated safetensors: \"%s\"", err);
    free(st);

    // sharded: a shard named in the index but missing; a tensor whose shape is wrong in the file
    snprintf(dir, sizeof dir, "%s/shard", tmpdir);
    copy_dir(srcs, dir);
    snprintf(path, sizeof path, "%s/model-00003-of-00006.safetensors", dir);
    unlink(path);
    rc = hf_load(&h, dir, 0, 0, err, sizeof err);
    CHECK(rc == -1 && one_line(err) && strstr(err, "model-00003-of-00006.safetensors: cannot open"),
          "hf_load shard named in the index but missing: \"%s\"", err);
    snprintf(dir, sizeof dir, "%s/noweights", tmpdir);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/config.json", dir);
    char *cfg = read_file("tests/fixtures/hf_llama2_fp32/config.json", &n);
    write_file(path, cfg, n);
    free(cfg);
    rc = hf_load(&h, dir, 0, 0, err, sizeof err);
    CHECK(rc == -1 && one_line(err) && strstr(err, "model.safetensors: cannot open"), "hf_load no weights: \"%s\"", err);
    rc = hf_load(&h, "tests/fixtures/does-not-exist", 0, 0, err, sizeof err);
    CHECK(rc == -1 && one_line(err) && strstr(err, "config.json: cannot open"), "hf_load missing folder: \"%s\"", err);
}

// Rewrites the fp32 fixture's model.safetensors into dir/model.safetensors (config.json copied):
// mode 0: the same F32 tensors behind a header padded by `pad` spaces (pad 1: every tensor's
// bytes start at an odd address, so the loader must copy them); mode 1: every tensor as F16;
// mode 2: F32 again, but each value rounded through f16 (the values mode 1 stores, exactly).
static void rewrite_fp32_fixture(const char *dir, int pad, int mode) {
    const char *src = "tests/fixtures/hf_llama2_fp32";
    char path[600], err[512];
    copy_dir(src, dir);
    SafeTensors st;
    snprintf(path, sizeof path, "%s/model.safetensors", src);
    if (safetensors_open(&st, path, err, sizeof err)) { fprintf(stderr, "%s\n", err); exit(1); }
    cJSON *hdr = cJSON_CreateObject();
    size_t off = 0, esize = mode == 1 ? 2 : 4;
    for (int i = 0; i < st.n_tensors; i++) {
        const SafeTensor *t = &st.tensors[i];
        cJSON *e = cJSON_AddObjectToObject(hdr, t->name);
        cJSON_AddStringToObject(e, "dtype", mode == 1 ? "F16" : "F32");
        cJSON *shape = cJSON_AddArrayToObject(e, "shape");
        for (int d = 0; d < t->ndim; d++) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->shape[d]));
        size_t n = t->nbytes / 4 * esize;
        cJSON *o = cJSON_AddArrayToObject(e, "data_offsets");
        cJSON_AddItemToArray(o, cJSON_CreateNumber((double)off));
        cJSON_AddItemToArray(o, cJSON_CreateNumber((double)(off + n)));
        off += n;
    }
    char *json = cJSON_PrintUnformatted(hdr);
    uint64_t hl = strlen(json) + pad;
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    FILE *f = fopen(path, "wb");
    fwrite(&hl, 8, 1, f);
    fputs(json, f);
    for (int i = 0; i < pad; i++) fputc(' ', f);
    for (int i = 0; i < st.n_tensors; i++) {
        const float *x = st.tensors[i].data;
        for (size_t k = 0; k < st.tensors[i].nbytes / 4; k++) {
            _Float16 h = (_Float16)x[k]; // the compiler's round-to-nearest conversion
            float r = (float)h;
            if (mode == 1) fwrite(&h, 2, 1, f);
            else fwrite(mode == 2 ? &r : &x[k], 4, 1, f);
        }
    }
    fclose(f);
    free(json);
    cJSON_Delete(hdr);
    safetensors_close(&st);
}

static void test_alignment_and_f16(void) {
    char dir[512], err[512];
    Fixture fx;
    fixture_load(&fx, "tests/fixtures/hf_llama2_fp32.fx");
    FixtureTensor *tp = fixture_get(&fx, "prompt2");
    const int T = (int)tp->numel, V = 256;
    float *out[2] = { malloc((size_t)T * V * 4), malloc((size_t)T * V * 4) };
    // misaligned F32: copied, same logits as transformers
    snprintf(dir, sizeof dir, "%s/odd", tmpdir);
    rewrite_fp32_fixture(dir, 1, 0);
    HfModel h;
    int rc = hf_load(&h, dir, 0, 0, err, sizeof err);
    int copied = rc == 0 && arrlen_copies(&h) > 0;
    if (rc == 0) {
        model_kv_alloc(h.model, 64);
        const float *lg = model_forward_kv(h.model, tp->data, T, 0, 1);
        double e = rel_err(lg, fixture_get(&fx, "logits2")->data, (size_t)T * V);
        CHECK(copied && e < 1e-5, "F32 tensors at odd offsets (header padded by 1 byte): copied to aligned memory, "
              "logits vs transformers max rel err %.2e (tol 1e-05)", e);
        hf_free(&h);
    } else CHECK(0, "hf_load misaligned copy: %s", err);
    // F16 weights compute what the same values stored as F32 compute
    for (int mode = 1; mode <= 2; mode++) {
        snprintf(dir, sizeof dir, "%s/f16_%d", tmpdir, mode);
        rewrite_fp32_fixture(dir, 0, mode);
        rc = hf_load(&h, dir, 0, 0, err, sizeof err);
        if (rc) { CHECK(0, "hf_load %s: %s", dir, err); continue; }
        if (mode == 1)
            CHECK(h.model->w.layers[0].wq.dtype == DTYPE_F16 && h.model->w.lm_head.dtype == DTYPE_F16,
                  "F16 safetensors: matrices stay F16 Mats (no f32 copy)");
        model_kv_alloc(h.model, 64);
        memcpy(out[mode - 1], model_forward_kv(h.model, tp->data, T, 0, 1), (size_t)T * V * 4);
        hf_free(&h);
    }
    double e = rel_err(out[0], out[1], (size_t)T * V);
    CHECK(e < 1e-5, "F16 weights vs the same values as F32: logits max rel err %.2e (tol 1e-05)", e);
    free(out[0]);
    free(out[1]);
    fixture_free(&fx);
}

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
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_loaders.XXXXXX");
    if (!mkdtemp(tmpdir)) { perror("mkdtemp"); return 1; }
    test_safetensors();
    check_hf_against_fixture("hf_llama2_fp32", "tests/fixtures/hf_llama2_fp32", "tests/fixtures/hf_llama2_fp32.fx", 1e-5);
    check_hf_against_fixture("hf_llama32_bf16", "tests/fixtures/hf_llama32_bf16", "tests/fixtures/hf_llama32_bf16.fx", 1e-4);
    check_f32_params("tests/fixtures/hf_llama32_bf16", "tests/fixtures/hf_llama32_bf16.fx", 1e-4);
    check_hf_malformed();
    test_alignment_and_f16();
    test_permutation();
    test_llama2c();
    test_sp_tokenizer();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return test_summary();
}
