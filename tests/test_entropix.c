// tests/test_entropix.c — infer/entropix.c: the metrics on distributions whose entropy and
// varentropy are known in closed form, the attention metrics on hand-made scores, the attention
// probe model_forward_kv fills against the training forward's own q, k and probabilities, and
// every quadrant of entropix's decision table reached by constructed logits, with its action and
// settings checked against the table's formulas. (bin/infer --trace end to end, and the trace
// against logits dumped by --dump-logits, are in tests/entropix_test.sh.)
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "infer/entropix.h"
#include "model/model.h"
#include "tests/test.h"

static double rel(double got, double want) { return fabs(got - want) / fmax(fabs(want), 1e-30); }

// logits = log p for a distribution given as p[0..V) (p = 0 becomes -inf)
static void logits_of(float *l, const double *p, int V) {
    for (int i = 0; i < V; i++) l[i] = p[i] > 0 ? (float)log(p[i]) + 1.5f : -INFINITY; // a shift changes nothing
}

// ---- metrics of the next-token distribution ----

static void test_logit_metrics(void) {
    enum { V = 40000 };
    float *l = malloc(V * sizeof(float));
    double *p = malloc(V * sizeof(double));
    EntropixMetrics mt;
    // uniform over all V: H = log2 V, V = 0 (every token has the same surprisal)
    for (int i = 0; i < V; i++) l[i] = 0.25f;
    entropix_logit_metrics(&mt, l, V);
    CHECK(rel(mt.entropy, log2(V)) < 1e-6 && fabs(mt.varentropy) < 1e-9,
          "uniform over %d: entropy %.7f bits (want log2 V = %.7f), varentropy %.1e (want 0)", V, mt.entropy, log2(V),
          mt.varentropy);
    // uniform over K of them, the rest -inf: H = log2 K, V = 0
    for (int i = 0; i < V; i++) p[i] = i % 5 == 0 ? 1.0 / (V / 5) : 0;
    logits_of(l, p, V);
    entropix_logit_metrics(&mt, l, V);
    CHECK(rel(mt.entropy, log2(V / 5)) < 1e-6 && fabs(mt.varentropy) < 1e-9,
          "uniform over %d of %d (others -inf): entropy %.7f (want %.7f), varentropy %.1e (want 0)", V / 5, V,
          mt.entropy, log2(V / 5), mt.varentropy);
    // one-hot: one logit 200 above the rest (exp(-200) underflows to 0 in float): H = V = 0
    for (int i = 0; i < V; i++) l[i] = -3.0f;
    l[1234] = 197.0f;
    entropix_logit_metrics(&mt, l, V);
    CHECK(fabs(mt.entropy) < 1e-12 && fabs(mt.varentropy) < 1e-12, "one-hot: entropy %.1e, varentropy %.1e (want 0, 0)",
          mt.entropy, mt.varentropy);
    // two-point (a, 1-a): H = -a log2 a - (1-a) log2 (1-a), and the surprisal takes two values,
    // so V = a (1-a) (log2 a - log2 (1-a))^2
    const double as[] = {0.5, 0.25, 0.1, 0.01};
    for (int k = 0; k < 4; k++) {
        double a = as[k], b = 1 - a, H = -a * log2(a) - b * log2(b), Vw = a * b * pow(log2(a) - log2(b), 2);
        float two[2] = {(float)log(a), (float)log(b)};
        entropix_logit_metrics(&mt, two, 2);
        double eh = rel(mt.entropy, H), ev = a == 0.5 ? fabs(mt.varentropy) : rel(mt.varentropy, Vw);
        CHECK(eh < 1e-6 && ev < 1e-5, "two-point (%.2f, %.2f): entropy %.7f (want %.7f), varentropy %.7f (want %.7f): "
              "max rel err %.1e (tol 1e-05)", a, b, mt.entropy, H, mt.varentropy, Vw, fmax(eh, ev));
    }
    // a head of mass 0.8 and a tail of 0.2 spread evenly over N tokens: two surprisal values
    // again, -log2 0.8 and -log2 (0.2/N): H and V by the same formulas, with V >> H^2 / 1e16
    int N = V - 1;
    for (int i = 0; i < V; i++) p[i] = i == 7 ? 0.8 : 0.2 / N;
    logits_of(l, p, V);
    entropix_logit_metrics(&mt, l, V);
    double H = -0.8 * log2(0.8) - 0.2 * log2(0.2 / N), Vw = 0.8 * 0.2 * pow(log2(0.8) - log2(0.2 / N), 2);
    CHECK(rel(mt.entropy, H) < 1e-6 && rel(mt.varentropy, Vw) < 1e-6,
          "head 0.8 + tail 0.2 over %d: entropy %.6f (want %.6f), varentropy %.6f (want %.6f)", N, mt.entropy, H,
          mt.varentropy, Vw);
    free(l);
    free(p);
}

// ---- metrics of the attention scores ----

static void test_attn_metrics(void) {
    // head 0: equal scores over 4 keys (uniform: 2 bits); head 1: key 0 only (the others 1000
    // lower: their probabilities underflow to 0, and entropix's clip 1e-10 makes 0 log 0 = 0)
    float scores[8] = {0, 0, 0, 0, 0, -1000, -1000, -1000}, probs[8], mean[4];
    EntropixMetrics mt;
    entropix_attn_metrics(&mt, scores, 2, 4, probs, mean);
    // entropies 2 and 0: mean 1, population variance 1; mean p = (0.625, 0.125, 0.125, 0.125),
    // |p - mean| sums to 0.75 for each head: agreement 1.5 / 8; interaction = 3000 / 8
    double e = fmax(fmax(fabs(mt.attn_entropy - 1), fabs(mt.attn_varentropy - 1)),
                    fmax(fabs(mt.agreement - 0.1875), fabs(mt.interaction - 375) / 375));
    CHECK(e < 1e-6, "attention, a uniform and a one-key head: entropy %.6f (1), varentropy %.6f (1), agreement %.6f "
          "(0.1875), interaction %.3f (375): max err %.1e (tol 1e-06)", mt.attn_entropy, mt.attn_varentropy,
          mt.agreement, mt.interaction, e);
    // three identical heads over 5 keys: no spread between heads (varentropy 0, agreement 0)
    float s3[15], p3[15], m3[5];
    const float row[5] = {1.0f, -2.0f, 0.5f, 3.0f, -0.5f};
    double z = 0, H = 0, inter = 0;
    for (int j = 0; j < 5; j++) { z += exp(row[j]); inter += fabs(row[j]); }
    for (int j = 0; j < 5; j++) H -= exp(row[j]) / z * log2(exp(row[j]) / z);
    for (int h = 0; h < 3; h++) memcpy(s3 + 5 * h, row, sizeof row);
    entropix_attn_metrics(&mt, s3, 3, 5, p3, m3);
    e = fmax(fmax(fabs(mt.attn_entropy - H), fabs(mt.attn_varentropy)), fmax(fabs(mt.agreement), fabs(mt.interaction - inter / 5)));
    CHECK(e < 1e-6, "attention, three identical heads: entropy %.6f (want %.6f), varentropy %.1e, agreement %.1e "
          "(want 0, 0), interaction %.4f (want %.4f)", mt.attn_entropy, H, mt.attn_varentropy, mt.agreement,
          mt.interaction, inter / 5);
}

// ---- the probe inside model_forward_kv ----

// The last layer's scores of the last position, as the training forward computes them from its
// own stored q and k (after RoPE): (q_h · k_j) / sqrt(HD), and its softmax probabilities.
static void check_probe(Model *m, const int *tokens, int T, const char *what) {
    const Config *c = &m->config;
    int L = c->n_layers, NH = c->n_heads, HD = c->head_dim, group = NH / c->n_kv_heads;
    int QD = NH * HD, KVD = c->n_kv_heads * HD;
    model_forward(m, tokens, NULL, 1, T);
    const float *q = m->acts.qr + ((size_t)(L - 1) * T + (T - 1)) * QD;
    const float *k = m->acts.kr + (size_t)(L - 1) * T * KVD;
    const float *att = m->acts.att + (size_t)(L - 1) * NH * T * T;
    double es = 0, ep = 0, smax = 0;
    for (int h = 0; h < NH; h++) {
        double z = 0;
        for (int j = 0; j < T; j++) z += exp(m->att_scores[(size_t)h * T + j]);
        for (int j = 0; j < T; j++) {
            double s = 0;
            for (int d = 0; d < HD; d++) s += (double)q[h * HD + d] * k[(size_t)j * KVD + (h / group) * HD + d];
            s /= sqrt((double)HD);
            smax = fmax(smax, fabs(s));
            es = fmax(es, fabs(m->att_scores[(size_t)h * T + j] - s));
            ep = fmax(ep, fabs(exp(m->att_scores[(size_t)h * T + j]) / z - att[((size_t)h * T + T - 1) * T + j]));
        }
    }
    CHECK(m->att_scores_n == T && es / smax < 1e-5 && ep < 1e-5,
          "probe %s: %d keys; scores vs the training forward's q.k/sqrt(HD): max rel err %.1e (tol 1e-05), their "
          "softmax vs its attention probabilities: max abs err %.1e (tol 1e-05)", what, m->att_scores_n, es / smax, ep);
}

static void test_probe(void) {
    char err[200];
    Config c = {.dim = 32, .n_layers = 3, .n_heads = 4, .n_kv_heads = 2, .head_dim = 8, .hidden_dim = 48,
                .vocab_size = 50, .max_seq_len = 32, .norm_eps = 1e-5f, .rope_theta = 10000.0f, .tied_embeddings = 1};
    Model *m = model_create(&c, 1, err, sizeof err);
    if (!m) { CHECK(0, "model_create: %s", err); return; }
    model_init_random(m, 99);
    // q and k weights of order 1 (not 0.02): scores of a few units, so the softmax is far from uniform
    for (size_t i = 0; i < m->param_sizes[2]; i++) m->params.wq[i] *= 30;
    for (size_t i = 0; i < m->param_sizes[3]; i++) m->params.wk[i] *= 30;
    model_kv_alloc(m, c.max_seq_len);
    float *buf = malloc((size_t)c.n_heads * c.max_seq_len * sizeof(float));
    int tokens[12] = {3, 17, 42, 8, 8, 1, 29, 49, 0, 11, 23, 5};
    // off: nothing written
    m->att_scores = NULL;
    m->att_scores_n = -7;
    model_forward_kv(m, tokens, 9, 0, 0);
    CHECK(m->att_scores_n == -7, "probe off (att_scores NULL): model_forward_kv leaves it alone");
    m->att_scores = buf;
    model_forward_kv(m, tokens, 9, 0, 0);        // prefill 9 tokens
    check_probe(m, tokens, 9, "after a 9-token prefill");
    model_forward_kv(m, tokens + 9, 1, 9, 0);    // decode the 10th and 11th
    model_forward_kv(m, tokens + 10, 1, 10, 0);
    check_probe(m, tokens, 11, "after two decode steps");
    m->att_scores = NULL;
    free(buf);
    model_free(m);
}

// ---- the decision table ----

static EntropixMetrics metrics_of(const float *l, int V, double aH, double aV, double agree, double inter) {
    EntropixMetrics mt;
    entropix_logit_metrics(&mt, l, V);
    mt.attn_entropy = aH; mt.attn_varentropy = aV; mt.agreement = agree; mt.interaction = inter;
    return mt;
}

static int near(double a, double b) { return fabs(a - b) <= 1e-5 * fmax(1, fabs(b)); }

static void test_quadrants(void) {
    enum { V = 32769 };   // a head token and a tail of 2^15
    float *l = malloc(V * sizeof(float));
    double *p = malloc(V * sizeof(double));
    EntropixConfig c;
    entropix_config_default(&c);
    Sampler s;
    sampler_init(&s, V, 1.0f, 0, 1.0f, 0, 2024);
    EntropixChoice ch;
    int clarified = 0, tok;

    // LELV: a one-hot distribution -> the argmax
    for (int i = 0; i < V; i++) l[i] = 0;
    l[321] = 60;
    EntropixMetrics mt = metrics_of(l, V, 1, 0.1, 0.1, 1);
    tok = entropix_decide(&c, &s, l, &mt, &clarified, &ch);
    CHECK(ch.quadrant == EX_LELV && ch.action == EX_ACT_ARGMAX && tok == 321 && ch.temperature == 0,
          "LELV (H %.2g, V %.2g): argmax, token %d (want 321)", mt.entropy, mt.varentropy, tok);

    // HELV: uniform over 64 tokens (H = 6 > 5, V = 0 < 0.1): the clarifying token once, then hotter
    for (int i = 0; i < V; i++) l[i] = i < 64 ? 0.0f : -INFINITY;
    mt = metrics_of(l, V, 2.0, 0.1, 0.1, 1);
    c.clarifying_question_token = 2564;
    tok = entropix_decide(&c, &s, l, &mt, &clarified, &ch);
    int first = tok, first_action = ch.action;
    tok = entropix_decide(&c, &s, l, &mt, &clarified, &ch);
    // temperature min(1.5, 0.666 (1.3 + 0.2 attn_entropy)) = 0.666 * 1.7
    CHECK(first == 2564 && first_action == EX_ACT_CLARIFY && ch.quadrant == EX_HELV && ch.action == EX_ACT_SAMPLE &&
          near(ch.temperature, 0.666 * 1.7) && near(ch.top_p, 0.9) && ch.top_k == 27 && near(ch.min_p, 0.03) &&
          tok >= 0 && tok < 64,
          "HELV (H %.3g, V %.2g): clarifying token 2564 first, then sampled at T %.4f (want 0.666*1.7), top-p %.2f, "
          "top-k %d: token %d in the 64", mt.entropy, mt.varentropy, ch.temperature, ch.top_p, ch.top_k, tok);
    c.clarifying_question_token = -1;
    clarified = 0;
    mt.attn_entropy = 5;   // 0.666 * 2.3 > 1.5: capped
    tok = entropix_decide(&c, &s, l, &mt, &clarified, &ch);
    CHECK(ch.action == EX_ACT_SAMPLE && near(ch.temperature, 1.5) && tok < 64,
          "HELV without a clarifying token: samples at once, temperature capped at 1.5 (%.4f)", ch.temperature);

    // LEHV: head 0.8 + tail 0.2 over 2^15 (H 3.7 < 5, V 46 > 5): hotter by interaction
    // strength, top-k widened when the heads disagree
    for (int i = 0; i < V; i++) p[i] = i == 5 ? 0.8 : 0.2 / (V - 1);
    logits_of(l, p, V);
    mt = metrics_of(l, V, 1, 0.1, 0.1, 1.0);
    tok = entropix_decide(&c, &s, l, &mt, &clarified, &ch);
    // T = min(1.5, 0.666 (1.2 + 0.3 * 1)) = 0.999; top-k = max(5, int(27 (1 + 0.5 (1 - 0.1)))) = int(39.15) = 39
    CHECK(ch.quadrant == EX_LEHV && ch.action == EX_ACT_SAMPLE && near(ch.temperature, 0.666 * 1.5) && ch.top_k == 39 &&
          near(ch.top_p, 0.9) && near(ch.min_p, 0.03) && tok >= 0 && tok < V,
          "LEHV (H %.3f, V %.2f): T %.4f (want 0.999), top-k %d (want 39)", mt.entropy, mt.varentropy, ch.temperature,
          ch.top_k);

    // HEHV: head 0.5 + tail 0.5 over 2^15 (H 8.5 > 5, V 56 > 5): hot, smaller nucleus
    for (int i = 0; i < V; i++) p[i] = i == 5 ? 0.5 : 0.5 / (V - 1);
    logits_of(l, p, V);
    mt = metrics_of(l, V, 1.5, 3.0, 0.1, 1.0);
    tok = entropix_decide(&c, &s, l, &mt, &clarified, &ch);
    // T = max(2, 0.666 (2 + 0.5 * 3)) = 2.331; top-p = max(0.5, 0.9 - 0.2 * 1.5) = 0.6
    CHECK(ch.quadrant == EX_HEHV && ch.action == EX_ACT_SAMPLE && near(ch.temperature, 0.666 * 3.5) &&
          near(ch.top_p, 0.6) && ch.top_k == 27 && tok >= 0 && tok < V,
          "HEHV (H %.3f, V %.2f): T %.4f (want 2.331), top-p %.3f (want 0.6)", mt.entropy, mt.varentropy,
          ch.temperature, ch.top_p);
    mt.attn_varentropy = 0.1;
    mt.attn_entropy = 3;
    entropix_decide(&c, &s, l, &mt, &clarified, &ch);
    CHECK(near(ch.temperature, 2.0) && near(ch.top_p, 0.5), "HEHV floors: temperature %.3f (want 2), top-p %.3f (want 0.5)",
          ch.temperature, ch.top_p);

    // the middle ground: (0.6, 0.25, 0.1, 0.05) has H 1.49 and V 1.14: no quadrant
    double q4[4] = {0.6, 0.25, 0.1, 0.05};
    for (int i = 0; i < V; i++) p[i] = i < 4 ? q4[i] : 0;
    logits_of(l, p, V);
    mt = metrics_of(l, V, 2.0, 0.5, 0.2, 2.0);
    Sampler replay = s;   // the same generator state: the draws the sampler will make
    tok = entropix_decide(&c, &s, l, &mt, &clarified, &ch);
    double lu = mt.entropy + mt.varentropy, T = 0.666 * (1 + 0.3 * lu + 0.2 * 2.5 - 0.2 * 0.2);
    double topp = fmin(1.0, 0.9 * (1 + 0.1 * 0.5)), minp = fmax(0.01, fmin(0.5, 0.03 * (1 - 0.5 * lu)));
    int topk = (int)nearbyint(27 * (1 + 0.3 * 2.0 - 0.2 * 0.2));   // 42.12 -> 42
    CHECK(ch.quadrant == EX_ADAPTIVE && ch.action == EX_ACT_BEST_OF && ch.n_draws == 5 && near(ch.temperature, T) &&
          near(ch.top_p, topp) && ch.top_k == topk && near(ch.min_p, minp),
          "adaptive (H %.3f, V %.3f): T %.4f (want %.4f), top-p %.4f (want %.4f), top-k %d (want %d), min-p %.4f "
          "(want %.4f), best of %d", mt.entropy, mt.varentropy, ch.temperature, T, ch.top_p, topp, ch.top_k, topk,
          ch.min_p, minp, ch.n_draws);
    // the kept token is the most probable of the 5 draws the same generator makes
    replay.temperature = ch.temperature; replay.top_p = ch.top_p; replay.top_k = ch.top_k; replay.min_p = ch.min_p;
    int kept = sampler_filter(&replay, l), best = -1, draws[5];
    for (int k = 0; k < 5; k++) {
        draws[k] = sampler_draw(&replay, kept);
        if (best < 0 || p[draws[k]] > p[best]) best = draws[k];
    }
    CHECK(tok == best && replay.rng == s.rng && s.temperature == 1.0f && s.top_k == 0,
          "adaptive: token %d = the most probable of the draws %d %d %d %d %d; the sampler's own settings restored",
          tok, draws[0], draws[1], draws[2], draws[3], draws[4]);

    // the order of the tests: H between med (3) and high (5) with V > 5 is LEHV, not HEHV
    EntropixMetrics d = {0};
    d.entropy = 4; d.varentropy = 6;
    EntropixQuadrant q1 = entropix_quadrant(&c, &d);
    d.entropy = 5.5;
    EntropixQuadrant q2 = entropix_quadrant(&c, &d);
    d.entropy = 4; d.varentropy = 4;
    EntropixQuadrant q3 = entropix_quadrant(&c, &d);
    CHECK(q1 == EX_LEHV && q2 == EX_HEHV && q3 == EX_ADAPTIVE, "table order: (4, 6) LEHV, (5.5, 6) HEHV, (4, 4) adaptive");

    // thresholds from --entropix NAME=VALUE
    char err[200];
    d.entropy = 0.3; d.varentropy = 0.05;
    EntropixQuadrant before = entropix_quadrant(&c, &d);
    int rc = entropix_config_set(&c, "low_ent_thresh=0.5", err, sizeof err);
    CHECK(rc == 0 && before == EX_ADAPTIVE && entropix_quadrant(&c, &d) == EX_LELV && c.low_ent_thresh == 0.5f,
          "--entropix low_ent_thresh=0.5 moves (0.3, 0.05) from adaptive to LELV");
    const char *bad[] = {"low_ent_thresh", "nope=1", "top_p=0", "top_k=2.5", "n_adaptive_samples=0", "temp=abc"};
    int all = 1;
    for (int k = 0; k < 6; k++) {
        rc = entropix_config_set(&c, bad[k], err, sizeof err);
        all &= rc == -1 && strncmp(err, "--entropix", 10) == 0;
        printf("     %s -> %s\n", bad[k], err);
    }
    CHECK(all, "--entropix rejects a missing '=', an unknown name, top_p 0, a fractional top_k, 0 samples, a non-number");

    sampler_free(&s);
    free(l);
    free(p);
}

int main(void) {
    test_logit_metrics();
    test_attn_metrics();
    test_probe();
    test_quadrants();
    return test_summary();
}
