// infer/generate.c — see generate.h.
#include "infer/generate.h"
#include "util/errors.h"
#include "infer/entropix.h"
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "util/timing.h"


// Finite weights can still overflow float32 inside the forward (one weight of 1e30): then the
// logits are NaN, and sampling would print token 0 as if all were well. One pass over V floats
// per token, small beside the forward's V x dim multiply-adds.
static int logits_finite(const float *x, int V) {
    int bad = 0;
    for (int i = 0; i < V; i++) {
        uint32_t u;
        memcpy(&u, x + i, 4);
        bad |= (u & 0x7f800000u) == 0x7f800000u;
    }
    return !bad;
}

int generate(Model *m, Sampler *s, int ctx, const int *prompt, int n_prompt, int *pos, int max_new,
             const int *stop_ids, int n_stop, GenTokenFn on_token, void *user, float *prompt_logits,
             GenResult *r, char *err, size_t errlen) {
    const int V = m->config.vocab_size;
    memset(r, 0, sizeof *r);
    r->last_token = -1;
    if (n_prompt < 1) return fail(err, errlen, "empty prompt: nothing to continue from");
    if (*pos + n_prompt > ctx)
        return fail(err, errlen, "context full: %d prompt tokens at position %d do not fit in --ctx %d",
                    n_prompt, *pos, ctx);
    for (int i = 0; i < n_prompt; i++)
        if (prompt[i] < 0 || prompt[i] >= V)
            return fail(err, errlen, "token id %d is outside the vocabulary [0, %d)", prompt[i], V);

    if (s->entropix) entropix_begin(s->entropix);

    // prefill: every prompt position in one batched forward
    double t0 = now_s();
    const float *logits = model_forward_kv(m, prompt, n_prompt, *pos, 0);
    r->prefill_s = now_s() - t0;
    if (!logits) return fail(err, errlen, "model_forward_kv refused the prompt (%d tokens at position %d)",
                             n_prompt, *pos);
    if (!logits_finite(logits, V))
        return fail(err, errlen, "the logits after the prompt are not finite (NaN or Inf): float32 overflowed in the forward pass");
    r->n_prompt = n_prompt;
    *pos += n_prompt;
    if (prompt_logits) memcpy(prompt_logits, logits, (size_t)V * sizeof(float));

    // decode: sample, hand the token out, feed it back at the next position
    r->stop = GEN_STOP_LIMIT;
    double decode_start = now_s(), in_callbacks = 0;
    int prev = prompt[n_prompt - 1];
    for (int i = 0; i < max_new; i++) {
        int tok = s->entropix ? entropix_next(s->entropix, s, logits, prev) : sampler_sample(s, logits);
        prev = tok;
        r->last_token = tok;
        int is_stop = 0;
        for (int k = 0; k < n_stop; k++) is_stop |= tok == stop_ids[k];
        if (is_stop) { r->stop = GEN_STOP_EOS; break; }
        r->n_generated++;
        if (on_token) {
            double c0 = now_s();
            int halt = on_token(user, tok);
            in_callbacks += now_s() - c0;
            if (halt) { r->stop = GEN_STOP_CALLER; break; }
        }
        if (i + 1 == max_new) break; // the last token needs no forward
        if (*pos >= ctx) { r->stop = GEN_STOP_CONTEXT; break; }
        logits = model_forward_kv(m, &tok, 1, *pos, 0);
        if (!logits) return fail(err, errlen, "model_forward_kv failed at position %d", *pos);
        if (!logits_finite(logits, V))
            return fail(err, errlen, "the logits at position %d are not finite (NaN or Inf): float32 overflowed in the forward pass", *pos);
        (*pos)++;
        r->n_decode++;
    }
    r->decode_s = now_s() - decode_start - in_callbacks; // printing is not the model's time
    return 0;
}
