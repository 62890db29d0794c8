// tests/test_loaders.c — the safetensors reader and the Hugging Face loader, against references
// from transformers (tests/fixtures, written by tools/make_hf_fixtures.py): logits, greedy
// generation and KV-cached decode of two checkpoints, F16 and misaligned tensors, and corrupted
// copies. llama2.c's checkpoints and tokenizer.bin are tests/test_llama2c.c.
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
#include "infer/generate.h"
#include "infer/sampler.h"
#include "formats/hf_loader.h"
#include "formats/safetensors.h"
#include <cjson/cJSON.h>
#include "tests/fixture.h"
#include "tests/loader_test.h"
#include "tests/test.h"

static char tmpdir[256];

// ---- small file helpers ----

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

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_loaders.XXXXXX");
    if (!mkdtemp(tmpdir)) { perror("mkdtemp"); return 1; }
    test_safetensors();
    check_hf_against_fixture("hf_llama2_fp32", "tests/fixtures/hf_llama2_fp32", "tests/fixtures/hf_llama2_fp32.fx", 1e-5);
    check_hf_against_fixture("hf_llama32_bf16", "tests/fixtures/hf_llama32_bf16", "tests/fixtures/hf_llama32_bf16.fx", 1e-4);
    check_f32_params("tests/fixtures/hf_llama32_bf16", "tests/fixtures/hf_llama32_bf16.fx", 1e-4);
    check_hf_malformed();
    test_alignment_and_f16();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return test_summary();
}
