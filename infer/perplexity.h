// infer/perplexity.h — bin/infer --perplexity: perplexity of a text file, computed the way
// llama.cpp's llama-perplexity computes it, so the two can be compared on the same model file.
//
// The whole file is tokenized once (BOS first when the model has one); the tokens are cut into
// floor(n / n_ctx) chunks of n_ctx; each chunk runs from an empty cache with its first token
// replaced by BOS (when there is one), and only the second half is scored: positions
// n_ctx/2 .. n_ctx-2 each predict the next token. PPL = exp(mean of -log softmax(logits)[next]).
#pragma once
#include <stddef.h>
#include <stdio.h>
#include "infer/tokenizer.h"
#include "model/model.h"

typedef struct {
    double ppl;      // exp(nll / count)
    double nll;      // summed negative log-likelihood (nats)
    long count;      // tokens scored
    int chunks;
} PerplexityResult;

// tokens[0..n): the whole file, BOS included when bos >= 0. The model's KV cache must hold
// n_ctx positions. progress: where the running PPL goes after each chunk, as llama-perplexity
// prints it ("[1]12.34,[2]..."), or NULL. Returns 0, or -1 with err (fewer than 2 * n_ctx
// tokens, n_ctx < 4, a forward that failed).
int perplexity_tokens(Model *m, const int *tokens, int n, int n_ctx, int bos, FILE *progress, PerplexityResult *r,
                      char *err, size_t errlen);
// Reads and tokenizes path (BOS first when bos >= 0): a malloc'd array of *n ids, or NULL with
// "path: reason" in err (unreadable, empty, a NUL byte, invalid UTF-8).
int *tokenize_file(Tokenizer *tok, int bos, const char *path, int *n, char *err, size_t errlen);
// Reads and tokenizes path, then perplexity_tokens.
int perplexity_file(Model *m, Tokenizer *tok, int bos, const char *path, int n_ctx, FILE *progress,
                    PerplexityResult *r, char *err, size_t errlen);
