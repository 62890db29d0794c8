// bench/decode.c — inference speed of the model core at a given shape, random weights:
//   prefill  tok/s: one model_forward_kv over a P-token prompt (batched sgemm; last logits only)
//   decode   tok/s: N single-token model_forward_kv steps after that prompt (the gemv path)
//   KV cache vs recompute at K tokens: producing K tokens one at a time with the cache
//            (K steps of 1 token) against recomputing the whole prefix every step without it
//            (step t runs tokens[0..t] from position 0: what generation costs without a cache)
// Each a median of --reps repetitions. Weights are f32 from model_init_random (the shapes, not
// the values, set the speed). One JSON object on stdout, a summary on stderr.
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "model/model.h"
#include "bench/bench.h"

static long parse_pos(const char *s, const char *flag) {
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v <= 0 || v > (1L << 30)) {
        fprintf(stderr, "bench-decode: %s: expected a positive integer, got '%s'\n", flag, s);
        exit(1);
    }
    return v;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: bench-decode [options]\n"
            "Prefill, decode and KV-cache-vs-recompute speed of the model core, random f32 weights.\n"
            "  --dim N         model dim (default 128)\n"
            "  --n-layers N    layers (default 4)\n"
            "  --n-heads N     query heads (default 4)\n"
            "  --n-kv-heads N  key/value heads (default = n-heads)\n"
            "  --head-dim N    head dim (default dim / n-heads)\n"
            "  --hidden-dim N  SwiGLU width (default 512)\n"
            "  --vocab N       vocabulary (default 1024)\n"
            "  --prompt N      prefill prompt length (default 512)\n"
            "  --decode N      decode steps after the prompt (default 128)\n"
            "  --kv-len N      tokens for the KV-cache vs recompute comparison (default 256)\n"
            "  --reps N        repetitions, median reported (default 5)\n"
            "  --max-seconds S stop repeating the KV/recompute pair after S seconds (default 20)\n"
            "  --kv-only       only the KV cache vs recompute comparison (default: off)\n"
            "  -h, --help      this text\n");
}

int main(int argc, char **argv) {
    Config c = {0};
    c.dim = 128, c.n_layers = 4, c.n_heads = 4, c.hidden_dim = 512, c.vocab_size = 1024;
    c.norm_eps = 1e-5f, c.rope_theta = 10000.0f, c.tied_embeddings = 1;
    int P = 512, N = 128, K = 256, reps = 5;
    double max_s = 20;
    int kv_only = 0;
    static struct option opts[] = {
        {"dim", 1, 0, 'd'},     {"n-layers", 1, 0, 'l'}, {"n-heads", 1, 0, 'a'},
        {"n-kv-heads", 1, 0, 'k'}, {"head-dim", 1, 0, 'e'}, {"hidden-dim", 1, 0, 'f'},
        {"vocab", 1, 0, 'v'},   {"prompt", 1, 0, 'p'},   {"decode", 1, 0, 'n'},
        {"kv-len", 1, 0, 'K'},  {"reps", 1, 0, 'r'},     {"max-seconds", 1, 0, 's'},
        {"kv-only", 0, 0, 'o'},
        {"help", 0, 0, 'h'},
        {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'd': c.dim = parse_pos(optarg, "--dim"); break;
        case 'l': c.n_layers = parse_pos(optarg, "--n-layers"); break;
        case 'a': c.n_heads = parse_pos(optarg, "--n-heads"); break;
        case 'k': c.n_kv_heads = parse_pos(optarg, "--n-kv-heads"); break;
        case 'e': c.head_dim = parse_pos(optarg, "--head-dim"); break;
        case 'f': c.hidden_dim = parse_pos(optarg, "--hidden-dim"); break;
        case 'v': c.vocab_size = parse_pos(optarg, "--vocab"); break;
        case 'p': P = parse_pos(optarg, "--prompt"); break;
        case 'n': N = parse_pos(optarg, "--decode"); break;
        case 'K': K = parse_pos(optarg, "--kv-len"); break;
        case 'r': reps = parse_pos(optarg, "--reps"); if (reps > 64) reps = 64; break;
        case 'o': kv_only = 1; break;
        case 's': max_s = parse_pos(optarg, "--max-seconds"); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "bench-decode: unexpected argument '%s'\n", argv[optind]);
        return 1;
    }
    if (!c.n_kv_heads) c.n_kv_heads = c.n_heads;
    if (!c.head_dim) c.head_dim = c.dim / c.n_heads;
    int ctx = (P + N > K ? P + N : K);
    c.max_seq_len = ctx;

    char err[256];
    Model *m = model_create(&c, 1, err, sizeof err);
    if (!m) { fprintf(stderr, "bench-decode: %s\n", err); return 1; }
    model_init_random(m, 42);
    model_point_weights(m);
    if (model_kv_alloc(m, ctx) != 0) { fprintf(stderr, "bench-decode: cannot allocate the KV cache\n"); return 1; }

    int *tok = malloc(sizeof(int) * ctx);
    if (!tok) { fprintf(stderr, "bench-decode: out of memory\n"); return 1; }
    uint32_t x = 7;
    for (int i = 0; i < ctx; i++) tok[i] = (x = x * 1664525u + 1013904223u) % c.vocab_size;

    double tp[64], td[64], tk[64], tr[64];
    model_forward_kv(m, tok, P, 0, 0); // warm-up: threads start, buffers fault in
    for (int r = 0; r < (kv_only ? 0 : reps); r++) {
        double t0 = now_s();
        model_forward_kv(m, tok, P, 0, 0);
        tp[r] = now_s() - t0;
        t0 = now_s();
        for (int i = 0; i < N; i++) model_forward_kv(m, tok + P + i, 1, P + i, 0);
        td[r] = now_s() - t0;
    }
    // recompute costs K(K+1)/2 token-forwards: stop repeating once the pairs have taken
    // --max-seconds, so a slow build cannot stall the bench (the JSON says how many ran)
    int kreps = 0;
    double spent = 0;
    while (kreps < reps && (kreps == 0 || spent < max_s)) {
        double t0 = now_s();
        for (int i = 0; i < K; i++) model_forward_kv(m, tok + i, 1, i, 0);
        tk[kreps] = now_s() - t0;
        t0 = now_s();
        for (int i = 0; i < K; i++) model_forward_kv(m, tok, i + 1, 0, 0);
        tr[kreps] = now_s() - t0;
        spent += tk[kreps] + tr[kreps];
        kreps++;
    }
    double prefill = kv_only ? 0 : P / median(tp, reps), decode = kv_only ? 0 : N / median(td, reps);
    double kv = median(tk, kreps), rec = median(tr, kreps);
    fprintf(stderr, "bench-decode: C=%d L=%d NH=%d NKV=%d HD=%d H=%d V=%d (%zu params): prefill %d tok "
            "%.1f tok/s | decode %d tok %.1f tok/s | %d tokens: KV cache %.3f s, recompute %.3f s, "
            "speedup %.1fx\n", c.dim, c.n_layers, c.n_heads, c.n_kv_heads, c.head_dim, c.hidden_dim,
            c.vocab_size, m->num_parameters, P, prefill, N, decode, K, kv, rec, rec / kv);
    printf("{\"params\": %zu, \"prompt\": %d, \"prefill_tok_s\": %.3f, \"decode_tokens\": %d, "
           "\"decode_tok_s\": %.3f, \"kv_len\": %d, \"kv_s\": %.5f, \"recompute_s\": %.5f, "
           "\"kv_speedup\": %.3f, \"reps\": %d, \"kv_reps\": %d}\n", m->num_parameters, P, prefill, N,
           decode, K, kv, rec, rec / kv, reps, kreps);
    free(tok);
    model_free(m);
    return 0;
}
