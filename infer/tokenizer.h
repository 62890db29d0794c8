// infer/tokenizer.h — the two tokenizers bin/infer drives, behind one face.
//
//   tiktoken rank files (Llama 3's tokenizer.model, our own bpe-train output): data/tiktoken.h
//   llama2.c's tokenizer.bin (SentencePiece pieces + scores):               data/sp_tokenizer.h
//
// Text comes out token by token; a token may end inside a UTF-8 character (an emoji split over
// byte tokens), so Utf8Out holds back an incomplete trailing sequence until it completes.
#pragma once
#include <stddef.h>
#include <stdio.h>
#include "data/sp_tokenizer.h"
#include "data/tiktoken.h"
#include "util/utf8.h"

typedef enum { TOKENIZER_TIKTOKEN, TOKENIZER_SP } TokenizerKind;

typedef struct {
    TokenizerKind kind;
    Tiktoken *tt;
    SpTokenizer sp;
    int vocab_size; // ids [0, vocab_size) decode to bytes
} Tokenizer;

// Opens a tokenizer file, telling the kinds apart by content: a tiktoken file is text lines
// "base64 rank", a tokenizer.bin starts with a binary u32. A SentencePiece protobuf
// tokenizer.model (Llama 2 HF folders) is refused with a message saying so. pattern: the
// tiktoken split pattern ("gpt2", "cl100k", "llama3"), or NULL/"" to tell it from the number
// of ranks.
int tokenizer_open(Tokenizer *t, const char *path, const char *pattern, char *err, size_t errlen);
void tokenizer_close(Tokenizer *t);
// Plain text (special-token names stay text) -> ids; no BOS. Returns a malloc'd array, or NULL
// with err (invalid UTF-8 included).
int *tokenizer_encode(Tokenizer *t, const char *text, int *n, char *err, size_t errlen);
// The bytes of token id printed after prev (SentencePiece drops the dummy-prefix space after
// BOS). NULL for an id the tokenizer does not have.
const char *tokenizer_token_bytes(Tokenizer *t, int prev, int id, size_t *len);
// A special token's id by name ("<|eot_id|>"), or -1.
int tokenizer_special(Tokenizer *t, const char *name);


// Writes bytes to a FILE, holding back an incomplete UTF-8 sequence at the end (at most 3
// bytes) until the bytes that complete it arrive. Bytes that can never complete are written.
typedef struct {
    FILE *f;
    unsigned char held[4];
    int n_held;
} Utf8Out;
void utf8out_init(Utf8Out *o, FILE *f);
void utf8out_write(Utf8Out *o, const char *bytes, size_t n);
void utf8out_flush(Utf8Out *o); // writes whatever is held
