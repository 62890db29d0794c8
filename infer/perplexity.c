// infer/perplexity.c — see perplexity.h.
#include "infer/perplexity.h"
#include "util/errors.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// log softmax(logits)[tok], as llama-perplexity computes it: float max, double sum of expf
static double log_prob(const float *logits, int V, int tok) {
    float max = logits[0];
    for (int i = 1; i < V; i++) max = logits[i] > max ? logits[i] : max;
    double sum = 0.0;
    for (int i = 0; i < V; i++) sum += expf(logits[i] - max);
    return logits[tok] - max - log(sum);
}

int perplexity_tokens(Model *m, const int *tokens, int n, int n_ctx, int bos, FILE *progress, PerplexityResult *r,
                      char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    int V = m->config.vocab_size;
    if (n_ctx < 4) return fail(err, errlen, "--ctx %d is too short for perplexity (at least 4)", n_ctx);
    if (n_ctx > m->kv_max_len) return fail(err, errlen, "--ctx %d is longer than the KV cache (%d)", n_ctx, m->kv_max_len);
    if (n < 2 * n_ctx)
        return fail(err, errlen, "the text has %d tokens; perplexity with --ctx %d needs at least %d", n, n_ctx, 2 * n_ctx);
    int *chunk = malloc((size_t)n_ctx * sizeof(int));
    if (!chunk) return fail(err, errlen, "out of memory");
    int first = n_ctx / 2, n_chunks = n / n_ctx;
    for (int c = 0; c < n_chunks; c++) {
        memcpy(chunk, tokens + (size_t)c * n_ctx, (size_t)n_ctx * sizeof(int));
        if (bos >= 0) chunk[0] = bos;
        // pieces of at most kv_chunk tokens; logits only where some position is scored
        for (int p = 0; p < n_ctx; p += m->kv_chunk) {
            int T = n_ctx - p < m->kv_chunk ? n_ctx - p : m->kv_chunk;
            int scored = p + T > first;
            float *logits = model_forward_kv(m, chunk + p, T, p, scored);
            if (!logits) {
                free(chunk);
                return fail(err, errlen, "the forward pass failed at chunk %d position %d", c, p);
            }
            if (!scored) continue;
            for (int t = 0; t < T; t++) {
                int pos = p + t;
                if (pos < first || pos > n_ctx - 2) continue;
                r->nll -= log_prob(logits + (size_t)t * V, V, chunk[pos + 1]);
                r->count++;
            }
        }
        r->chunks++;
        if (progress) fprintf(progress, "[%d]%.4f%s", c + 1, exp(r->nll / r->count), c + 1 == n_chunks ? "\n" : ",");
    }
    free(chunk);
    r->ppl = exp(r->nll / r->count);
    return 0;
}

int *tokenize_file(Tokenizer *tok, int bos, const char *path, int *n_out, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) return fail_null(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    char *text = NULL;
    size_t len = 0, cap = 0, got;
    char buf[65536];
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) {
        if (len + got + 1 > cap) {
            cap = (len + got + 1) * 2;
            char *t = realloc(text, cap);
            if (!t) { free(text); fclose(f); return fail_null(err, errlen, "%s: out of memory", path); }
            text = t;
        }
        memcpy(text + len, buf, got);
        len += got;
    }
    int rd_err = ferror(f);
    fclose(f);
    if (rd_err) { free(text); return fail_null(err, errlen, "%s: read error", path); }
    if (!text) return fail_null(err, errlen, "%s: empty file", path);
    text[len] = '\0';
    if (strlen(text) != len) { free(text); return fail_null(err, errlen, "%s: contains a NUL byte", path); }
    int n = 0;
    int *ids = tokenizer_encode(tok, text, &n, err, errlen);
    free(text);
    if (!ids) {
        char why[256];
        snprintf(why, sizeof why, "%s", err);
        return fail_null(err, errlen, "%s: %s", path, strcmp(why, "prompt is not valid UTF-8") ? why : "not valid UTF-8");
    }
    int *all = malloc(((size_t)n + 1) * sizeof(int));
    if (!all) { free(ids); return fail_null(err, errlen, "out of memory"); }
    int k = 0;
    if (bos >= 0) all[k++] = bos;
    memcpy(all + k, ids, (size_t)n * sizeof(int));
    free(ids);
    *n_out = n + k;
    return all;
}

int perplexity_file(Model *m, Tokenizer *tok, int bos, const char *path, int n_ctx, FILE *progress,
                    PerplexityResult *r, char *err, size_t errlen) {
    int n;
    int *all = tokenize_file(tok, bos, path, &n, err, errlen);
    if (!all) return -1;
    int rc = perplexity_tokens(m, all, n, n_ctx, bos, progress, r, err, errlen);
    free(all);
    return rc;
}
