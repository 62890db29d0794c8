// infer/kascade_calibrate.c — bin/kascade-calibrate: a Kascade schedule for a model, from dense
// attention over a text (infer/calibrate.h measures, model/kascade.h kascade_plan picks).
//
//   bin/kascade-calibrate MODEL TEXT --out SCHEDULE.json [--ctx N] [--tile 16] [--top-k 8]
//             [--max-reuse 4] [--threshold 0.1] [--chunks 8] [--tokenizer FILE] [--threads N]
//
// Prints the anchors and each reuse layer's source and cover on stderr; writes the JSON
// (docs/kascade.md) atomically.
#include <cblas.h>
#include <limits.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "infer/calibrate.h"
#include "infer/load.h"
#include "infer/perplexity.h"
#include "infer/tokenizer.h"
#include "util/errors.h"
#include "util/flags.h"

typedef struct {
    const char *out, *tokenizer;
    int ctx, threads;   // 0: the model's context (at most 512); the environment's threads
    CalibrateConfig cfg;
} Options;

#define F(field) FLAG_FIELD(Options, field)
static const FlagRow flag_rows[] = {
    {"out", K_STR, F(out), 0, 0, 0, NULL, NULL, 0, 0, "FILE", "the schedule (JSON) (required)"},
    {"ctx", K_INT, F(ctx), 1, INT_MAX, 0, NULL, NULL, 0, 0, "N",
     "tokens per chunk of TEXT (default: the model's context, at most 512)"},
    {"tile", K_INT, F(cfg.tile), 1, 65536, 0, NULL, "16", 0, 0, "N", "keys per tile"},
    {"top-k", K_INT, F(cfg.top_k), 0, 65536, 0, NULL, "8", 0, 0, "K",
     "tiles kept per query block besides the first and the own tile"},
    {"max-reuse", K_INT, F(cfg.max_reuse), 0, 1024, 0, NULL, "4", 0, 0, "D",
     "a reuse layer is at most D layers above its anchor"},
    {"threshold", K_F64, F(cfg.threshold), 0, 1, 0, NULL, "0.1", 0, 0, "X",
     "a layer reuses an anchor only when the anchor's kept tiles cover at\nleast 1 - X of its attention mass"},
    {"chunks", K_INT, F(cfg.max_chunks), 1, INT_MAX, 0, NULL, "8", 0, 0, "N", "chunks of TEXT measured, at most"},
    {"tokenizer", K_STR, F(tokenizer), 0, 0, 0, NULL, NULL, 0, 0, "FILE",
     "tiktoken rank file or llama2.c tokenizer.bin (default: found with the\nmodel)"},
    {"threads", K_INT, F(threads), 1, 1024, 0, NULL, NULL, 0, 0, "N",
     "OpenMP and OpenBLAS threads (default: the environment's)"},
};
static const FlagTable table = {
    .rows = flag_rows, .n_rows = sizeof flag_rows / sizeof flag_rows[0],
    .usage = "usage: kascade-calibrate MODEL TEXT --out SCHEDULE.json [options]\n"
             "Runs dense attention over TEXT and writes the Kascade schedule (anchor layers, each layer's\n"
             "source layer and head map) that bin/infer --attention kascade --kascade-schedule reads.\n",
};

int main(int argc, char **argv) {
    Options o = {0};
    unsigned char given[sizeof flag_rows / sizeof flag_rows[0]];
    int optind = flags_parse(&table, argc, argv, &o, given);
    const char *out = o.out, *tokenizer_path = o.tokenizer;
    int ctx = o.ctx, threads = o.threads;
    CalibrateConfig cfg = o.cfg;
    if (argc - optind != 2) die("give MODEL and TEXT (see --help)");
    if (!out) die("--out SCHEDULE.json is required");
    if (threads) {
        omp_set_num_threads(threads);
        openblas_set_num_threads(threads);
    }
    char err[1024];
    LoadedModel lm;
    if (load_model(&lm, argv[optind], ctx, err, sizeof err) != 0) die("%s", err);
    Model *m = lm.m;
    const char *tpath = tokenizer_path ? tokenizer_path : (lm.tokenizer_path[0] ? lm.tokenizer_path : NULL);
    if (!tpath) die("no tokenizer found for %s: pass --tokenizer FILE", argv[optind]);
    Tokenizer tok;
    if (tokenizer_open(&tok, tpath, lm.tokenizer_pattern, err, sizeof err) != 0) die("%s", err);
    if (tok.kind == TOKENIZER_SP ? tok.vocab_size != m->config.vocab_size : tok.vocab_size > m->config.vocab_size)
        die("%s: tokenizer has %d tokens but the model's vocab_size is %d", tpath, tok.vocab_size, m->config.vocab_size);
    if (!ctx) ctx = lm.ctx < 512 ? lm.ctx : 512;
    if (model_kv_alloc(m, ctx) != 0) die("cannot allocate the KV cache for --ctx %d", ctx);
    int n;
    int *ids = tokenize_file(&tok, lm.bos_id, argv[optind + 1], &n, err, sizeof err);
    if (!ids) die("%s", err);
    long blocks = 0;
    Kascade *k = kascade_calibrate(m, ids, n, ctx, &cfg, &blocks, err, sizeof err);
    if (!k) die("%s", err);
    if (kascade_save(k, out, err, sizeof err) != 0) die("%s", err);
    int anchors = 0;
    for (int l = 0; l < k->n_layers; l++) anchors += k->source[l] == l;
    fprintf(stderr, "kascade-calibrate: %ld query blocks of %d chunks of %d tokens; %d of %d layers anchors:",
            blocks, n / ctx < cfg.max_chunks ? n / ctx : cfg.max_chunks, ctx, anchors, k->n_layers);
    for (int l = 0; l < k->n_layers; l++)
        if (k->source[l] == l) fprintf(stderr, " %d", l);
    fprintf(stderr, "; wrote %s\n", out);
    kascade_free(k);
    free(ids);
    tokenizer_close(&tok);
    unload_model(&lm);
    return 0;
}
