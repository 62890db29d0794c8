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
#include "util/errors.h"
#include "util/flags.h"

typedef struct {
    Config c;
    int P, N, K, reps, max_s, kv_only;
} Options;

#define F(field) FLAG_FIELD(Options, field)
#define MAX (1 << 30)
static const FlagRow flag_rows[] = {
    {"dim", K_INT, F(c.dim), 1, MAX, 0, NULL, "128", 0, 0, "N", "model dim"},
    {"n-layers", K_INT, F(c.n_layers), 1, MAX, 0, NULL, "4", 0, 0, "N", "layers"},
    {"n-heads", K_INT, F(c.n_heads), 1, MAX, 0, NULL, "4", 0, 0, "N", "query heads"},
    {"n-kv-heads", K_INT, F(c.n_kv_heads), 1, MAX, 0, NULL, NULL, 0, 0, "N", "key/value heads (default = n-heads)"},
    {"head-dim", K_INT, F(c.head_dim), 1, MAX, 0, NULL, NULL, 0, 0, "N", "head dim (default dim / n-heads)"},
    {"hidden-dim", K_INT, F(c.hidden_dim), 1, MAX, 0, NULL, "512", 0, 0, "N", "SwiGLU width"},
    {"vocab", K_INT, F(c.vocab_size), 1, MAX, 0, NULL, "1024", 0, 0, "N", "vocabulary"},
    {"prompt", K_INT, F(P), 1, MAX, 0, NULL, "512", 0, 0, "N", "prefill prompt length"},
    {"decode", K_INT, F(N), 1, MAX, 0, NULL, "128", 0, 0, "N", "decode steps after the prompt"},
    {"kv-len", K_INT, F(K), 1, MAX, 0, NULL, "256", 0, 0, "N", "tokens for the KV-cache vs recompute comparison"},
    {"reps", K_INT, F(reps), 1, MAX, 0, NULL, "5", 0, 0, "N", "repetitions (at most 64 are run), median reported"},
    {"max-seconds", K_INT, F(max_s), 1, MAX, 0, NULL, "20", 0, 0, "S",
     "stop repeating the KV/recompute pair after S seconds"},
    {"kv-only", K_SWITCH, F(kv_only), 0, 0, 0, NULL, NULL, 0, 0, NULL, "only the KV cache vs recompute comparison"},
};
static const FlagTable table = {
    flag_rows, sizeof flag_rows / sizeof flag_rows[0],
    "usage: bench-decode [options]\n"
    "Prefill, decode and KV-cache-vs-recompute speed of the model core, random f32 weights.\n",
    NULL, NULL, NULL, NULL,
};

int main(int argc, char **argv) {
    Options opt = {0};
    unsigned char given[sizeof flag_rows / sizeof flag_rows[0]];
    if (flags_parse(&table, argc, argv, &opt, given) < argc) die("unexpected argument \"%s\"", argv[optind]);
    Config c = opt.c;
    c.norm_eps = 1e-5f, c.rope_theta = 10000.0f, c.tied_embeddings = 1;
    int P = opt.P, N = opt.N, K = opt.K, reps = opt.reps < 64 ? opt.reps : 64, kv_only = opt.kv_only;
    double max_s = opt.max_s;
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
