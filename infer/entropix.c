// infer/entropix.c — see entropix.h. The decision table and every constant in it follow
// entropix/sampler.py's sample() at commit cceeb84 (github.com/xjdr-alt/entropix).
#include "infer/entropix.h"
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "util/errors.h"
#include "model/vecmath.h"

const char *const entropix_quadrant_names[EX_QUADRANTS] = {"LELV", "HELV", "LEHV", "HEHV", "adaptive"};

// ---- configuration: entropix's SamplerConfig, field by field ----

typedef struct {
    const char *name;
    size_t off;
    int is_int;
    double lo, hi;   // the value must lie in [lo, hi] (top_p: in (0, 1])
} Param;
#define PF(f, lo, hi) {#f, offsetof(EntropixConfig, f), 0, lo, hi}
#define PI(f, lo, hi) {#f, offsetof(EntropixConfig, f), 1, lo, hi}
static const Param params[] = {
    PF(temp, 0, 100), PF(top_p, 0, 1), PI(top_k, 0, INT_MAX), PF(min_p, 0, 1),
    PF(low_ent_thresh, 0, 1e6), PF(low_vent_thresh, 0, 1e6), PF(med_ent_thresh, 0, 1e6),
    PF(high_ent_thresh, 0, 1e6), PF(high_vent_thresh, 0, 1e6),
    PF(helv_attn_ent_offset, -1e6, 1e6), PF(helv_attn_ent_coef, -1e6, 1e6),
    PF(lehv_interaction_strength_offset, -1e6, 1e6), PF(lehv_interaction_strength_coef, -1e6, 1e6),
    PF(hehv_attn_ent_coef, -1e6, 1e6), PF(hehv_attn_vent_offset, -1e6, 1e6), PF(hehv_attn_vent_coef, -1e6, 1e6),
    PI(n_adaptive_samples, 1, 1024),
    PF(ada_temp_logits, -1e6, 1e6), PF(ada_temp_attn, -1e6, 1e6), PF(ada_temp_agree, -1e6, 1e6),
    PF(ada_top_p, -1e6, 1e6), PF(ada_top_k_int, -1e6, 1e6), PF(ada_top_k_agree, -1e6, 1e6),
    PF(ada_min_p, -1e6, 1e6),
    PI(clarifying_question_token, -1, INT_MAX),
};
#define N_PARAMS (int)(sizeof params / sizeof params[0])

void entropix_config_default(EntropixConfig *c) {
    *c = (EntropixConfig){
        .temp = 0.666f, .top_p = 0.90f, .top_k = 27, .min_p = 0.03f,
        .low_ent_thresh = 0.1f, .low_vent_thresh = 0.1f, .med_ent_thresh = 3.0f, .high_ent_thresh = 5.0f,
        .high_vent_thresh = 5.0f,
        .helv_attn_ent_offset = 1.3f, .helv_attn_ent_coef = 0.2f,
        .lehv_interaction_strength_offset = 1.2f, .lehv_interaction_strength_coef = 0.3f,
        .hehv_attn_ent_coef = 0.2f, .hehv_attn_vent_offset = 2.0f, .hehv_attn_vent_coef = 0.5f,
        .n_adaptive_samples = 5,
        .ada_temp_logits = 0.3f, .ada_temp_attn = 0.2f, .ada_temp_agree = 0.2f, .ada_top_p = 0.1f,
        .ada_top_k_int = 0.3f, .ada_top_k_agree = 0.2f, .ada_min_p = 0.5f,
        .clarifying_question_token = -1,
    };
}

int entropix_config_set(EntropixConfig *c, const char *name_value, char *err, size_t errlen) {
    const char *eq = strchr(name_value, '=');
    if (!eq) return fail(err, errlen, "--entropix: expected NAME=VALUE, got \"%.40s\"", name_value);
    size_t len = (size_t)(eq - name_value);
    for (int i = 0; i < N_PARAMS; i++) {
        const Param *p = &params[i];
        if (strlen(p->name) != len || strncmp(p->name, name_value, len) != 0) continue;
        double v;
        int open_lo = p->off == offsetof(EntropixConfig, top_p);
        if (!parse_double(eq + 1, &v) || !(open_lo ? v > p->lo : v >= p->lo) || !(v <= p->hi) ||
            (p->is_int && v != floor(v)))
            return fail(err, errlen, "--entropix %s: expected %s in %c%.10g, %.10g], got \"%.40s\"", p->name,
                        p->is_int ? "an integer" : "a number", open_lo ? '(' : '[', p->lo, p->hi, eq + 1);
        if (p->is_int) *(int *)((char *)c + p->off) = (int)v;
        else *(float *)((char *)c + p->off) = (float)v;
        return 0;
    }
    return fail(err, errlen, "--entropix: no setting \"%.*s\" (see --help)", (int)(len < 40 ? len : 40), name_value);
}

void entropix_config_print(FILE *f, const char *indent) {
    EntropixConfig d;
    entropix_config_default(&d);
    int col = 0;
    for (int i = 0; i < N_PARAMS; i++) {
        const Param *p = &params[i];
        char item[96];
        if (p->is_int) snprintf(item, sizeof item, "%s=%d", p->name, *(const int *)((const char *)&d + p->off));
        else snprintf(item, sizeof item, "%s=%g", p->name, *(const float *)((const char *)&d + p->off));
        if (col && col + 1 + strlen(item) > 100) { fputc('\n', f); col = 0; }
        col += fprintf(f, "%s%s", col ? " " : indent, item);
    }
    fputc('\n', f);
}

// ---- metrics ----

void entropix_logit_metrics(EntropixMetrics *mt, const float *logits, int V) {
    // With x_i = l_i - max l (nats), e_i = exp(x_i), z = Σ e_i:  log p_i = x_i - log z, so
    //   H ln2 = -Σ p_i log p_i = log z - Σ p_i x_i,   V ln2^2 = Var_p(log p) = Var_p(x) = Σ p_i x_i^2 - (Σ p_i x_i)^2
    // One fused pass, summed in double: the subtraction's rounding, ~1e-16 E[x]^2, stays far
    // below any varentropy a trace shows. A -inf logit (e = 0) adds nothing, not 0 * inf.
    float mx = logits[0];
    #pragma omp simd reduction(max:mx)
    for (int i = 1; i < V; i++) mx = logits[i] > mx ? logits[i] : mx;
    double z = 0, s1 = 0, s2 = 0;
    #pragma omp simd reduction(+:z, s1, s2)
    for (int i = 0; i < V; i++) {
        float x = logits[i] - mx;
        uint32_t b;   // -inf -> -FLT_MAX, on the bits (a float compare here would stop vectorizing)
        memcpy(&b, &x, 4);
        b -= (uint32_t)(b == 0xff800000u);   // 0xff800000 - 1 = 0xff7fffff
        memcpy(&x, &b, 4);
        double e = exp_fast(x), xd = x;
        z += e;
        s1 += e * xd;
        s2 += e * xd * xd;
    }
    double mean_x = s1 / z;
    mt->entropy = (log(z) - mean_x) / M_LN2;
    mt->varentropy = fmax(0.0, s2 / z - mean_x * mean_x) / (M_LN2 * M_LN2);
}

void entropix_attn_metrics(EntropixMetrics *mt, const float *scores, int NH, int n, float *probs, float *mean) {
    mt->attn_entropy = mt->attn_varentropy = mt->agreement = mt->interaction = 0;
    if (!scores || n <= 0 || NH <= 0) return;
    memset(mean, 0, (size_t)n * sizeof(float));
    double ent_mean = 0, ent_m2 = 0, inter = 0;   // Welford's running mean and sum of squares
    for (int h = 0; h < NH; h++) {
        const float *s = scores + (size_t)h * n;
        float *p = probs + (size_t)h * n, mx = s[0];
        for (int j = 1; j < n; j++) mx = s[j] > mx ? s[j] : mx;
        double z = 0;
        for (int j = 0; j < n; j++) { p[j] = exp_fast(s[j] - mx); z += p[j]; }
        double ent = 0;
        for (int j = 0; j < n; j++) {
            p[j] = (float)(p[j] / z);
            ent -= p[j] * log2(p[j] > 1e-10f ? p[j] : 1e-10);   // entropix clips p to [1e-10, 1]
            mean[j] += p[j] / NH;
            inter += fabsf(s[j]);
        }
        double d = ent - ent_mean;
        ent_mean += d / (h + 1);
        ent_m2 += d * (ent - ent_mean);
    }
    double agree = 0;
    for (int h = 0; h < NH; h++)
        for (int j = 0; j < n; j++) agree += fabsf(probs[(size_t)h * n + j] - mean[j]);
    mt->attn_entropy = ent_mean;
    mt->attn_varentropy = ent_m2 / NH;
    mt->agreement = agree / ((double)NH * n);
    mt->interaction = inter / ((double)NH * n);
}

EntropixQuadrant entropix_quadrant(const EntropixConfig *c, const EntropixMetrics *mt) {
    double H = mt->entropy, V = mt->varentropy;
    if (H < c->low_ent_thresh && V < c->low_vent_thresh) return EX_LELV;
    if (H > c->high_ent_thresh && V < c->low_vent_thresh) return EX_HELV;
    if (H < c->high_ent_thresh && V > c->high_vent_thresh) return EX_LEHV;
    if (H > c->med_ent_thresh && V > c->high_vent_thresh) return EX_HEHV;
    return EX_ADAPTIVE;
}

// ---- the decision table ----

static double clampd(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

// Records the settings a step samples with (temperature <= 0: argmax).
static void set_choice(EntropixChoice *ch, EntropixAction action, double temp, double top_p, int top_k, double min_p) {
    ch->action = action;
    ch->temperature = temp > 0 ? (float)temp : 0.0f;
    ch->top_p = (float)top_p;
    ch->top_k = top_k;
    ch->min_p = (float)min_p;
}

// n draws from s's generator with ch's settings, filtered once; returns the draw with the
// largest logit, that is the largest log p (the first one on a tie). s's settings stay as they
// were. Temperature 0: the argmax, no draw.
static int draw_best(Sampler *s, const float *logits, const EntropixChoice *ch, int n) {
    if (ch->temperature == 0) return sampler_argmax(logits, s->vocab_size);
    Sampler keep = *s;
    s->temperature = ch->temperature; s->top_p = ch->top_p; s->top_k = ch->top_k; s->min_p = ch->min_p;
    int kept = sampler_filter(s, logits), best = sampler_draw(s, kept);
    for (int k = 1; k < n; k++) {
        int t = sampler_draw(s, kept);
        if (logits[t] > logits[best]) best = t;
    }
    keep.rng = s->rng;
    *s = keep;
    return best;
}

int entropix_decide(const EntropixConfig *c, Sampler *s, const float *logits, const EntropixMetrics *mt,
                    int *clarified, EntropixChoice *ch) {
    double H = mt->entropy, V = mt->varentropy, aH = mt->attn_entropy, aV = mt->attn_varentropy;
    double agree = mt->agreement, inter = mt->interaction;
    memset(ch, 0, sizeof *ch);
    ch->quadrant = entropix_quadrant(c, mt);
    ch->temperature = ch->top_p = ch->min_p = NAN;   // NAN / -1: the step used no such setting
    ch->top_k = -1;
    switch (ch->quadrant) {
    case EX_LELV:   // "flowing with unspoken intent": the most likely token
        ch->action = EX_ACT_ARGMAX;
        ch->temperature = 0;
        return sampler_argmax(logits, s->vocab_size);
    case EX_HELV:   // "treading carefully": ask (the clarifying token) once, then sample a little hotter
        if (c->clarifying_question_token >= 0 && !*clarified) {
            *clarified = 1;
            ch->action = EX_ACT_CLARIFY;
            return c->clarifying_question_token;
        }
        set_choice(ch, EX_ACT_SAMPLE, fmin(1.5, c->temp * (c->helv_attn_ent_offset + c->helv_attn_ent_coef * aH)),
                   c->top_p, c->top_k, c->min_p);
        return draw_best(s, logits, ch, 1);
    case EX_LEHV:   // "exploring forks": hotter with interaction strength, wider top-k when heads disagree
        set_choice(ch, EX_ACT_SAMPLE,
                   fmin(1.5, c->temp * (c->lehv_interaction_strength_offset + c->lehv_interaction_strength_coef * inter)),
                   c->top_p, (int)fmax(5, (int)(c->top_k * (1 + 0.5 * (1 - agree)))), c->min_p);
        return draw_best(s, logits, ch, 1);
    case EX_HEHV:   // "resampling in the mist": hot, and a smaller nucleus when attention is diffuse
        set_choice(ch, EX_ACT_SAMPLE, fmax(2.0, c->temp * (c->hehv_attn_vent_offset + c->hehv_attn_vent_coef * aV)),
                   fmax(0.5, c->top_p - c->hehv_attn_ent_coef * aH), c->top_k, c->min_p);
        return draw_best(s, logits, ch, 1);
    default: break;
    }
    // the middle ground: every setting scaled by the metrics, then n draws, keeping the best by
    // log p + a confidence score. entropix's confidence (ada_score_* weights times the metrics)
    // is the same for every draw, so the most probable draw wins: it is left out here.
    double logits_u = H + V, attn_u = aH + aV;
    set_choice(ch, EX_ACT_BEST_OF,
               c->temp * (1 + c->ada_temp_logits * logits_u + c->ada_temp_attn * attn_u - c->ada_temp_agree * agree),
               clampd(c->top_p * (1 + c->ada_top_p * aV), 0.1, 1.0),
               (int)clampd(nearbyint(c->top_k * (1 + c->ada_top_k_int * inter - c->ada_top_k_agree * agree)), 1, 100),
               clampd(c->min_p * (1 - c->ada_min_p * logits_u), 0.01, 0.5));
    ch->n_draws = c->n_adaptive_samples;
    return draw_best(s, logits, ch, c->n_adaptive_samples);
}

// ---- the driver and its trace ----

static const char *const action_names[] = {"argmax", "clarify", "sample", "best_of"};
static const char trace_header[] = "step,token,entropy,varentropy,attn_entropy,attn_varentropy,agreement,"
                                   "interaction,quadrant,action,temperature,top_p,top_k,min_p,text\n";

int entropix_init(Entropix *e, Model *m, const EntropixConfig *cfg, int decide, Tokenizer *tok,
                  const char *trace_path, char *err, size_t errlen) {
    memset(e, 0, sizeof *e);
    const Config *c = &m->config;
    if (!m->key_cache) return fail(err, errlen, "entropix_init: no KV cache (model_kv_alloc first)");
    if (cfg->clarifying_question_token >= c->vocab_size)
        return fail(err, errlen, "--entropix clarifying_question_token=%d is outside the vocabulary [0, %d)",
                    cfg->clarifying_question_token, c->vocab_size);
    e->cfg = *cfg;
    e->decide = decide;
    e->m = m;
    e->tok = tok;
    size_t NHL = (size_t)c->n_heads * m->kv_max_len;
    e->scores = malloc(NHL * sizeof(float));
    e->att_probs = malloc(NHL * sizeof(float));
    e->att_mean = malloc((size_t)m->kv_max_len * sizeof(float));
    if (!e->scores || !e->att_probs || !e->att_mean) {
        entropix_free(e, NULL, 0);
        return fail(err, errlen, "out of memory for the entropix buffers");
    }
    if (trace_path) {
        if (atomic_open(&e->trace_file, trace_path, err, errlen) != 0) {
            entropix_free(e, NULL, 0);
            return -1;
        }
        e->trace = e->trace_file.fp;
        fputs(trace_header, e->trace);   // (a failed write shows at the commit)
    }
    m->att_scores = e->scores;
    m->att_scores_n = 0;
    return 0;
}

void entropix_begin(Entropix *e) { e->clarified = 0; }

// The token's bytes as one CSV field on one line: control bytes, backslash and bytes that are
// not part of a valid UTF-8 character (a byte-level token may hold half of one) escaped C-style
// (\n, \t, \r, \\, \xNN); then quoted, with quotes doubled, when it holds a comma or a quote.
static void write_text_field(FILE *f, const char *s, size_t n) {
    int quote = memchr(s, ',', n) || memchr(s, '"', n);
    if (quote) fputc('"', f);
    for (size_t i = 0; i < n;) {
        unsigned char b = (unsigned char)s[i];
        size_t len = b < 0x80 ? 1 : b >= 0xC2 && b <= 0xDF ? 2 : b >= 0xE0 && b <= 0xEF ? 3 : b >= 0xF0 && b <= 0xF4 ? 4 : 0;
        if (len > 1 && i + len <= n && utf8_valid(s + i, len)) { fwrite(s + i, 1, len, f); i += len; continue; }
        if (b == '\n') fputs("\\n", f);
        else if (b == '\t') fputs("\\t", f);
        else if (b == '\r') fputs("\\r", f);
        else if (b == '\\') fputs("\\\\", f);
        else if (b == '"') fputs("\"\"", f);
        else if (b < 0x20 || b >= 0x7f) fprintf(f, "\\x%02X", b);
        else fputc(b, f);
        i++;
    }
    if (quote) fputc('"', f);
}

static void write_setting(FILE *f, double v) {
    if (isnan(v)) fputc(',', f);
    else fprintf(f, ",%.6g", v);
}

static void trace_row(Entropix *e, int token, int prev) {
    const EntropixMetrics *mt = &e->metrics;
    const EntropixChoice *ch = &e->choice;
    FILE *f = e->trace;
    fprintf(f, "%d,%d,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%s,", e->step, token, mt->entropy, mt->varentropy,
            mt->attn_entropy, mt->attn_varentropy, mt->agreement, mt->interaction,
            entropix_quadrant_names[ch->quadrant]);
    if (ch->action == EX_ACT_BEST_OF) fprintf(f, "best_of_%d", ch->n_draws);
    else fputs(action_names[ch->action], f);
    write_setting(f, ch->temperature);
    write_setting(f, ch->top_p);
    write_setting(f, ch->top_k < 0 ? NAN : ch->top_k);
    write_setting(f, ch->min_p);
    fputc(',', f);
    size_t len = 0;
    const char *b = e->tok ? tokenizer_token_bytes(e->tok, prev, token, &len) : NULL;
    if (b) write_text_field(f, b, len);
    fputc('\n', f);
}

int entropix_next(Entropix *e, Sampler *s, const float *logits, int prev) {
    const Model *m = e->m;
    entropix_logit_metrics(&e->metrics, logits, m->config.vocab_size);
    entropix_attn_metrics(&e->metrics, m->att_scores, m->config.n_heads, m->att_scores_n, e->att_probs, e->att_mean);
    int tok;
    if (e->decide) {
        tok = entropix_decide(&e->cfg, s, logits, &e->metrics, &e->clarified, &e->choice);
    } else {   // the plain sampler picks; the row still says which quadrant the token fell in
        EntropixChoice *ch = &e->choice;
        ch->quadrant = entropix_quadrant(&e->cfg, &e->metrics);
        ch->n_draws = 0;
        if (s->temperature == 0) {
            ch->action = EX_ACT_ARGMAX;
            ch->temperature = 0;
            ch->top_p = ch->min_p = NAN;
            ch->top_k = -1;
        } else {
            ch->action = EX_ACT_SAMPLE;
            ch->temperature = s->temperature; ch->top_p = s->top_p; ch->top_k = s->top_k; ch->min_p = s->min_p;
        }
        tok = sampler_sample(s, logits);
    }
    if (tok == e->cfg.clarifying_question_token) e->clarified = 1;   // "if not already present"
    if (e->trace) trace_row(e, tok, prev);
    e->step++;
    return tok;
}

int entropix_free(Entropix *e, char *err, size_t errlen) {
    int rc = 0;
    if (e->m && e->m->att_scores == e->scores) e->m->att_scores = NULL;
    if (e->trace) {
        char why[600];
        if (atomic_commit(&e->trace_file, why, sizeof why) != 0) rc = fail(err, errlen, "--trace: %s", why);
        e->trace = NULL;
    }
    free(e->scores); free(e->att_probs); free(e->att_mean);
    e->scores = e->att_probs = e->att_mean = NULL;
    return rc;
}
