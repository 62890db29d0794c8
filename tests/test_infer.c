// tests/test_infer.c — samplers, streaming UTF-8 output, and generation with a checkpoint in the
// layout Meta's Llama 3.2 folders have (tests/fixtures/hf_llama3_tiny: the whole Llama 3
// vocabulary, width 4, bf16 shards; Meta's tokenizer.model beside it) against transformers
// (tests/fixtures/hf_llama3_tiny.fx, tools/make_hf_fixtures.py), both through generate() and
// through bin/infer itself.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cjson/cJSON.h>
#include "util/read_file.h"
#include "infer/chat.h"
#include "infer/generate.h"
#include "infer/load.h"
#include "infer/sampler.h"
#include "infer/tokenizer.h"
#include "formats/checkpoint.h"
#include "tests/fixture.h"
#include "tests/test.h"

// ---- samplers ----

// The kept distribution sampler_filter returns, as a dense vector over the vocabulary.
static void filtered(Sampler *s, const float *logits, float *dense) {
    memset(dense, 0, s->vocab_size * sizeof(float));
    int n = sampler_filter(s, logits);
    for (int i = 0; i < n; i++) dense[s->candidates[i].index] = s->candidates[i].prob;
}

static double max_abs_diff(const float *a, const double *b, int n) {
    double w = 0;
    for (int i = 0; i < n; i++) w = fmax(w, fabs(a[i] - b[i]));
    return w;
}

static void test_samplers(void) {
    // logits = log of (0.4, 0.3, 0.15, 0.1, 0.05): softmax gives those probabilities back, and
    // each filter's result follows from its definition by hand:
    enum { V = 5 };
    const double p[V] = {0.4, 0.3, 0.15, 0.1, 0.05};
    float logits[V], dense[V];
    for (int i = 0; i < V; i++) logits[i] = (float)log(p[i]) + 3.0f; // a shift changes nothing
    struct { const char *what; float temp; int k; float top_p, min_p; double want[V]; } cases[] = {
        {"temperature 1, no filter", 1, 0, 1, 0, {0.4, 0.3, 0.15, 0.1, 0.05}},
        // T = 0.5 squares the probabilities: 0.16, 0.09, 0.0225, 0.01, 0.0025 over 0.285
        {"temperature 0.5", 0.5f, 0, 1, 0, {0.16 / 0.285, 0.09 / 0.285, 0.0225 / 0.285, 0.01 / 0.285, 0.0025 / 0.285}},
        {"top-k 2", 1, 2, 1, 0, {0.4 / 0.7, 0.3 / 0.7, 0, 0, 0}},
        {"top-p 0.8 (0.4+0.3 < 0.8 <= 0.85)", 1, 0, 0.8f, 0, {0.4 / 0.85, 0.3 / 0.85, 0.15 / 0.85, 0, 0}},
        {"top-p 0.69 (0.4 < 0.69 <= 0.4+0.3)", 1, 0, 0.69f, 0, {0.4 / 0.7, 0.3 / 0.7, 0, 0, 0}},
        {"min-p 0.3 (keep p >= 0.12)", 1, 0, 1, 0.3f, {0.4 / 0.85, 0.3 / 0.85, 0.15 / 0.85, 0, 0}},
        {"top-k 4 then top-p 0.9 of the renormalised 4 (0.85 < 0.9*0.95)", 1, 4, 0.9f, 0, {0.4 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0.1 / 0.95, 0}},
        {"top-k 3 then min-p 0.5 (keep p >= 0.2)", 1, 3, 1, 0.5f, {0.4 / 0.7, 0.3 / 0.7, 0, 0, 0}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        Sampler s;
        sampler_init(&s, V, cases[c].temp, cases[c].k, cases[c].top_p, cases[c].min_p, 7);
        filtered(&s, logits, dense);
        double e = max_abs_diff(dense, cases[c].want, V);
        CHECK(e < 1e-6, "sampler_filter %s: kept distribution max abs err %.1e (tol 1e-06)", cases[c].what, e);
        sampler_free(&s);
    }
    // draws follow the kept distribution: 200k draws, each frequency within 5 sigma
    Sampler s;
    sampler_init(&s, V, 1.0f, 0, 0.8f, 0, 123);
    int counts[V] = {0};
    const int N = 200000;
    for (int i = 0; i < N; i++) counts[sampler_sample(&s, logits)]++;
    double worst = 0;
    for (int i = 0; i < V; i++) {
        double q = cases[3].want[i], sd = sqrt(q * (1 - q) / N) + 1e-12;
        worst = fmax(worst, fabs(counts[i] / (double)N - q) / sd);
    }
    CHECK(worst < 5 && counts[3] == 0 && counts[4] == 0,
          "sampler_sample top-p 0.8, %d draws: worst frequency deviation %.2f sigma (tol 5), filtered ids never drawn", N, worst);
    sampler_free(&s);
    // greedy is the argmax; the same seed gives the same draws, another seed other draws
    sampler_init(&s, V, 0.0f, 0, 1, 0, 1);
    CHECK(sampler_sample(&s, logits) == 0, "temperature 0: argmax");
    sampler_free(&s);
    int a[64], b[64], c2[64], same_ab = 1, same_ac = 1;
    for (int run = 0; run < 3; run++) {
        sampler_init(&s, V, 1.0f, 0, 1, 0, run == 2 ? 43 : 42);
        for (int i = 0; i < 64; i++) (run == 0 ? a : run == 1 ? b : c2)[i] = sampler_sample(&s, logits);
        sampler_free(&s);
    }
    for (int i = 0; i < 64; i++) { same_ab &= a[i] == b[i]; same_ac &= a[i] == c2[i]; }
    CHECK(same_ab && !same_ac, "--seed: same seed same 64 draws, another seed different draws");
    // top-k on a large vocabulary: quickselect keeps exactly the k largest
    enum { BIG = 5000 };
    float *big = malloc(BIG * sizeof(float));
    for (int i = 0; i < BIG; i++) big[i] = (float)((i * 7919) % BIG) / 100.0f; // a permutation of 0..49.99
    sampler_init(&s, BIG, 1.0f, 40, 1, 0, 5);
    int n = sampler_filter(&s, big), ok = n == 40;
    for (int i = 0; i < n; i++) ok &= big[s.candidates[i].index] >= (BIG - 40) / 100.0f - 1e-4f;
    CHECK(ok, "top-k 40 of %d logits: exactly the 40 largest kept", BIG);
    sampler_free(&s);
    free(big);
}

// ---- UTF-8 held back across tokens ----

static void test_utf8out(void) {
    char buf[64] = {0};
    FILE *f = fmemopen(buf, sizeof buf, "w");
    Utf8Out o;
    utf8out_init(&o, f);
    const char *llama = "\xF0\x9F\xA6\x99"; // U+1F999, 4 bytes
    utf8out_write(&o, "a", 1);
    utf8out_write(&o, llama, 2);
    long after_half = ftell(f);
    utf8out_write(&o, llama + 2, 2);
    long after_full = ftell(f);
    utf8out_write(&o, "\xC3", 1);  // a lead byte...
    utf8out_write(&o, "b", 1);     // ...that never completes: passed on as it is
    utf8out_flush(&o);
    fclose(f);
    CHECK(after_half == 1 && after_full == 5 && memcmp(buf, "a\xF0\x9F\xA6\x99\xC3" "b", 7) == 0,
          "Utf8Out: half an emoji held back (%ld bytes out), complete after the rest (%ld), broken lead byte passed on",
          after_half, after_full);
    CHECK(utf8_valid("h\xC3\xA9llo", 6) && !utf8_valid("\xC3", 1) && !utf8_valid("\xED\xA0\x80", 3) &&
          !utf8_valid("\xC0\xAF", 2), "utf8_valid: accepts é, rejects a cut sequence, a surrogate and an overlong");
}

// ---- a Llama 3 folder ----

typedef struct { int *ids, n; } Collect;
static int collect(void *u, int t) {
    Collect *c = u;
    c->ids[c->n++] = t;
    return 0;
}

// bin/infer DIR --prompt 'ROMEO:' greedy, printed with --print-ids, against the fixture's greedy0
static void check_infer_greedy(const char *dir, Fixture *fx, const char *tokenizer) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/infer %s --prompt 'ROMEO:' --temperature 0 -n 64 --print-ids 2>/dev/null", test_bin_dir(), dir);
    FILE *p = popen(cmd, "r");
    int got[128], n = 0;
    while (p && n < 128 && fscanf(p, "%d", &got[n]) == 1) n++;
    int status = p ? pclose(p) : -1;
    FixtureTensor *tg = fixture_get(fx, "greedy0");
    int same = status == 0 && n == (int)tg->numel;
    for (int i = 0; same && i < n; i++) same = got[i] == ((int *)tg->data)[i];
    CHECK(same, "bin/infer (%s) --prompt 'ROMEO:' --temperature 0 -n 64 --print-ids == transformers' 64 greedy ids "
          "(exit %d, %d ids)", tokenizer, status, n);
}

static void test_llama3_folder(void) {
    char dir[] = "/tmp/test_infer_llama3.XXXXXX", err[512], cmd0[1024];
    if (!mkdtemp(dir)) { CHECK(0, "mkdtemp"); return; }
    // the fixture's files and the Llama 3 tokenizer.model, as a downloaded folder holds them
    snprintf(cmd0, sizeof cmd0, "cp tests/fixtures/hf_llama3_tiny/* '%s/' && cp '%s/llama3/tokenizer.model' '%s/'",
             dir, test_tokenizer_dir(), dir);
    if (system(cmd0) != 0) { CHECK(0, "assemble %s", dir); return; }
    LoadedModel lm;
    int rc = load_model(&lm, dir, 256, err, sizeof err);
    CHECK(rc == 0, "load_model %s (%s)", dir, rc ? err : "ok");
    if (rc) return;
    Fixture fx;
    if (fixture_load(&fx, "tests/fixtures/hf_llama3_tiny.fx") != 0) { CHECK(0, "hf_llama3_tiny fixture"); return; }
    Model *m = lm.m;
    const int V = m->config.vocab_size;
    Tokenizer tok;
    rc = tokenizer_open(&tok, lm.tokenizer_path, NULL, err, sizeof err);
    CHECK(rc == 0 && tok.kind == TOKENIZER_TIKTOKEN, "tokenizer found with the model: %s (%s)", lm.tokenizer_path,
          rc ? err : "tiktoken");
    model_kv_alloc(m, lm.ctx);
    Sampler greedy;
    sampler_init(&greedy, V, 0.0f, 0, 1, 0, 1);
    const char *texts[] = {"ROMEO:", "JULIET:\n"};
    float *last = malloc(V * sizeof(float));
    for (int k = 0; k < 2; k++) {
        char name[32];
        snprintf(name, sizeof name, "prompt%d", k);
        FixtureTensor *tp = fixture_get(&fx, name);
        snprintf(name, sizeof name, "greedy%d", k);
        FixtureTensor *tg = fixture_get(&fx, name);
        const int *prompt = tp->data, T = (int)tp->numel, G = (int)tg->numel, *ref = tg->data;
        // BOS + tiktoken encoding of the text, as bin/infer builds its prompt
        int n = 0, *enc = rc == 0 ? tokenizer_encode(&tok, texts[k], &n, err, sizeof err) : NULL;
        int same = enc && n + 1 == T && prompt[0] == lm.bos_id;
        for (int i = 0; same && i < n; i++) same = enc[i] == prompt[i + 1];
        CHECK(same, "prompt \"%s\": <|begin_of_text|> + our tokenizer's ids == the fixture's (HF tokenizers)", k ? "JULIET:\\n" : "ROMEO:");
        free(enc);

        int ids[128], pos = 0, stop[LOAD_MAX_EOS];
        memcpy(stop, lm.eos_ids, sizeof stop);
        Collect col = { ids, 0 };
        GenResult r;
        rc = generate(m, &greedy, lm.ctx, prompt, T, &pos, G, stop, lm.n_eos, collect, &col, last, &r, err, sizeof err);
        snprintf(name, sizeof name, "logits_last%d", k);
        const float *ref_logits = fixture_get(&fx, name)->data;
        double num = 0, den = 0;
        for (int i = 0; i < V; i++) { num = fmax(num, fabs(last[i] - ref_logits[i])); den = fmax(den, fabs(ref_logits[i])); }
        CHECK(rc == 0 && num / den < 1e-4, "hf_llama3_tiny \"%s\": last-position logits (bf16 weights, f32 math) vs "
              "transformers: max rel err %.2e (tol 1e-04)", texts[k][0] == 'R' ? "ROMEO:" : "JULIET:", num / den);
        same = col.n == G;
        for (int i = 0; same && i < G; i++) same = ids[i] == ref[i];
        CHECK(same, "hf_llama3_tiny \"%s\": greedy %d tokens identical to transformers generate() (got %d)",
              texts[k][0] == 'R' ? "ROMEO:" : "JULIET:", G, col.n);
        if (rc == 0 && tok.tt) {
            char *text;
            size_t len;
            if (tiktoken_decode(tok.tt, ids, col.n, &text, &len) == 0) {
                printf("     text: %s%s\n", texts[k], text);
                free(text);
            }
        }
        printf("     (prefill %d tok %.2f ms, decode %d tok %.1f tok/s)\n", r.n_prompt, 1e3 * r.prefill_s, r.n_decode,
               r.decode_s > 0 ? r.n_decode / r.decode_s : 0);
    }
    free(last);
    sampler_free(&greedy);

    // bin/infer end to end: the same greedy ids from the text prompt, printed with --print-ids
    check_infer_greedy(dir, &fx, "tokenizer.model");
    if (rc == 0 || tok.tt) tokenizer_close(&tok);
    fixture_free(&fx);
    unload_model(&lm);
    snprintf(cmd0, sizeof cmd0, "rm -rf '%s'", dir);
    if (system(cmd0) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

// A folder whose only tokenizer is tokenizer.json (+ tokenizer_config.json), as most HF
// downloads: found, BOS from config.json, HF tokenizers' prompt ids, transformers' greedy ids.
static void test_tokenizer_json_folder(void) {
    char dir[] = "/tmp/test_infer_json.XXXXXX", err[512], cmd[1024];
    if (!mkdtemp(dir)) { CHECK(0, "mkdtemp"); return; }
    snprintf(cmd, sizeof cmd, "cp tests/fixtures/hf_llama3_tiny/* '%s/' && cp '%s/llama3/tokenizer.json' "
             "'%s/llama3/tokenizer_config.json' '%s/'", dir, test_tokenizer_dir(), test_tokenizer_dir(), dir);
    if (system(cmd) != 0) { CHECK(0, "assemble %s", dir); return; }
    LoadedModel lm;
    Fixture fx;
    int rc = load_model(&lm, dir, 256, err, sizeof err);
    const char *tp = rc == 0 ? strrchr(lm.tokenizer_path, '/') : NULL;
    CHECK(rc == 0 && tp && strcmp(tp, "/tokenizer.json") == 0 && strcmp(lm.chat_template, "llama3") == 0,
          "load_model finds tokenizer.json (%s) and a Llama 3 chat_template in tokenizer_config.json", rc ? err : lm.tokenizer_path);
    if (rc) return;
    Tokenizer tok;
    rc = tokenizer_open(&tok, lm.tokenizer_path, NULL, err, sizeof err);
    CHECK(rc == 0 && tok.kind == TOKENIZER_HF, "tokenizer_open: a tokenizer.json (%s)", rc ? err : "ok");
    if (rc == 0 && fixture_load(&fx, "tests/fixtures/hf_llama3_tiny.fx") == 0) {
        load_resolve_tokens(&lm, &tok);
        FixtureTensor *tp0 = fixture_get(&fx, "prompt0");
        int n = 0, *enc = tokenizer_encode(&tok, "ROMEO:", &n, err, sizeof err), same = enc && lm.add_bos &&
            n + 1 == (int)tp0->numel && ((int *)tp0->data)[0] == lm.bos_id;
        for (int i = 0; same && i < n; i++) same = enc[i] == ((int *)tp0->data)[i + 1];
        CHECK(same, "prompt \"ROMEO:\": BOS %d (config.json) + tokenizer.json's ids == the fixture's (HF tokenizers)", lm.bos_id);
        free(enc);
        check_infer_greedy(dir, &fx, "tokenizer.json only");
        fixture_free(&fx);
    }
    if (rc == 0) tokenizer_close(&tok);
    unload_model(&lm);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

// --chat's prompt ids against HF's chat templates encoded by HF tokenizers
// (tests/fixtures/tokenizer_json/cases.json "chat": Llama 3's template from its
// tokenizer_config.json, Llama 2's from meta-llama/Llama-2-7b-chat-hf).
static void test_chat_formats(void) {
    char err[512], path[1024];
    size_t len;
    char *json = read_file_all("tests/fixtures/tokenizer_json/cases.json", &len, err, sizeof err);
    cJSON *root = json ? cJSON_Parse(json) : NULL;
    free(json);
    if (!root) { CHECK(0, "tests/fixtures/tokenizer_json/cases.json"); return; }
    const char *names[2] = {"llama3", "llama2"};
    for (int k = 0; k < 2; k++) {
        Tokenizer tok;
        snprintf(path, sizeof path, "%s/%s/tokenizer.json", test_tokenizer_dir(), names[k]);
        if (tokenizer_open(&tok, path, NULL, err, sizeof err) != 0) { CHECK(0, "%s", err); continue; }
        Chat ch;
        int bos = tokenizer_special(&tok, k == 0 ? "<|begin_of_text|>" : "<s>");
        int rc = chat_init(&ch, &tok, "", bos, err, sizeof err);
        CHECK(rc == 0 && ch.format == (k == 0 ? CHAT_LLAMA3 : CHAT_LLAMA2), "%s: --chat picks the %s format from "
              "the special tokens", names[k], k == 0 ? "Llama 3" : "Llama 2 [INST]");
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, "chat")) {
            if (rc || strcmp(cJSON_GetObjectItem(c, "tok")->valuestring, names[k]) != 0) continue;
            const char *cname = cJSON_GetObjectItem(c, "name")->valuestring;
            const cJSON *msgs = cJSON_GetObjectItem(c, "messages"), *want = cJSON_GetObjectItem(c, "ids"), *m;
            const char *system = NULL, *user = NULL;
            cJSON_ArrayForEach(m, msgs) {  // the system message and the last user message
                const char *role = cJSON_GetObjectItem(m, "role")->valuestring;
                if (strcmp(role, "system") == 0) system = cJSON_GetObjectItem(m, "content")->valuestring;
                if (strcmp(role, "user") == 0) user = cJSON_GetObjectItem(m, "content")->valuestring;
            }
            int two = cJSON_GetArraySize(msgs) == 3 && !system, n = 0, cap = 8, *ids = malloc(cap * sizeof(int));
            int ok = chat_user_turn(&ch, !two, system, user, &ids, &n, &cap, err, sizeof err) == 0;
            // a later turn: the template's ids end with it, right after the end of the assistant's turn
            int m0 = cJSON_GetArraySize(want), off = two ? m0 - n : 0;
            ok = ok && off >= (two ? 1 : 0) && (two ? off + n == m0 : n == m0);
            for (int i = 0; ok && i < n; i++) ok = ids[i] == cJSON_GetArrayItem(want, off + i)->valueint;
            if (ok && two) ok = cJSON_GetArrayItem(want, off - 1)->valueint == ch.end_id;
            CHECK(ok, "%s chat \"%s\": %s ids == the chat template's through HF tokenizers (%d ids)", names[k], cname,
                  two ? "the second user turn's" : "the prompt's", n);
            free(ids);
        }
        tokenizer_close(&tok);
    }
    // a tokenizer of neither format is refused with one line
    Tokenizer g;
    snprintf(path, sizeof path, "%s/gpt2/r50k_base.tiktoken", test_tokenizer_dir());
    if (tokenizer_open(&g, path, NULL, err, sizeof err) == 0) {
        Chat ch;
        int rc = chat_init(&ch, &g, "", -1, err, sizeof err);
        CHECK(rc != 0 && strstr(err, "Llama 3 and Llama 2 [INST]") && !strchr(err, '\n'), "--chat with GPT-2's tokenizer: \"%s\"", err);
        rc = chat_init(&ch, &g, "other", -1, err, sizeof err);
        CHECK(rc != 0 && strstr(err, "chat_template"), "--chat with another chat_template: \"%s\"", err);
        tokenizer_close(&g);
    }
    cJSON_Delete(root);
}

// ---- our own checkpoints (bin/train's format) ----

// Runs cmd (stderr folded into stdout) and returns its exit status; its output goes to out.
static int run(const char *cmd, char *out, size_t cap) {
    char full[2048];
    snprintf(full, sizeof full, "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    size_t n = p ? fread(out, 1, cap - 1, p) : 0;
    out[n] = '\0';
    int st = p ? pclose(p) : -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// s is exactly one line (one '\n', at the end)
static int one_line(const char *s) {
    const char *nl = strchr(s, '\n');
    return s[0] && nl && nl[1] == '\0';
}

// A random model saved with checkpoint_save_step: bin/infer must read it back exactly, find the
// tokenizer it records, and compute what the in-memory model computes.
static void test_checkpoint(void) {
    char dir[] = "/tmp/test_infer.XXXXXX", path[256], tokpath[256], cmd[1024], out[8192], err[512];
    if (!mkdtemp(dir)) { CHECK(0, "mkdtemp"); return; }
    char src[512];
    snprintf(src, sizeof src, "%s/gpt2/r50k_base.tiktoken", test_tokenizer_dir());
    snprintf(tokpath, sizeof tokpath, "%s/r50k.tiktoken", dir);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", src, tokpath);
    if (system(cmd) != 0) { CHECK(0, "copy %s", src); return; }
    Tokenizer tok;
    if (tokenizer_open(&tok, tokpath, "gpt2", err, sizeof err) != 0) { CHECK(0, "%s", err); return; }
    Config c = {0};
    c.dim = 32; c.n_layers = 2; c.n_heads = 4; c.n_kv_heads = 2; c.head_dim = 8; c.hidden_dim = 64;
    c.vocab_size = tok.vocab_size; c.max_seq_len = 64; c.norm_eps = 1e-5f; c.rope_theta = 10000.0f;
    c.tied_embeddings = 1;
    Model *m = model_create(&c, 1, err, sizeof err);
    model_init_random(m, 1234);
    snprintf(path, sizeof path, "%s/model.bin", dir);
    int rc = checkpoint_save_step(m, path, tokpath, "gpt2", 10, err, sizeof err);
    CHECK(rc == 0, "checkpoint_save_step tiny model with r50k tokenizer (%s)", rc ? err : "ok");

    // in memory: "Hello world" without BOS, greedy 12 tokens, the logits after the prompt
    int n, *prompt = tokenizer_encode(&tok, "Hello world", &n, err, sizeof err);
    model_kv_alloc(m, c.max_seq_len);
    Sampler greedy;
    sampler_init(&greedy, c.vocab_size, 0, 0, 1, 0, 1);
    int ids[64], pos = 0;
    Collect col = { ids, 0 };
    GenResult r;
    float *logits = malloc(c.vocab_size * sizeof(float)), *dumped = malloc(c.vocab_size * sizeof(float));
    generate(m, &greedy, c.max_seq_len, prompt, n, &pos, 12, NULL, 0, collect, &col, logits, &r, err, sizeof err);

    // bin/infer on the file
    snprintf(cmd, sizeof cmd, "%s/infer %s --prompt 'Hello world' --temperature 0 -n 12 --print-ids "
             "--dump-logits %s/logits.f32 2>/dev/null", test_bin_dir(), path, dir);
    rc = run(cmd, out, sizeof out);
    int got[64], k = 0, off = 0, used;
    while (k < 64 && sscanf(out + off, "%d%n", &got[k], &used) == 1) { k++; off += used; }
    int same = rc == 0 && k == col.n;
    for (int i = 0; same && i < k; i++) same = got[i] == ids[i];
    CHECK(same, "bin/infer on our checkpoint: greedy %d ids == the in-memory model's through generate() (exit %d)", col.n, rc);
    snprintf(cmd, sizeof cmd, "%s/logits.f32", dir);
    FILE *f = fopen(cmd, "rb");
    size_t nr = f ? fread(dumped, sizeof(float), c.vocab_size, f) : 0;
    if (f) fclose(f);
    double worst = nr == (size_t)c.vocab_size ? 0 : INFINITY;
    for (int i = 0; i < c.vocab_size && nr; i++) worst = fmax(worst, fabs(dumped[i] - logits[i]));
    CHECK(worst < 1e-5, "--dump-logits of our checkpoint == in-memory logits: max abs err %.1e (tol 1e-05)", worst);

    // the tokenizer file changed since training: refused; --tokenizer overrides
    snprintf(cmd, sizeof cmd, "echo 'IQ== 99999' >> %s", tokpath);
    if (system(cmd) != 0) CHECK(0, "append to the tokenizer copy");
    snprintf(cmd, sizeof cmd, "%s/infer %s --prompt 'Hello' -n 2", test_bin_dir(), path);
    rc = run(cmd, out, sizeof out);
    int ok = rc == 1 && strstr(out, "sha256") && one_line(out);
    out[strcspn(out, "\n")] = '\0';
    CHECK(ok, "changed tokenizer refused, one line, exit 1: %s", out);
    snprintf(cmd, sizeof cmd, "%s/infer %s --tokenizer %s --prompt 'Hello' -n 2 --temperature 0", test_bin_dir(), path, src);
    rc = run(cmd, out, sizeof out);
    CHECK(rc == 0, "--tokenizer overrides the recorded one (exit %d)", rc);
    // a truncated checkpoint
    snprintf(cmd, sizeof cmd, "head -c 5000 %s > %s/trunc.bin && %s/infer %s/trunc.bin --prompt-ids '1 2'", path, dir, test_bin_dir(), dir);
    rc = run(cmd, out, sizeof out);
    ok = rc == 1 && one_line(out);
    out[strcspn(out, "\n")] = '\0';
    CHECK(ok, "truncated checkpoint: one line, exit 1: %s", out);

    free(prompt);
    free(logits);
    free(dumped);
    sampler_free(&greedy);
    tokenizer_close(&tok);
    model_free(m);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

int main(void) {
    test_samplers();
    test_utf8out();
    test_llama3_folder();
    test_tokenizer_json_folder();
    test_chat_formats();
    test_checkpoint();
    return test_summary();
}
