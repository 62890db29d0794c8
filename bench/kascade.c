// bench/kascade.c — bin/bench-kascade: attention time of one layer, dense against a Kascade
// reuse layer, on Llama-3.2-1B's attention shape (32 query heads, 8 KV heads, head_dim 64) with
// random q, K, V, in one process side by side (so a busy machine slows both alike).
//
//   bin/bench-kascade [--ctx 512,2048,4096,8192] [--tile 16] [--top-k 8] [--reps 20] [--prefill 256]
//
// Per context N: decode (one query at position N-1) and a prefill chunk (the last --prefill
// queries): dense attention_forward, the anchor (attention_forward plus the tile scores), and the
// reuse layer (gathers top_k + 2 tiles per head and query block); medians of --reps runs, in ms,
// and dense / reuse. The selection comes from the random data: the time does not depend on it.
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench/bench.h"
#include "model/kascade.h"
#include "model/ops.h"
#include "util/errors.h"
#include "util/rng.h"

enum { NH = 32, NKV = 8, HD = 64 };

int main(int argc, char **argv) {
    const char *ctxs = "512,2048,4096,8192";
    int tile = 16, top_k = 8, reps = 20, prefill = 256;
    static const struct option opts[] = {
        {"ctx", required_argument, 0, 'c'}, {"tile", required_argument, 0, 't'}, {"top-k", required_argument, 0, 'k'},
        {"reps", required_argument, 0, 'r'}, {"prefill", required_argument, 0, 'p'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (o) {
        case 'c': ctxs = optarg; break;
        case 't': tile = (int)flag_long("tile", optarg, 1, 4096); break;
        case 'k': top_k = (int)flag_long("top-k", optarg, 0, 65536); break;
        case 'r': reps = (int)flag_long("reps", optarg, 1, 100000); break;
        case 'p': prefill = (int)flag_long("prefill", optarg, 1, 4096); break;
        case 'h':
            printf("usage: bench-kascade [--ctx LIST] [--tile N] [--top-k K] [--reps N] [--prefill T]\n"
                   "  --ctx LIST    contexts, comma separated (default 512,2048,4096,8192)\n"
                   "  --tile N      keys per tile (default 16)\n"
                   "  --top-k K     tiles kept besides the first and the own tile (default 8)\n"
                   "  --reps N      timed runs per number, median reported (default 20)\n"
                   "  --prefill T   queries of the prefill chunk (default 256)\n"
                   "  -h, --help    this help\n");
            return 0;
        case ':': die("%s needs a value (see --help)", argv[optind - 1]);
        default: die("unknown option %s (see --help)", argv[optind - 1]);
        }
    }
    printf("# attention of one layer, %d heads (%d KV) x %d, tile %d, top-k %d, %d threads; ms (median of %d)\n",
           NH, NKV, HD, tile, top_k, omp_get_max_threads(), reps);
    printf("%-6s %-8s %10s %10s %10s %8s %9s\n", "ctx", "queries", "dense", "anchor", "reuse", "speedup", "sparsity");
    char *list = strdup(ctxs), *save = NULL;
    if (!list) die("out of memory");
    for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int N = (int)flag_long("ctx", tok, 1, 1 << 20);
        float *kc = malloc((size_t)N * NKV * HD * sizeof(float)), *vc = malloc((size_t)N * NKV * HD * sizeof(float));
        int Tmax = prefill < N ? prefill : N;
        float *q = malloc((size_t)Tmax * NH * HD * sizeof(float)), *out = malloc((size_t)Tmax * NH * HD * sizeof(float));
        float *att = malloc((size_t)NH * Tmax * N * sizeof(float));
        if (!kc || !vc || !q || !out || !att) die("out of memory at --ctx %d", N);
        uint64_t s = 1;
        for (size_t i = 0; i < (size_t)N * NKV * HD; i++) {
            kc[i] = (float)((rng_next(&s) >> 40) * 0x1.0p-24) - 0.5f;
            vc[i] = (float)((rng_next(&s) >> 40) * 0x1.0p-24) - 0.5f;
        }
        for (size_t i = 0; i < (size_t)Tmax * NH * HD; i++) q[i] = (float)((rng_next(&s) >> 40) * 0x1.0p-24) * 4 - 2;
        Kascade *k = kascade_create(2, NH);
        k->tile = tile; k->top_k = top_k; k->source[1] = 0;
        char err[256];
        if (kascade_prepare(k, N, Tmax, HD, err, sizeof err) != 0) die("%s", err);
        for (int pass = 0; pass < 2; pass++) {
            int T = pass == 0 ? 1 : Tmax;
            double *td = malloc(reps * sizeof(double)), *ta = malloc(reps * sizeof(double)), *tr = malloc(reps * sizeof(double));
            if (!td || !ta || !tr) die("out of memory");
            kascade_reset_stats(k);
            for (int r = 0; r < reps; r++) {   // dense, anchor, reuse in turn
                double t0 = now_s();
                attention_forward(out, att, NULL, q, kc, vc, 1, T, N, NH, NKV, HD, 0.0f, 0, 0);
                double t1 = now_s();
                kascade_attention(k, 0, out, att, q, kc, vc, T, N, NH, NKV, HD);
                double t2 = now_s();
                kascade_attention(k, 1, out, att, q, kc, vc, T, N, NH, NKV, HD);
                double t3 = now_s();
                td[r] = t1 - t0; ta[r] = t2 - t1; tr[r] = t3 - t2;
            }
            double d = median(td, reps), a = median(ta, reps), u = median(tr, reps);
            printf("%-6d %-8d %10.3f %10.3f %10.3f %7.2fx %8.1f%%\n", N, T, 1e3 * d, 1e3 * a, 1e3 * u, d / u,
                   kascade_sparsity(k));
            fflush(stdout);
            free(td); free(ta); free(tr);
        }
        kascade_free(k);
        free(kc); free(vc); free(q); free(out); free(att);
    }
    free(list);
    return 0;
}
