// infer/kascade_calibrate.c — bin/kascade-calibrate: a Kascade schedule for a model, from dense
// attention over a text (infer/calibrate.h measures, model/kascade.h kascade_plan picks).
//
//   bin/kascade-calibrate MODEL TEXT --out SCHEDULE.json [--ctx N] [--tile 16] [--top-k 8]
//             [--max-reuse 4] [--threshold 0.1] [--chunks 8] [--tokenizer FILE] [--threads N]
//
// Prints the anchors and each reuse layer's source and cover on stderr; writes the JSON
// (docs/kascade.md) atomically.
#include <cblas.h>
#include <getopt.h>
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

static void usage(void) {
    printf("usage: kascade-calibrate MODEL TEXT --out SCHEDULE.json [options]\n"
           "Runs dense attention over TEXT and writes the Kascade schedule (anchor layers, each layer's\n"
           "source layer and head map) that bin/infer --attention kascade --kascade-schedule reads.\n"
           "  --out FILE        the schedule (JSON) (required)\n"
           "  --ctx N           tokens per chunk of TEXT (default: the model's context, at most 512)\n"
           "  --tile N          keys per tile (default 16)\n"
           "  --top-k K         tiles kept per query block besides the first and the own tile (default 8)\n"
           "  --max-reuse D     a reuse layer is at most D layers above its anchor (default 4)\n"
           "  --threshold X     a layer reuses an anchor only when the anchor's kept tiles cover at least\n"
           "                    1 - X of its attention mass (default 0.1)\n"
           "  --chunks N        chunks of TEXT measured, at most (default 8)\n"
           "  --tokenizer FILE  tiktoken rank file or llama2.c tokenizer.bin (default: found with the model)\n"
           "  --threads N       OpenMP and OpenBLAS threads (default: the environment's)\n"
           "  -h, --help        this help\n");
}

int main(int argc, char **argv) {
    const char *out = NULL, *tokenizer_path = NULL;
    int ctx = 0, threads = 0;
    CalibrateConfig cfg = { .tile = 16, .top_k = 8, .max_reuse = 4, .max_chunks = 8, .threshold = 0.1 };
    enum { O_OUT = 256, O_CTX, O_TILE, O_TOPK, O_REUSE, O_THRESH, O_CHUNKS, O_TOKENIZER, O_THREADS };
    static const struct option opts[] = {
        {"out", required_argument, 0, O_OUT}, {"ctx", required_argument, 0, O_CTX},
        {"tile", required_argument, 0, O_TILE}, {"top-k", required_argument, 0, O_TOPK},
        {"max-reuse", required_argument, 0, O_REUSE}, {"threshold", required_argument, 0, O_THRESH},
        {"chunks", required_argument, 0, O_CHUNKS}, {"tokenizer", required_argument, 0, O_TOKENIZER},
        {"threads", required_argument, 0, O_THREADS}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (o) {
        case O_OUT: out = optarg; break;
        case O_CTX: ctx = (int)flag_long("ctx", optarg, 1, INT_MAX); break;
        case O_TILE: cfg.tile = (int)flag_long("tile", optarg, 1, 65536); break;
        case O_TOPK: cfg.top_k = (int)flag_long("top-k", optarg, 0, 65536); break;
        case O_REUSE: cfg.max_reuse = (int)flag_long("max-reuse", optarg, 0, 1024); break;
        case O_THRESH: cfg.threshold = flag_double("threshold", optarg, 0, 1); break;
        case O_CHUNKS: cfg.max_chunks = (int)flag_long("chunks", optarg, 1, INT_MAX); break;
        case O_TOKENIZER: tokenizer_path = optarg; break;
        case O_THREADS: threads = (int)flag_long("threads", optarg, 1, 1024); break;
        case 'h': usage(); return 0;
        case ':': die("%s needs a value (see --help)", argv[optind - 1]);
        default: die("unknown option %s (see --help)", argv[optind - 1]);
        }
    }
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
