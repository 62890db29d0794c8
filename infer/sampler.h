// infer/sampler.h — turn the logits of one position into the next token id.
//
//   temperature 0        greedy: argmax of the logits
//   temperature T > 0    p_i = softmax(logits / T)_i, then the filters below, then one draw
//   top-k K  (0 = off)   keep the K most probable tokens
//   top-p P  (1 = off)   keep the smallest most-probable set whose mass reaches P (nucleus)
//   min-p M  (0 = off)   keep tokens with p_i >= M * max_j p_j
// The filters apply in that order (transformers' order), each to what the one before kept;
// the draw is from the kept set renormalised. Everything is allocated once in sampler_init:
// sampling a token allocates nothing.
#pragma once
#include <stdint.h>

typedef struct {
    float prob;
    int index;
} ProbIndex;

typedef struct {
    int vocab_size;
    float temperature, top_p, min_p;
    int top_k;
    uint64_t rng;          // xorshift64* state
    ProbIndex *candidates; // (vocab_size) scratch
    // NULL (sampler_init's default): generate() calls sampler_sample. Else generate() hands
    // every token to infer/entropix.h (metrics, --trace, --sampler entropix).
    struct Entropix *entropix;
} Sampler;

// s->candidates is NULL afterwards when there was no memory for it (the caller checks).
void sampler_init(Sampler *s, int vocab_size, float temperature, int top_k, float top_p, float min_p,
                  uint64_t seed);
void sampler_free(Sampler *s);
// The filtering step alone (temperature > 0): fills s->candidates[0..n) with the kept tokens
// and their renormalised probabilities, in no particular order; returns n >= 1.
int sampler_filter(Sampler *s, const float *logits);
// One draw from the n candidates sampler_filter left (their probabilities sum to 1).
int sampler_draw(Sampler *s, int n);
// Picks the next token from logits (vocab_size floats, left unchanged).
int sampler_sample(Sampler *s, const float *logits);
// The index of the largest of x[0..n) (the first one on a tie).
int sampler_argmax(const float *x, int n);
// A uniform float in [0, 1) from the sampler's generator.
float sampler_random(Sampler *s);
