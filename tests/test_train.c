// tests/test_train.c — the training pieces: AdamW against torch.optim.AdamW (fixture from
// tools/make_model_fixtures.py), the LR schedule, gradient clipping, token shards, the
// dataloader, model checkpoints and training-state files (round trips and rejected corruption).
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "data/dataloader.h"
#include "util/serial.h"
#include "util/blas_core.h"
#include "util/sha256.h"
#include "data/shards.h"
#include "tests/torch_steps.h"
#include "formats/checkpoint.h"
#include "model/model.h"
#include "tests/fixture.h"
#include "tests/test.h"
#include "train/adamw.h"
#include "train/schedule.h"
#include "train/state.h"

static char tmpdir[256];

static double rel_err(double a, double b) { return fabs(a - b) / fmax(fabs(b), 1e-12); }

// ---- AdamW: 5 updates on a fixed batch, loss before each, against torch.optim.AdamW ----

static Model *model_from_fixture(Fixture *fx) {
    FixtureTensor *ci = fixture_get(fx, "config"), *cf = fixture_get(fx, "config_f");
    if (!ci || !cf) return NULL;
    const int *c = ci->data;
    const float *f = cf->data;
    Config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.dim = c[0]; cfg.n_layers = c[1]; cfg.n_heads = c[2]; cfg.n_kv_heads = c[3]; cfg.head_dim = c[4];
    cfg.hidden_dim = c[5]; cfg.vocab_size = c[6]; cfg.max_seq_len = c[7]; cfg.tied_embeddings = c[8];
    cfg.norm_eps = f[0]; cfg.rope_theta = f[1]; cfg.rope_factor = f[2]; cfg.rope_low_freq_factor = f[3];
    cfg.rope_high_freq_factor = f[4]; cfg.rope_original_max_pos = (int)f[5];
    char err[256];
    Model *m = model_create(&cfg, 1, err, sizeof err);
    if (!m) { printf("model_create: %s\n", err); return NULL; }
    size_t off = 0;
    for (int t = 0; t < NUM_PARAM_TENSORS; t++) {
        size_t n = m->param_sizes[t];
        if (n) {
            FixtureTensor *ft = fixture_get(fx, param_tensor_names[t]);
            if (!ft || ft->numel != n) { printf("fixture tensor %s missing or wrong size\n", param_tensor_names[t]); model_free(m); return NULL; }
            memcpy(m->params_memory + off, ft->data, n * sizeof(float));
        }
        off += n;
    }
    model_point_weights(m);
    return m;
}

static void test_adamw_vs_torch(const char *losses_name, const char *hp_name, const char *after_name) {
    Fixture fx;
    if (fixture_load(&fx, "tests/fixtures/model_gqa_tied.fx")) { CHECK(0, "AdamW fixture loads"); return; }
    Model *m = model_from_fixture(&fx);
    FixtureTensor *in = fixture_get(&fx, "inputs"), *tg = fixture_get(&fx, "targets");
    FixtureTensor *ref = fixture_get(&fx, losses_name), *hp = fixture_get(&fx, hp_name);
    FixtureTensor *after = fixture_get(&fx, after_name);
    if (!m || !in || !tg || !ref || !hp || !after) { CHECK(0, "AdamW fixture has %s", losses_name); fixture_free(&fx); return; }
    int B = in->dims[0], T = in->dims[1];
    const float *h = hp->data;   // lr, beta1, beta2, eps, weight_decay
    size_t np = m->num_parameters;
    float *mom = calloc(np, sizeof(float)), *vel = calloc(np, sizeof(float));
    m->training = 1;   // dropout p is 0 in the fixture's config
    double worst = 0;
    int steps = (int)ref->numel;
    for (int s = 0; s <= steps; s++) {
        float loss = model_forward(m, in->data, tg->data, B, T);
        double want = s < steps ? ((float *)ref->data)[s] : ((float *)after->data)[0];
        worst = fmax(worst, rel_err(loss, want));
        if (s == steps) break;
        model_zero_grad(m);
        model_backward(m);
        // torch.optim.AdamW(model.parameters()) decays every tensor: pass the decay to all
        adamw_update(m->params_memory, m->grads_memory, mom, vel, np, h[0], h[1], h[2], h[3], h[4], (uint64_t)s + 1);
    }
    CHECK(worst < 1e-4, "AdamW (wd %g) vs torch: %d losses + the one after, max rel err %.2e (tol 1e-4)",
          h[4], steps, worst, 1e-4);
    free(mom); free(vel);
    model_free(m);
    fixture_free(&fx);
}

// One AdamW step on a hand-checkable case: bias correction makes the first step exactly
// lr * sign(g) (m_hat = g, sqrt(v_hat) = |g|), plus the decoupled decay lr*wd*p.
static void test_adamw_first_step(void) {
    float p[3] = {1.0f, -2.0f, 0.5f}, g[3] = {0.3f, -4.0f, 1e-3f}, m[3] = {0}, v[3] = {0};
    adamw_update(p, g, m, v, 3, 0.01f, 0.9f, 0.95f, 1e-8f, 0.1f, 1);
    double worst = 0;
    const float p0[3] = {1.0f, -2.0f, 0.5f};
    for (int i = 0; i < 3; i++) {
        double want = p0[i] * (1 - 0.01 * 0.1) - 0.01 * (g[i] > 0 ? 1 : -1) * fabs(g[i]) / (fabs(g[i]) + 1e-8);
        worst = fmax(worst, fabs(p[i] - want));
    }
    CHECK(worst < 1e-7, "AdamW first step = p(1 - lr wd) - lr sign(g): max abs err %.1e (tol 1e-7)", worst);
}

// ---- schedule ----
static void test_schedule(void) {
    LrConfig c = {LR_COSINE, 1e-3f, 1e-4f, 10, 110, 0.5f};
    struct { long step; double want; } cases[] = {
        {0, 1e-4},                 // warmup: max * (0+1)/10
        {4, 5e-4},                 // max * 5/10
        {9, 1e-3},                 // last warmup step reaches the peak
        {10, 1e-3},                // cosine starts at the peak
        {59, 0},                   // inside the cosine: filled in below
        {109, 1e-4},               // last step: exactly min_lr
        {500, 1e-4},               // past the end: stays at min_lr
    };
    // step 59 is f = (59 - 10) / (110 - 1 - 10) = 49/99 of the way down the cosine
    cases[4].want = 1e-4 + (1e-3 - 1e-4) * 0.5 * (1 + cos(M_PI * 49.0 / 99.0));
    double worst = 0;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        worst = fmax(worst, rel_err(lr_at(&c, cases[i].step), cases[i].want));
    CHECK(worst < 1e-6, "lr schedule at steps 0, 4, 9, 10, 59, 109, 500 (warmup 10, cosine to 110): max rel err %.1e (tol 1e-6)", worst);
    LrConfig k = {LR_CONSTANT, 3e-4f, 0, 5, 100, 0.5f};
    double w2 = fmax(rel_err(lr_at(&k, 2), 3e-4 * 3 / 5), fmax(rel_err(lr_at(&k, 5), 3e-4), rel_err(lr_at(&k, 99), 3e-4)));
    CHECK(w2 < 1e-6, "constant schedule: warmup then flat: max rel err %.1e (tol 1e-6)", w2);
    // wsd, warmup 10, 110 steps, the last 40% of the 99-step span decaying: the decay starts at
    // f = 0.6, i.e. step 10 + 59.4; step s is f = (s - 10) / 99 and g = (f - 0.6) / 0.4 of the way
    // from 1e-3 to 1e-4
    LrConfig w = {LR_WSD, 1e-3f, 1e-4f, 10, 110, 0.4f};
    struct { long step; double want; } wc[] = {
        {4, 5e-4}, {10, 1e-3}, {69, 1e-3},                      // warmup, then the flat part
        {70, 0}, {90, 0},                                        // decaying: filled in below
        {109, 1e-4}, {500, 1e-4},                                // the end, and past it
    };
    for (int i = 3; i <= 4; i++) {
        double g = ((wc[i].step - 10) / 99.0 - 0.6) / 0.4;
        wc[i].want = 1e-3 + (1e-4 - 1e-3) * g;
    }
    double w3 = 0;
    for (size_t i = 0; i < sizeof wc / sizeof *wc; i++) w3 = fmax(w3, rel_err(lr_at(&w, wc[i].step), wc[i].want));
    CHECK(w3 < 1e-6, "wsd schedule at steps 4, 10, 69, 70, 90, 109, 500 (decay over the last 40%%): max rel err %.1e (tol 1e-6)", w3);
    LrConfig w1 = {LR_WSD, 1e-3f, 0, 0, 101, 1.0f};         // decay_frac 1: linear from the start
    double w4 = fmax(rel_err(lr_at(&w1, 0), 1e-3), rel_err(lr_at(&w1, 25), 7.5e-4));
    CHECK(w4 < 1e-6 && lr_at(&w1, 100) == 0.0f, "wsd with decay_frac 1 is a linear decay: max rel err %.1e, last %g", w4, lr_at(&w1, 100));
}

// ---- clipping ----
static void test_clip(void) {
    float g[4] = {3, 0, 4, 0};   // norm 5
    double norm = grad_global_norm(g, 4);
    float scale = grad_clip(g, 4, norm, 1.0f);
    // torch.nn.utils.clip_grad_norm_: g *= max_norm / (norm + 1e-6)
    double want = 1.0 / (5.0 + 1e-6);
    double err = fmax(fabs(g[0] - 3 * want), fabs(g[2] - 4 * want));
    CHECK(fabs(norm - 5.0) < 1e-12 && err < 1e-7 && fabs(scale - want) < 1e-7,
          "clip: norm of (3,0,4,0) = %.6f, clipped to 1 -> (%.6f, %.6f); max err %.1e (tol 1e-7)", norm, g[0], g[2], err);
    float h[2] = {0.3f, 0.4f};
    float s2 = grad_clip(h, 2, grad_global_norm(h, 2), 1.0f);
    CHECK(s2 == 1.0f && h[0] == 0.3f && h[1] == 0.4f, "clip: a norm of 0.5 under max 1 is left alone");
    float z[2] = {30, 40};
    CHECK(grad_clip(z, 2, 50, 0.0f) == 1.0f && z[0] == 30, "clip: max_norm 0 turns clipping off");
}

// ---- shards ----
static void write_bytes(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    fwrite(p, 1, n, f);
    fclose(f);
}

static void test_shards(void) {
    char path[512], err[512];
    int toks[1000];
    for (int i = 0; i < 1000; i++) toks[i] = (i * 7919) % 50257;
    snprintf(path, sizeof path, "%s/a.bin", tmpdir);
    int ok = shard_write(path, toks, 1000, 50257, err, sizeof err) == 0;
    Shard s;
    ok = ok && shard_open(&s, path, err, sizeof err) == 0;
    int same = ok && s.width == 2 && s.num_tokens == 1000;
    for (int i = 0; same && i < 1000; i++) same = shard_token(&s, i) == toks[i];
    CHECK(same, "shard uint16 (magic 20240520 v1) round trip of 1000 tokens, vocab 50257");
    if (ok) shard_close(&s);

    // llm.c's header, written by hand as data_common.py's write_datafile does
    int32_t hdr[256] = {0};
    hdr[0] = 20240801; hdr[1] = 7; hdr[2] = 3;
    uint32_t big[3] = {128000, 5, 128255};
    uint8_t buf[1024 + 12];
    memcpy(buf, hdr, 1024); memcpy(buf + 1024, big, 12);
    snprintf(path, sizeof path, "%s/llama3.bin", tmpdir);
    write_bytes(path, buf, sizeof buf);
    ok = shard_open(&s, path, err, sizeof err) == 0;
    CHECK(ok && s.width == 4 && s.num_tokens == 3 && shard_token(&s, 0) == 128000 && shard_token(&s, 2) == 128255,
          "shard uint32 (magic 20240801 v7, llm.c Llama 3 layout) reads ids 128000, 5, 128255");
    if (ok) shard_close(&s);
    int big_ids[3] = {128000, 5, 128255};
    snprintf(path, sizeof path, "%s/b.bin", tmpdir);
    ok = shard_write(path, big_ids, 3, 128256, err, sizeof err) == 0 && shard_open(&s, path, err, sizeof err) == 0;
    CHECK(ok && s.width == 4 && shard_token(&s, 2) == 128255 && shard_max_token(&s) == 128255,
          "shard_write picks uint32 for a vocabulary of 128256");
    if (ok) shard_close(&s);

    // rejected: bad magic, bad version, truncated, short header, id outside the vocabulary
    struct { const char *what; int magic, version, count; size_t bytes; } bad[] = {
        {"bad magic", 12345, 1, 3, 1024 + 6},
        {"bad version", 20240520, 2, 3, 1024 + 6},
        {"truncated tokens", 20240520, 1, 3, 1024 + 4},
        {"count 0", 20240520, 1, 0, 1024},
        {"short header", 20240520, 1, 3, 100},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        memset(hdr, 0, sizeof hdr);
        hdr[0] = bad[i].magic; hdr[1] = bad[i].version; hdr[2] = bad[i].count;
        memset(buf, 0, sizeof buf);
        memcpy(buf, hdr, 1024);
        snprintf(path, sizeof path, "%s/bad.bin", tmpdir);
        write_bytes(path, buf, bad[i].bytes);
        err[0] = '\0';
        int rc = shard_open(&s, path, err, sizeof err);
        CHECK(rc == -1 && err[0] && !strchr(err, '\n'), "shard %s rejected: \"%s\"", bad[i].what, err);
    }
    int out_of_range[2] = {3, 300};
    err[0] = '\0';
    CHECK(shard_write(path, out_of_range, 2, 256, err, sizeof err) == -1 && err[0],
          "shard_write rejects id 300 for a vocabulary of 256: \"%s\"", err);
}

// ---- dataloader ----
static void test_dataloader(void) {
    char path[512], err[512];
    enum { N = 1000 };
    int toks[N];
    for (int i = 0; i < N; i++) toks[i] = i;   // the token at position i is i
    snprintf(path, sizeof path, "%s/dl.bin", tmpdir);
    shard_write(path, toks, N, 1000, err, sizeof err);
    int B = 4, T = 30;   // 120 tokens per batch: 8 batches per pass ((1000-1)/120)
    DataLoader dl;
    if (dataloader_init(&dl, path, B, T, 0, 0, err, sizeof err)) { CHECK(0, "dataloader_init: %s", err); return; }
    int ok = dataloader_batches_per_epoch(&dl) == 8;
    // batches 0..7 start at k*120; batch 8 wraps back to 0 (llm.c's DataLoader)
    for (int k = 0; k < 10 && ok; k++) {
        dataloader_next_batch(&dl);
        size_t start = (size_t)(k % 8) * B * T;
        for (int i = 0; i < B * T && ok; i++)
            ok = dl.inputs[i] == toks[start + i] && dl.targets[i] == toks[start + i + 1];
    }
    CHECK(ok && dl.st.epoch == 1, "dataloader sequential: batch k is tokens [k*B*T, k*B*T + B*T], targets shifted by one, wraps after 8 batches");
    dataloader_free(&dl);

    // shuffled: every row of an epoch is visited once; same seed -> same order; resume exact
    DataLoader a, b;
    dataloader_init(&a, path, B, T, 1, 42, err, sizeof err);
    dataloader_init(&b, path, B, T, 1, 42, err, sizeof err);
    int seen[64] = {0}, dup = 0, consistent = 1;
    dataloader_next_batch(&a);
    size_t rows = a.num_rows, off0 = a.row_offset;
    dataloader_reset(&a);
    size_t per_epoch = rows / B;
    for (size_t k = 0; k < per_epoch; k++) {
        dataloader_next_batch(&a);
        for (int r = 0; r < B; r++) {
            int pos = a.inputs[r * T];   // token == position
            int row = ((size_t)pos < off0 || (pos - off0) % T) ? -1 : (int)((pos - off0) / T);
            if (row < 0 || row >= 64 || seen[row]++) dup = 1;
            for (int t = 0; t < T; t++) consistent &= a.targets[r * T + t] == toks[pos + t + 1];
        }
    }
    CHECK(!dup && consistent, "dataloader shuffled: an epoch visits %zu distinct rows (offset %zu), targets shifted by one", per_epoch * B, off0);
    // resume: save the state after 5 batches, restore into a fresh loader, compare 20 batches
    dataloader_reset(&a);
    for (int k = 0; k < 5; k++) dataloader_next_batch(&a);
    DataLoaderState st = dataloader_get_state(&a);
    int same = dataloader_set_state(&b, st, err, sizeof err) == 0;
    for (int k = 0; k < 20 && same; k++) {
        dataloader_next_batch(&a);
        dataloader_next_batch(&b);
        same = !memcmp(a.inputs, b.inputs, B * T * sizeof(int)) && !memcmp(a.targets, b.targets, B * T * sizeof(int));
    }
    CHECK(same && a.st.epoch >= 2, "dataloader shuffled: saved (epoch, pos) restores the same next 20 batches across epoch boundaries");
    dataloader_free(&a);
    dataloader_free(&b);
    err[0] = '\0';
    CHECK(dataloader_init(&a, path, 8, 200, 0, 0, err, sizeof err) == -1 && err[0],
          "dataloader rejects a shard smaller than one batch: \"%s\"", err);
}

// Several shards (bin/prepare --variants): epoch e reads shard e mod K, in name order, in both
// modes; a saved (epoch, pos) restores the same batches; a pattern that matches nothing fails.
static void test_dataloader_shards(void) {
    char path[512], err[512];
    enum { K = 3 };
    // shard k holds k*1000 + position, and shard k has 600 + 50k tokens (sizes differ, as
    // BPE-dropout variants do); names sort as 0, 1, 2
    for (int k = 0; k < K; k++) {
        int n = 600 + 50 * k, toks[700];
        for (int i = 0; i < n; i++) toks[i] = k * 1000 + i;
        snprintf(path, sizeof path, "%s/multi_%02d.bin", tmpdir, k);
        shard_write(path, toks, n, 3000, err, sizeof err);
    }
    snprintf(path, sizeof path, "%s/multi_*.bin", tmpdir);
    int B = 2, T = 20;
    for (int shuffle = 0; shuffle <= 1; shuffle++) {
        DataLoader a, b;
        if (dataloader_init(&a, path, B, T, shuffle, 9, err, sizeof err) ||
            dataloader_init(&b, path, B, T, shuffle, 9, err, sizeof err)) {
            CHECK(0, "dataloader_init(%s): %s", path, err);
            return;
        }
        int ok = a.n_shards == K, within = 1;
        for (int step = 0; step < 200 && ok; step++) {
            dataloader_next_batch(&a);
            int k = (int)(a.st.epoch % K);
            for (int i = 0; i < B * T; i++) {   // every token from shard k, targets one further
                ok &= a.inputs[i] / 1000 == k && a.targets[i] == a.inputs[i] + 1;
                within &= a.targets[i] % 1000 < 600 + 50 * k;
            }
        }
        CHECK(ok && within && a.st.epoch >= 2 * K,
              "dataloader, %d shards, %s: epoch e (0..%llu) reads only shard e mod %d, targets shifted by one",
              K, shuffle ? "shuffled" : "sequential", (unsigned long long)a.st.epoch, K);
        // resume at an awkward point: mid-epoch of a later shard
        DataLoaderState st = dataloader_get_state(&a);
        int same = dataloader_set_state(&b, st, err, sizeof err) == 0;
        for (int k = 0; k < 50 && same; k++) {
            dataloader_next_batch(&a);
            dataloader_next_batch(&b);
            same = !memcmp(a.inputs, b.inputs, B * T * sizeof(int));
        }
        CHECK(same, "dataloader, %d shards, %s: a saved (epoch %llu, pos %llu) restores the same next 50 batches",
              K, shuffle ? "shuffled" : "sequential", (unsigned long long)st.epoch, (unsigned long long)st.pos);
        dataloader_free(&a);
        dataloader_free(&b);
    }
    snprintf(path, sizeof path, "%s/nothing_*.bin", tmpdir);
    DataLoader c;
    err[0] = '\0';
    CHECK(dataloader_init(&c, path, B, T, 1, 9, err, sizeof err) == -1 && strstr(err, "no file matches"),
          "dataloader: a pattern that matches nothing is an error: \"%s\"", err);
}

// ---- checkpoints ----
static Model *tiny_model(void) {
    Config c;
    memset(&c, 0, sizeof c);
    c.dim = 32; c.n_layers = 2; c.n_heads = 4; c.n_kv_heads = 2; c.head_dim = 8; c.hidden_dim = 64;
    c.vocab_size = 100; c.max_seq_len = 16; c.norm_eps = 1e-5f; c.rope_theta = 10000.0f;
    c.tied_embeddings = 0; c.dropout = 0.1f;
    char err[256];
    Model *m = model_create(&c, 1, err, sizeof err);
    if (!m) { printf("model_create: %s\n", err); return NULL; }
    model_init_random(m, 7);
    model_point_weights(m);
    return m;
}

static long file_size(const char *p) {
    FILE *f = fopen(p, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

static void copy_prefix(const char *src, const char *dst, long n, long flip_at) {
    FILE *f = fopen(src, "rb");
    char *buf = malloc(n > 0 ? n : 1);
    n = (long)fread(buf, 1, n, f);
    fclose(f);
    if (flip_at >= 0 && flip_at < n) buf[flip_at] ^= 0x10;
    write_bytes(dst, buf, n);
    free(buf);
}

// Version-1 to -6 states (written before att_dropout, decay_frac, lr_steps, the data's size and
// checksum, ranks, resp. the LoRA settings existed: the same header without those last fields)
// still load, with att_dropout 0, decay_frac 0.5, lr_steps = opts.steps, the data unchecked,
// ranks 1 and no LoRA. Built from the version-7 file at path: drop the 51 (47, 43, 35, 19, 15)
// bytes, set the version, and redo the header's checksum and padding as ser_end_header does.
static void test_state_old_version(const char *path, uint32_t version, size_t np, const float *mm, const float *vv) {
    long size = file_size(path);
    uint8_t *f = malloc(size), *h = calloc(1, size + 64);
    FILE *fp = fopen(path, "rb");
    int ok = fp && fread(f, 1, size, fp) == (size_t)size;
    if (fp) fclose(fp);
    uint32_t hb;
    memcpy(&hb, f + 12, 4);
    // the header checksum: the u64 at hsum_at equals checksum64 of the bytes before it, then zeros
    size_t hsum_at = 0;
    for (size_t at = hb - 8; ok && at >= 16 && !hsum_at; at--) {
        uint64_t v;
        memcpy(&v, f + at, 8);
        int zeros = 1;
        for (size_t k = at + 8; k < hb; k++) zeros &= f[k] == 0;
        if (zeros && v == checksum64(f, at)) hsum_at = at;
    }
    ok = ok && hsum_at > 36;
    // att_dropout f32, decay_frac f32, lr_steps u64, data u64 x2, ranks u32, lora i32, lora_alpha
    // f32, lora_targets str ("q,k": 4 + 3 bytes), then two u64 before hsum: keep the fields
    // version had
    static const size_t dropped[] = {0, 51, 47, 43, 35, 19, 15};
    size_t drop = dropped[version], cut_at = hsum_at - 16 - drop, n = 0;
    if (ok) {
        memcpy(h, f, cut_at); n = cut_at;
        memcpy(h + n, f + cut_at + drop, 16); n += 16;    // parameter count, moments checksum
        size_t hsum1 = n;
        n = (n + 8 + 63) / 64 * 64;                       // checksum, zeros to a 64-byte boundary
        uint32_t v1 = version, hb1 = (uint32_t)n;
        memcpy(h + 8, &v1, 4); memcpy(h + 12, &hb1, 4);
        uint64_t sum = checksum64(h, hsum1);
        memcpy(h + hsum1, &sum, 8);
    }
    char p1[600], err[600] = "";
    snprintf(p1, sizeof p1, "%s.v%u", path, version);
    fp = fopen(p1, "wb");
    ok = ok && fp && fwrite(h, 1, n, fp) == n && fwrite(f + hb, 1, size - hb, fp) == (size_t)(size - hb);
    if (fp) fclose(fp);
    TrainState st;
    float *m = malloc(np * 4), *v = malloc(np * 4);
    int rc = ok ? train_state_load(p1, &st, m, v, np, err, sizeof err) : -1;
    float att = version >= 2 ? 0.1f : 0.0f;
    float dfrac = version >= 3 ? 0.3f : 0.5f;
    uint64_t lrs = version >= 4 ? 300 : 500;
    CHECK(!rc && st.step == 77 && st.opts.batch == 16 && st.model_checksum == 42 && st.opts.att_dropout == att &&
          st.opts.decay_frac == dfrac && st.lr_steps == lrs && st.data_bytes == (version >= 5 ? 4096u : 0u) &&
          st.ranks == (version >= 6 ? 2u : 1u) && st.opts.lora == 0 && st.opts.lora_alpha == 8 &&
          !strcmp(st.opts.lora_targets, "q,v") && !memcmp(m, mm, np * 4) && !memcmp(v, vv, np * 4),
          "a version-%u training state loads (att_dropout %g, decay_frac %g, lr_steps %llu, data %s, ranks %d, no LoRA, the "
          "rest as saved)%s%s", version, att, dfrac, (unsigned long long)lrs, version >= 5 ? "checked" : "unchecked",
          version >= 6 ? 2 : 1, err[0] ? ": " : "", err);
    free(f); free(h); free(m); free(v);
}

static void test_checkpoint(void) {
    Model *m = tiny_model();
    if (!m) { CHECK(0, "tiny model"); return; }
    char path[512], tokpath[512], err[512];
    snprintf(path, sizeof path, "%s/model.bin", tmpdir);
    snprintf(tokpath, sizeof tokpath, "%s/tok.tiktoken", tmpdir);
    write_bytes(tokpath, "abc", 3);
    int rc = checkpoint_save_step(m, path, tokpath, "gpt2", 1234, err, sizeof err);
    CheckpointInfo info;
    Model *l = rc == 0 ? checkpoint_load_info(path, &info, err, sizeof err) : NULL;
    int same = l && l->num_parameters == m->num_parameters &&
               !memcmp(l->params_memory, m->params_memory, m->num_parameters * sizeof(float)) &&
               !memcmp(&l->config, &m->config, sizeof(Config));
    CHECK(same, "checkpoint round trip: config and %zu parameters bit-identical", m->num_parameters);
    // the tokenizer hash is SHA-256 of "abc" (FIPS 180-2, appendix B.1)
    CHECK(l && info.step == 1234 && !strcmp(info.tokenizer_path, tokpath) && !strcmp(info.tokenizer_pattern, "gpt2") &&
          !strcmp(info.tokenizer_sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
          "checkpoint header: step %llu, tokenizer path, sha256(\"abc\") = %.16s...",
          l ? (unsigned long long)info.step : 0ull, l ? info.tokenizer_sha256 : "");
    if (l) model_free(l);

    // corrupt copies: each must be refused with one line, never a crash
    long n = file_size(path);
    char bad[512];
    snprintf(bad, sizeof bad, "%s/bad_model.bin", tmpdir);
    struct { const char *what; long len, flip; } cases[] = {
        {"empty", 0, -1}, {"truncated header", 40, -1}, {"truncated parameters", n - 4, -1},
        {"one extra byte", -2, -1}, {"bad magic", n, 0}, {"other version", n, 8}, {"flipped parameter byte", n, n - 100},
        {"flipped dim", n, 16},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (cases[i].len == -2) {   // the whole file plus one byte
            copy_prefix(path, bad, n, -1);
            FILE *f = fopen(bad, "ab"); fputc(0, f); fclose(f);
        } else copy_prefix(path, bad, cases[i].len, cases[i].flip);
        err[0] = '\0';
        Model *x = checkpoint_load(bad, err, sizeof err);
        CHECK(!x && err[0] && !strchr(err, '\n'), "checkpoint %s rejected: \"%s\"", cases[i].what, err);
        if (x) model_free(x);
    }
    err[0] = '\0';
    CHECK(!checkpoint_load(tokpath, err, sizeof err) && err[0], "checkpoint: a foreign file rejected: \"%s\"", err);

    // training state round trip, and a state refused for a model of another size
    size_t np = m->num_parameters;
    float *mm = malloc(np * sizeof(float)), *vv = malloc(np * sizeof(float));
    float *m2 = malloc(np * sizeof(float)), *v2 = malloc(np * sizeof(float));
    for (size_t i = 0; i < np; i++) { mm[i] = (float)i * 1e-3f; vv[i] = (float)(np - i) * 1e-6f; }
    TrainState st, st2;
    memset(&st, 0, sizeof st);
    strcpy(st.opts.data, "data/x.bin"); st.opts.batch = 16; st.opts.lr = 3e-3f; st.opts.seed = 99;
    st.step = 77; st.data.epoch = 3; st.data.pos = 41; st.sample_rng = 0x1234567890abcdefull;
    st.dropout_seed = 5; st.dropout_step = 78; st.best_val = 1.5f; st.best_step = 70; st.elapsed_s = 12.5;
    st.tokens_seen = 999; st.model_checksum = 42; st.opts.att_dropout = 0.1f; st.opts.decay_frac = 0.3f;
    st.opts.steps = 500; st.lr_steps = 300; st.data_bytes = 4096; st.data_checksum = 0xabcdef; st.ranks = 2;
    st.opts.lora = 8; st.opts.lora_alpha = 16; strcpy(st.opts.lora_targets, "q,k");
    char sp[512];
    snprintf(sp, sizeof sp, "%s/state.bin", tmpdir);
    rc = train_state_save(sp, &st, mm, vv, np, err, sizeof err);
    rc = rc || train_state_load(sp, &st2, m2, v2, np, err, sizeof err);
    same = !rc && !memcmp(mm, m2, np * 4) && !memcmp(vv, v2, np * 4) && st2.step == 77 && st2.data.epoch == 3 &&
           st2.data.pos == 41 && st2.sample_rng == st.sample_rng && st2.best_val == 1.5f && st2.opts.batch == 16 &&
           st2.opts.lr == 3e-3f && !strcmp(st2.opts.data, "data/x.bin") && st2.model_checksum == 42 &&
           st2.opts.att_dropout == 0.1f && st2.opts.decay_frac == 0.3f && st2.lr_steps == 300 && st2.data_bytes == 4096 &&
           st2.data_checksum == 0xabcdef && st2.ranks == 2 && st2.opts.lora == 8 && st2.opts.lora_alpha == 16 &&
           !strcmp(st2.opts.lora_targets, "q,k");
    CHECK(same, "training state round trip: step, data position, RNG, best val, options, schedule length, process count, "
          "LoRA settings, AdamW m and v");
    test_state_old_version(sp, 1, np, mm, vv);
    test_state_old_version(sp, 2, np, mm, vv);
    test_state_old_version(sp, 3, np, mm, vv);
    test_state_old_version(sp, 4, np, mm, vv);
    test_state_old_version(sp, 5, np, mm, vv);
    test_state_old_version(sp, 6, np, mm, vv);
    err[0] = '\0';
    CHECK(train_state_load(sp, &st2, m2, v2, np - 1, err, sizeof err) == -1 && err[0],
          "training state for another model size rejected: \"%s\"", err);
    copy_prefix(sp, bad, file_size(sp) - 8, -1);
    err[0] = '\0';
    CHECK(train_state_load(bad, &st2, m2, v2, np, err, sizeof err) == -1 && err[0],
          "truncated training state rejected: \"%s\"", err);
    free(mm); free(vv); free(m2); free(v2);
    model_free(m);
}

// bin/train --init on a transformers checkpoint (tests/fixtures/hf_init: max_position_embeddings
// 256, no tokenizer, attention_dropout 0) fine-tunes step for step as PyTorch does
// (tools/make_init_fixture.py: torch.optim.AdamW, clip_grad_norm_, llm.c's sequential batches).
// The flags set every hyperparameter the fixture used except the attention dropout, which must
// come from the model's config (the tiny preset's 0.1 would change every loss).
static void test_init_hf_vs_torch(void) {
    Fixture fx;
    if (fixture_load(&fx, "tests/fixtures/hf_init.fx") != 0) { CHECK(0, "hf_init.fx"); return; }
    const int *hi = fixture_get(&fx, "hparams_i")->data;
    double worst, worst_norm;
    int rc, n = torch_steps_run(&fx, "--init tests/fixtures/hf_init --data tests/fixtures/hf_init/train.bin "
                                "--val-data tests/fixtures/hf_init/val.bin", tmpdir, "init", &worst, &worst_norm, &rc);
    CHECK(rc == 0 && n == hi[0] && worst < 1e-5 && worst_norm < 1e-4,
          "bin/train --init HF dir (no tokenizer, max_position_embeddings 256) vs PyTorch AdamW, %d steps: "
          "loss max rel err %.1e (tol 1e-05), grad norm %.1e (tol 1e-04) (exit %d)", n, worst, worst_norm, rc);
    fixture_free(&fx);
}

// The OpenBLAS advice: said for an old core chosen on an AVX2 CPU, naming the faster setting;
// silent when the user set OPENBLAS_CORETYPE, when the core is fast, or when the CPU has no AVX2.
static void test_blas_core_advice(void) {
    char a[400];
    blas_core_advice(a, sizeof a, "Prescott", 1, 1, NULL);
    CHECK(strstr(a, "runs its Prescott kernels") && strstr(a, "OPENBLAS_CORETYPE=SkylakeX"),
          "OpenBLAS advice for Prescott on an AVX-512 CPU names SkylakeX: \"%.60s...\"", a);
    blas_core_advice(a, sizeof a, "Nehalem", 1, 0, NULL);
    CHECK(strstr(a, "OPENBLAS_CORETYPE=Haswell") != NULL, "OpenBLAS advice for Nehalem on an AVX2 CPU names Haswell");
    int quiet = 1;
    blas_core_advice(a, sizeof a, "Prescott", 1, 1, "Prescott");
    quiet &= !a[0];
    blas_core_advice(a, sizeof a, "Haswell", 1, 1, NULL);
    quiet &= !a[0];
    blas_core_advice(a, sizeof a, "SkylakeX", 1, 1, NULL);
    quiet &= !a[0];
    blas_core_advice(a, sizeof a, "Prescott", 0, 0, NULL);
    quiet &= !a[0];
    CHECK(quiet, "no OpenBLAS advice when OPENBLAS_CORETYPE is set, the core uses FMA, or the CPU has no AVX2");
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_train.%d", (int)getpid());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", tmpdir);
    if (system(cmd) != 0) return 1;
    test_adamw_vs_torch("adamw_losses", "adamw_hparams", "adamw_loss_after");
    test_adamw_vs_torch("adamw_wd_losses", "adamw_wd_hparams", "adamw_wd_loss_after");
    test_adamw_first_step();
    test_schedule();
    test_clip();
    test_shards();
    test_dataloader();
    test_dataloader_shards();
    test_checkpoint();
    test_init_hf_vs_torch();
    test_blas_core_advice();
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) return 1;
    return test_summary();
}
