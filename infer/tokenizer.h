// infer/tokenizer.h — the tokenizers bin/infer and bin/tokenize drive, behind one face.
//
//   tiktoken rank files (Llama 3's tokenizer.model, our own bpe-train output): data/tiktoken.h
//   llama2.c's tokenizer.bin (SentencePiece pieces + scores):               data/sp_tokenizer.h
//   Hugging Face tokenizer.json (byte-level or SentencePiece-style BPE):     data/hf_tokenizer.h
//
// Text comes out token by token; a token may end inside a UTF-8 character (an emoji split over
// byte tokens), so Utf8Out holds back an incomplete trailing sequence until it completes.
#pragma once
#include <stddef.h>
#include <stdio.h>
#include "data/hf_tokenizer.h"
#include "data/sp_tokenizer.h"
#include "data/tiktoken.h"
#include "util/utf8.h"

typedef enum { TOKENIZER_TIKTOKEN, TOKENIZER_SP, TOKENIZER_HF } TokenizerKind;

typedef struct {
    TokenizerKind kind;
    Tiktoken *tt;
    SpTokenizer sp;
    HfTokenizer *hf;
    int vocab_size; // ids [0, vocab_size) decode to bytes
} Tokenizer;

// Opens a tokenizer file, telling the kinds apart by content: a tokenizer.json starts with '{'
// (after any whitespace), a tiktoken file is text lines "base64 rank", a tokenizer.bin starts
// with a binary u32. A SentencePiece protobuf
// tokenizer.model (Llama 2 HF folders) is refused with a message saying so. pattern: the
// tiktoken split pattern ("gpt2", "cl100k", "llama3"), or NULL/"" to tell it from the number
// of ranks.
int tokenizer_open(Tokenizer *t, const char *path, const char *pattern, char *err, size_t errlen);
void tokenizer_close(Tokenizer *t);
// Plain text (special-token names stay text) -> ids; no BOS. Returns a malloc'd array, or NULL
// with err (invalid UTF-8 included).
int *tokenizer_encode(Tokenizer *t, const char *text, int *n, char *err, size_t errlen);
// The same with the choice bin/tokenize offers: special = 1 makes special-token text (tiktoken's
// specials, tokenizer.json's special added tokens) the special token; len bytes of any content
// (tokenizer.json refuses invalid UTF-8; llama2.c's tokenizer.bin reads up to a NUL).
int *tokenizer_encode_text(Tokenizer *t, const char *text, size_t len, int special, size_t *n, char *err,
                           size_t errlen);
// ids -> the text they stand for (malloc'd, NUL-terminated, *len without it): tiktoken's bytes,
// HF's decode for a tokenizer.json, the pieces for a tokenizer.bin. NULL with err for an id that
// is no token.
char *tokenizer_decode(Tokenizer *t, const int *ids, size_t n, size_t *len, char *err, size_t errlen);
// The bytes of token id printed after prev (SentencePiece drops the dummy-prefix space after
// BOS, or after any special token for a tokenizer.json). NULL for an id the tokenizer does not have.
const char *tokenizer_token_bytes(Tokenizer *t, int prev, int id, size_t *len);
// A special token's id by name ("<|eot_id|>"; "<s>", "</s>" of a tokenizer.bin), or -1.
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
