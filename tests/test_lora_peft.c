// tests/test_lora_peft.c — LoRA against transformers + peft (tests/fixtures/lora, written by
// tools/make_lora_fixtures.py on a machine with torch; this test reads only those files):
//  1. the adapters' gradients at the first batch, on the bf16 base with peft's adapter loaded
//     by peft_read (no f32 copy of the base);
//  2. bin/train --init BASE --lora-init ADAPTER: the loss and gradient norm of every AdamW step
//     against PyTorch's;
//  3. adapters bin/export --format peft wrote (tests/fixtures/lora/export): bin/train
//     --lora-init with lr 0 turns them into a LoRA checkpoint, which bin/export writes back byte
//     for byte; load_model on that checkpoint (what bin/infer does) gives peft's logits on the
//     bf16 base and on the f32 base they were trained on; bin/export --format hf merges them,
//     and the merged folder gives the logits transformers computed from it;
//  4. the tokenizer.json of a folder bin/export --format hf wrote: bin/tokenize's ids against
//     transformers' AutoTokenizer on the same folder.
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "data/shards.h"
#include "formats/peft.h"
#include "infer/load.h"
#include "model/lora.h"
#include "tests/fixture.h"
#include "tests/test.h"
#include "tests/torch_steps.h"
#include "util/read_file.h"

#define FX "tests/fixtures/lora"
static char tmpdir[128];
static Fixture fx;

static double rel_err(const float *a, const float *ref, size_t n) {
    double err = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        err = fmax(err, fabs((double)a[i] - ref[i]));
        if (isnan(a[i])) err = INFINITY;
        scale = fmax(scale, fabs(ref[i]));
    }
    return err / (scale > 0 ? scale : 1);
}

static int run(const char *cmd) {
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// ---- 1. gradients at the first batch ----
static void test_grads(void) {
    const int *hi = fixture_get(&fx, "hparams_i")->data;
    int B = hi[1], T = hi[2];
    char err[1024];
    LoadedModel lm;
    if (load_model(&lm, FX "/base", 0, err, sizeof err) != 0) { CHECK(0, "load %s: %s", FX "/base", err); return; }
    Model *m = lm.m;
    Lora *l = peft_read(FX "/adapter", &m->config, NULL, 0, err, sizeof err);
    CHECK(l && l->rank == 4 && l->alpha == 8 && l->targets == (1u << LORA_NT) - 1,
          "peft_read: peft's adapter_config.json (r 4, lora_alpha 8, seven target modules) %s", l ? "" : err);
    if (!l) { unload_model(&lm); return; }
    CHECK(model_attach_lora(m, l, err, sizeof err) == 0 && !m->params_memory && m->w.layers[1].w2.dtype == DTYPE_BF16 &&
          m->w.lm_head.dtype == DTYPE_BF16, "the base as bin/infer loads it: bf16 matrices in the mmap, no f32 parameters");
    Shard sh;
    if (shard_open(&sh, FX "/train.bin", err, sizeof err) != 0) { CHECK(0, "%s", err); return; }
    int *in = malloc(B * T * sizeof(int)), *tg = malloc(B * T * sizeof(int));
    for (int i = 0; i < B * T; i++) { in[i] = shard_token(&sh, i); tg[i] = shard_token(&sh, i + 1); }
    float loss = model_forward(m, in, tg, B, T);
    model_zero_grad(m);
    model_backward(m);
    float want = ((const float *)fixture_get(&fx, "losses")->data)[0];
    CHECK(fabs(loss - want) / want < 1e-6, "loss at the first batch %.7f, PyTorch + peft %.7f (rel err %.1e, tol 1e-6)", loss,
          want, fabs(loss - want) / want);
    double worst = 0;
    int found = 0;
    size_t off = 0;
    for (int t = 0; t < l->n_tensors; t++) {
        char name[160], key[170];
        lora_tensor_name(l, t, name, sizeof name);
        snprintf(key, sizeof key, "grad.%s", name);
        FixtureTensor *g = fixture_get(&fx, key);
        if (g && g->numel == l->sizes[t]) { worst = fmax(worst, rel_err(l->grads + off, g->data, g->numel)); found++; }
        off += l->sizes[t];
    }
    // float32 sums in other orders than PyTorch's: ~1e-6 of each tensor's scale
    CHECK(found == l->n_tensors && worst < 2e-5,
          "gradients of all %d adapter tensors (%d compared) vs PyTorch + peft: worst max err / max |ref| %.1e (tol 2e-5)",
          l->n_tensors, found, worst);
    free(in); free(tg);
    shard_close(&sh);
    unload_model(&lm);
    lora_free(l);
}

// ---- 2. bin/train step by step ----
static void test_train(void) {
    const int *hi = fixture_get(&fx, "hparams_i")->data;
    double worst, worst_norm;
    int rc, n = torch_steps_run(&fx, "--init " FX "/base --lora-init " FX "/adapter --data " FX "/train.bin --val-data "
                                FX "/val.bin", tmpdir, "train", &worst, &worst_norm, &rc);
    CHECK(rc == 0 && n == hi[0] && worst < 1e-5 && worst_norm < 1e-4,
          "bin/train --init bf16 base --lora-init peft adapter vs PyTorch + peft AdamW, %d steps: loss max rel err %.1e "
          "(tol 1e-05), grad norm %.1e (tol 1e-04) (exit %d)", n, worst, worst_norm, rc);
}

// ---- 3. adapters bin/export wrote, in peft and merged ----
// the logits of every position of the fixture's tokens through load_model(path)
static double logits_vs(const char *path, const char *key) {
    FixtureTensor *tk = fixture_get(&fx, "export_tokens"), *ref = fixture_get(&fx, key);
    char err[2048];
    LoadedModel lm;
    if (!tk || !ref || load_model(&lm, path, 0, err, sizeof err) != 0) { printf("     %s: %s\n", path, err); return INFINITY; }
    int T = (int)tk->numel;
    model_forward(lm.m, tk->data, NULL, 1, T);
    double e = (size_t)T * lm.m->config.vocab_size == ref->numel ? rel_err(model_logits(lm.m), ref->data, ref->numel) : INFINITY;
    unload_model(&lm);
    return e;
}

// a file without the line holding `drop` (adapter_config.json's base path differs by machine)
static char *read_without(const char *path, const char *drop) {
    char err[512];
    size_t n;
    char *s = read_file_all(path, &n, err, sizeof err), *at = s ? strstr(s, drop) : NULL;
    if (at) {
        char *start = at, *end = strchr(at, '\n');
        while (start > s && start[-1] != '\n') start--;
        memmove(start, end ? end + 1 : at + strlen(at), strlen(end ? end + 1 : at + strlen(at)) + 1);
    }
    return s;
}

static void test_export(void) {
    char cmd[2048], ck[300], out[300];
    static const char *bases[2][2] = {{FX "/base", "export_logits"}, {"tests/fixtures/hf_init", "export_logits_other"}};
    for (int b = 0; b < 2; b++) {
        // lr 0: AdamW leaves every adapter as it was (p * (1 - 0) - 0 * m / denom)
        snprintf(cmd, sizeof cmd,
                 "%s/train --init %s --lora-init " FX "/export --data " FX "/train.bin --val-data " FX "/val.bin --steps 1 "
                 "--batch 2 --seq 16 --lr 0 --min-lr 0 --lr-schedule constant --warmup 0 --eval-batches 1 --sample-chars 0 "
                 "--threads 2 --ckpt-dir %s/ck%d > %s/ck%d.out 2>&1",
                 test_bin_dir(), bases[b][0], tmpdir, b, tmpdir, b);
        snprintf(ck, sizeof ck, "%s/ck%d/model_00000001.bin", tmpdir, b);
        int rc = run(cmd);
        double e = rc == 0 ? logits_vs(ck, bases[b][1]) : INFINITY;
        CHECK(e < 1e-5, "bin/export's peft adapters on %s: load_model on the LoRA checkpoint vs "
              "PeftModel.from_pretrained's logits at 12 positions, max err / max |ref| %.1e (tol 1e-5) (exit %d)",
              bases[b][0], e, rc);
        if (b == 0) {   // bin/export writes those adapters back as they were
            snprintf(out, sizeof out, "%s/peft", tmpdir);
            snprintf(cmd, sizeof cmd, "%s/export %s %s --format peft 2> /dev/null && cmp -s %s/adapter_model.safetensors "
                     FX "/export/adapter_model.safetensors", test_bin_dir(), ck, out, out);
            rc = run(cmd);
            char p[400];
            snprintf(p, sizeof p, "%s/adapter_config.json", out);
            char *a = read_without(p, "\"base_model_name_or_path\""), *w = read_without(FX "/export/adapter_config.json",
                                                                                    "\"base_model_name_or_path\"");
            CHECK(rc == 0 && a && w && !strcmp(a, w), "bin/export --format peft: adapter_model.safetensors byte for byte, "
                  "adapter_config.json but the base's path as committed (what peft loaded)");
            free(a); free(w);
        } else {        // merged into the base (f32): transformers' logits of that folder
            snprintf(out, sizeof out, "%s/merged", tmpdir);
            snprintf(cmd, sizeof cmd, "%s/export %s %s --format hf --dtype f32 2> /dev/null", test_bin_dir(), ck, out);
            rc = run(cmd);
            e = rc == 0 ? logits_vs(out, "merged_logits") : INFINITY;
            CHECK(e < 1e-5, "bin/export --format hf of the LoRA checkpoint (merged, f32) vs transformers on that folder: "
                  "max err / max |ref| %.1e (tol 1e-5)", e);
            double e2 = rc == 0 ? logits_vs(out, "export_logits_other") : INFINITY;
            CHECK(e2 < 1e-5, "the merged folder gives peft's logits of the unmerged adapters: %.1e (tol 1e-5)", e2);
        }
    }
}

// ---- 4. tokenizer.json through bin/export, AutoTokenizer against bin/tokenize ----
static void ids_text(char *buf, size_t cap, const cJSON *arr) {
    size_t w = 0;
    const cJSON *x;
    buf[0] = '\0';
    cJSON_ArrayForEach(x, arr) w += snprintf(buf + w, w < cap ? cap - w : 0, "%s%d", w ? " " : "", x->valueint);
}

static void test_tokenizers(void) {
    char err[512], cmd[4096];
    size_t n;
    char *text = read_file_all(FX "/tokenizer_ids.json", &n, err, sizeof err);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    free(text);
    const cJSON *texts = cJSON_GetObjectItemCaseSensitive(j, "texts"), *ids = cJSON_GetObjectItemCaseSensitive(j, "ids");
    if (!cJSON_IsArray(texts) || !cJSON_IsObject(ids)) { CHECK(0, "%s: texts and ids", FX "/tokenizer_ids.json"); cJSON_Delete(j); return; }
    static const char *cases[2][2] = {{"llama3", "hf_llama3_tiny"}, {"llama2", "hf_llama2_fp32"}};
    for (int c = 0; c < 2; c++) {
        const char *name = cases[c][0];
        char tok[256], src[256], dir[256];
        snprintf(tok, sizeof tok, "%s/%s", test_tokenizer_dir(), name);
        snprintf(cmd, sizeof cmd, "test -f %s/tokenizer.json", tok);
        if (run(cmd) != 0) { printf("SKIP tokenizer %s: no %s/tokenizer.json\n", name, tok); continue; }
        // a downloaded folder: the weights with the tokenizer files, exported as bin/export does
        snprintf(src, sizeof src, "%s/src_%s", tmpdir, name);
        snprintf(dir, sizeof dir, "%s/hf_%s", tmpdir, name);
        snprintf(cmd, sizeof cmd, "mkdir -p %s && cp tests/fixtures/%s/* %s/ && cp %s/tokenizer.json %s/tokenizer_config.json %s/ && "
                 "%s/export %s %s --format hf 2> /dev/null", src, cases[c][1], src, tok, tok, src, test_bin_dir(), src, dir);
        if (run(cmd) != 0) { CHECK(0, "export %s", src); continue; }
        const cJSON *mine = cJSON_GetObjectItemCaseSensitive(ids, name);
        const cJSON *plain = cJSON_GetObjectItemCaseSensitive(mine, "plain"), *file = cJSON_GetObjectItemCaseSensitive(mine, "file");
        int k = 0, total = 0, bad_file = 0, bad_auto = 0, auto_own = 0;
        const cJSON *t;
        cJSON_ArrayForEach(t, texts) {
            char in[400], line[1 << 14], want_auto[1 << 14], want_file[1 << 14];
            snprintf(in, sizeof in, "%s/text%d", tmpdir, k);
            FILE *f = fopen(in, "wb");
            if (f) { fputs(t->valuestring, f); fclose(f); }
            snprintf(cmd, sizeof cmd, "%s/tokenize --tokenizer %s/tokenizer.json --special < %s", test_bin_dir(), dir, in);
            FILE *p = popen(cmd, "r");
            line[0] = '\0';
            if (p) { if (!fgets(line, sizeof line, p)) line[0] = '\0'; pclose(p); }
            line[strcspn(line, "\n")] = '\0';
            ids_text(want_auto, sizeof want_auto, cJSON_GetArrayItem(plain, k));
            ids_text(want_file, sizeof want_file, cJSON_GetArrayItem(file, k));
            if (strcmp(line, want_file)) { bad_file++; printf("     %s text %d: ours \"%.200s\", HF tokenizers \"%.200s\"\n", name, k, line, want_file); }
            // transformers' class may rebuild the pipeline from tokenizer_config.json instead of
            // the file's: where it disagrees with the file itself, it is not compared
            if (strcmp(want_auto, want_file)) {
                auto_own++;
                printf("     %s text %d: AutoTokenizer \"%.120s\" differs from the file's own \"%.120s\"\n", name, k, want_auto, want_file);
            } else if (strcmp(line, want_auto)) bad_auto++;
            total++;
            k++;
        }
        const cJSON *cls = cJSON_GetObjectItemCaseSensitive(mine, "class");
        CHECK(total > 10 && bad_file == 0, "%s tokenizer.json exported by bin/export: bin/tokenize --special gives HF tokenizers' "
              "ids on %d tricky texts (whitespace runs, line endings, digits, contractions, accents, CJK, emoji, byte "
              "fallback, special-token text): %d differ", name, total, bad_file);
        CHECK(total > 10 && bad_auto == 0 && total - auto_own >= 10,
              "%s: transformers' AutoTokenizer (%s) on the exported folder: the same ids on the %d texts where it follows "
              "its tokenizer.json (%d where it does not: its own normalizer), %d differ", name,
              cJSON_IsString(cls) ? cls->valuestring : "?", total - auto_own, auto_own, bad_auto);
    }
    cJSON_Delete(j);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_lora_peft.%d", (int)getpid());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", tmpdir);
    if (system(cmd) != 0 || fixture_load(&fx, FX "/reference.fx") != 0) return 1;
    test_grads();
    test_train();
    test_export();
    test_tokenizers();
    fixture_free(&fx);
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) return 1;
    return test_summary();
}
