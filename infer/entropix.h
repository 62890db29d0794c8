// infer/entropix.h — how uncertain the model is at each generated token, entropix's sampler
// that acts on it (--sampler entropix), and the per-token CSV trace (--trace FILE).
// docs/inference.md ("Entropy, varentropy and entropix") has the math and the decision table.
//
// Metrics of one step, from the logits l (V) at temperature 1, p = softmax(l), in bits:
//   entropy     H = -Σ p_i log2 p_i
//   varentropy  V = Σ p_i (log2 p_i + H)^2          (the variance of the surprisal -log2 p)
// and from the last layer's attention scores S (NH heads x n visible keys) of the current
// position, P_h = softmax(S_h):
//   attn_entropy     mean over heads of H_h = -Σ_j P_hj log2 max(P_hj, 1e-10)
//   attn_varentropy  variance over heads of H_h (population variance)
//   agreement        mean over h, j of |P_hj - mean_h' P_h'j|
//   interaction      mean over h, j of |S_hj|
// These are xjdr's entropix definitions (github.com/xjdr-alt/entropix, entropix/sampler.py,
// calculate_metrics, at commit cceeb84 of 2024-10-07), computed per token inside the KV-cached
// decode: the model leaves the scores in m->att_scores (see model.h) only while an Entropix is
// attached, so a plain run does none of this work.
#pragma once
#include <stdio.h>
#include "infer/sampler.h"
#include "util/atomic_file.h"
#include "infer/tokenizer.h"
#include "model/model.h"

typedef struct {
    double entropy, varentropy;                 // of the next-token distribution, bits
    double attn_entropy, attn_varentropy;       // bits; 0 when no scores were given
    double agreement, interaction;
} EntropixMetrics;

// entropix's decision table: the quadrant of (entropy, varentropy), tested in this order.
typedef enum {
    EX_LELV,     // low entropy, low varentropy: "flowing with unspoken intent" -> argmax
    EX_HELV,     // high entropy, low varentropy: "treading carefully" -> clarifying token once, else hotter
    EX_LEHV,     // low entropy, high varentropy: "exploring forks" -> hotter, top-k from agreement
    EX_HEHV,     // high entropy, high varentropy: "resampling in the mist" -> hot, lower top-p
    EX_ADAPTIVE, // the rest: settings scaled by every metric, best of n draws
    EX_QUADRANTS
} EntropixQuadrant;
extern const char *const entropix_quadrant_names[EX_QUADRANTS];

// entropix's SamplerConfig (same names and defaults), plus the clarifying token id. Its
// ada_score_* weights are left out: they add the same amount to every draw's score.
typedef struct {
    float temp, top_p, min_p;
    int top_k;
    float low_ent_thresh, low_vent_thresh, med_ent_thresh, high_ent_thresh, high_vent_thresh;
    float helv_attn_ent_offset, helv_attn_ent_coef;
    float lehv_interaction_strength_offset, lehv_interaction_strength_coef;
    float hehv_attn_ent_coef, hehv_attn_vent_offset, hehv_attn_vent_coef;
    int n_adaptive_samples;
    float ada_temp_logits, ada_temp_attn, ada_temp_agree, ada_top_p, ada_top_k_int, ada_top_k_agree, ada_min_p;
    int clarifying_question_token; // -1: none (HELV always samples hotter); entropix used 2564, Llama 3's " ..."
} EntropixConfig;

void entropix_config_default(EntropixConfig *c);
// Sets one field from "name=value" (--entropix); returns 0, or -1 with a one-line reason.
int entropix_config_set(EntropixConfig *c, const char *name_value, char *err, size_t errlen);
// Lists every name with its default, one per line, each line starting with indent (for --help).
void entropix_config_print(FILE *f, const char *indent);

// What a step did: the quadrant, the action, and the settings the draw actually used.
typedef enum { EX_ACT_ARGMAX, EX_ACT_CLARIFY, EX_ACT_SAMPLE, EX_ACT_BEST_OF } EntropixAction;
typedef struct {
    EntropixQuadrant quadrant;
    EntropixAction action;
    int n_draws;                 // EX_ACT_BEST_OF: how many draws were scored
    float temperature, top_p, min_p;
    int top_k;                   // 0 = off
} EntropixChoice;

// ---- the pieces (pure functions; tests call them on constructed inputs) ----
void entropix_logit_metrics(EntropixMetrics *mt, const float *logits, int V);
// scores (NH, n) row-major; probs (NH*n) and mean (n) are scratch. n = 0: attention metrics 0.
void entropix_attn_metrics(EntropixMetrics *mt, const float *scores, int NH, int n, float *probs, float *mean);
EntropixQuadrant entropix_quadrant(const EntropixConfig *c, const EntropixMetrics *mt);
// entropix's action for these metrics; draws with s's generator (its own settings are left as
// they were). *clarified: whether the clarifying token was already emitted in this generation
// (set here when it is). Returns the token.
int entropix_decide(const EntropixConfig *c, Sampler *s, const float *logits, const EntropixMetrics *mt,
                    int *clarified, EntropixChoice *ch);

// ---- the per-token driver generate() calls when s->entropix is set ----
typedef struct Entropix {
    EntropixConfig cfg;
    int decide;         // 1: entropix picks tokens (--sampler entropix); 0: s's own sampling does
    Model *m;
    Tokenizer *tok;     // the trace's token text; NULL: empty text
    FILE *trace;        // NULL: no --trace; else trace_file.fp
    AtomicFile trace_file;
    int step, clarified;
    float *scores, *att_probs, *att_mean;
    EntropixMetrics metrics; // of the last step
    EntropixChoice choice;
} Entropix;

// Attaches to m (after model_kv_alloc): from now on model_forward_kv fills the attention
// probe. trace_path: NULL or a file to open now (util/atomic_file.h: a regular file appears whole
// when entropix_free commits it; a device or FIFO is written through as the rows come). Returns
// 0, or -1 with a one-line reason in err.
int entropix_init(Entropix *e, Model *m, const EntropixConfig *cfg, int decide, Tokenizer *tok,
                  const char *trace_path, char *err, size_t errlen);
// A new generation starts (generate() calls it): the clarifying token may come once again.
void entropix_begin(Entropix *e);
// The next token after prev, from logits (V floats) and the probe; writes its trace row.
int entropix_next(Entropix *e, Sampler *s, const float *logits, int prev);
// Detaches from the model and commits the trace. Returns -1 with a one-line reason when the trace
// could not be written completely.
int entropix_free(Entropix *e, char *err, size_t errlen);
