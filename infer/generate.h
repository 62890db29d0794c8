// infer/generate.h — the generation loop: prefill the prompt, then decode token by token.
//
// Prefill: the whole prompt goes through ONE model_forward_kv call, T tokens at once, so
// every matmul is a (T, C) x (C, N) sgemm and K/V of all prompt positions land in the cache.
// Decode: each new token is one model_forward_kv call with T = 1 at the next position: the
// matmuls become matrix-vector products that stream every weight once, and attention reads
// the cached K/V of all earlier positions instead of recomputing them.
// bin/infer and the tests both generate through this one function.
#pragma once
#include "infer/sampler.h"
#include "model/model.h"

typedef enum { GEN_STOP_EOS, GEN_STOP_LIMIT, GEN_STOP_CONTEXT, GEN_STOP_CALLER } GenStop;

typedef struct {
    int n_prompt;     // tokens prefilled
    int n_generated;  // tokens passed to on_token (a stop token is not one of them)
    int n_decode;     // single-token forwards run
    double prefill_s, decode_s; // seconds in the prefill forward / in decode forwards + sampling
    GenStop stop;
    int last_token;   // the last sampled token (the stop token on GEN_STOP_EOS); it is NOT in
                      // the KV cache yet: a chat's next turn feeds it first
} GenResult;

// Called with each generated token; return nonzero to stop.
typedef int (*GenTokenFn)(void *user, int token);

// Feeds prompt[0..n_prompt) at positions *pos.. (the KV cache must hold earlier positions
// already: a chat continues where the last turn ended), then samples up to max_new tokens.
// Stops early at any of stop_ids[0..n_stop), or when the cache is full: ctx is the max_len
// model_kv_alloc was given. If prompt_logits is not NULL, the logits after the last prompt token are copied there
// (V floats). *pos ends one past the last position written to the cache.
// With s->entropix set, every token comes from entropix_next (metrics, trace, its sampler).
// Returns 0, or -1 with a one-line reason in err (the prompt does not fit, a bad token id).
int generate(Model *m, Sampler *s, int ctx, const int *prompt, int n_prompt, int *pos, int max_new,
             const int *stop_ids, int n_stop, GenTokenFn on_token, void *user, float *prompt_logits,
             GenResult *r, char *err, size_t errlen);
