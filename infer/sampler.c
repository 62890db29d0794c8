// infer/sampler.c — see sampler.h.
#include "infer/sampler.h"
#include <math.h>
#include <stdlib.h>
#include "util/rng.h"   // splitmix64 spreads any seed (0 included) over the nonzero state xorshift needs


void sampler_init(Sampler *s, int vocab_size, float temperature, int top_k, float top_p, float min_p,
                  uint64_t seed) {
    s->vocab_size = vocab_size;
    s->temperature = temperature;
    s->top_k = top_k;
    s->top_p = top_p;
    s->min_p = min_p;
    s->rng = splitmix64(seed);
    if (s->rng == 0) s->rng = 1;
    s->candidates = malloc((size_t)vocab_size * sizeof(ProbIndex));
    s->entropix = NULL;
}

void sampler_free(Sampler *s) {
    free(s->candidates);
    s->candidates = NULL;
}

// xorshift64* (Vigna), as llama2.c's run.c uses: the top 32 bits of the scrambled state.
static uint32_t random_u32(Sampler *s) {
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return (uint32_t)((s->rng * 0x2545F4914F6CDD1Dull) >> 32);
}

float sampler_random(Sampler *s) { return (random_u32(s) >> 8) / 16777216.0f; } // 24 bits

int sampler_argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

static int by_prob_desc(const void *a, const void *b) {
    float x = ((const ProbIndex *)a)->prob, y = ((const ProbIndex *)b)->prob;
    return x > y ? -1 : x < y;
}

// Reorders c[0..n) so that c[0..k) hold the k largest probs (in no order): quickselect,
// O(n) on average, instead of sorting 128k entries to keep 40.
static void select_top_k(ProbIndex *c, int n, int k) {
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        float pivot = c[lo + (hi - lo) / 2].prob;
        int i = lo, j = hi;
        while (i <= j) { // Hoare partition, descending
            while (c[i].prob > pivot) i++;
            while (c[j].prob < pivot) j--;
            if (i <= j) { ProbIndex t = c[i]; c[i] = c[j]; c[j] = t; i++; j--; }
        }
        // now c[lo..j] >= pivot >= c[i..hi]
        if (k - 1 <= j) hi = j;
        else if (k - 1 >= i) lo = i;
        else break;
    }
}

// Drops candidates with prob < threshold, keeping order. Returns the new count.
static int keep_at_least(ProbIndex *c, int n, float threshold) {
    int m = 0;
    for (int i = 0; i < n; i++)
        if (c[i].prob >= threshold) c[m++] = c[i];
    return m;
}

// Fills s->candidates[0..n) with the tokens the filters keep and their renormalised
// probabilities; returns n (>= 1). Temperature must be > 0.
int sampler_filter(Sampler *s, const float *logits) {
    ProbIndex *c = s->candidates;
    int n = s->vocab_size;
    // softmax(logits / T), unnormalised: w_i = exp((l_i - max) / T), so the top token has w = 1
    float max = logits[sampler_argmax(logits, n)];
    for (int i = 0; i < n; i++) {
        c[i].prob = expf((logits[i] - max) / s->temperature);
        c[i].index = i;
    }
    if (s->top_k > 0 && s->top_k < n) {
        select_top_k(c, n, s->top_k);
        n = s->top_k;
    }
    if (s->top_p < 1.0f) {
        double total = 0;
        for (int i = 0; i < n; i++) total += c[i].prob;
        // A token with p < (1 - P) / (n - 1) can never be in the nucleus (all smaller ones
        // together could not lift the others past P), so sort only the rest (llama2.c's trick).
        if (n > 1) n = keep_at_least(c, n, (float)((1.0 - s->top_p) / (n - 1) * total));
        qsort(c, n, sizeof *c, by_prob_desc);
        double cum = 0;
        for (int i = 0; i < n; i++) {
            cum += c[i].prob;
            if (cum >= s->top_p * total) { n = i + 1; break; }
        }
    }
    if (s->min_p > 0.0f) {
        float top = 0;
        for (int i = 0; i < n; i++) top = c[i].prob > top ? c[i].prob : top;
        n = keep_at_least(c, n, s->min_p * top);
    }
    double total = 0;
    for (int i = 0; i < n; i++) total += c[i].prob;
    for (int i = 0; i < n; i++) c[i].prob = (float)(c[i].prob / total);
    return n;
}

int sampler_sample(Sampler *s, const float *logits) {
    if (s->temperature == 0.0f) return sampler_argmax(logits, s->vocab_size);
    return sampler_draw(s, sampler_filter(s, logits));
}

int sampler_draw(Sampler *s, int n) {
    float r = sampler_random(s), cdf = 0;
    for (int i = 0; i < n; i++) {
        cdf += s->candidates[i].prob;
        if (r < cdf) return s->candidates[i].index;
    }
    return s->candidates[n - 1].index; // r landed in the rounding gap at the top
}
