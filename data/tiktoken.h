// data/tiktoken.h — a tiktoken-compatible byte-level BPE tokenizer (GPT-2, cl100k_base, Llama 3).
//
// text bytes -> regex split into pieces (PCRE2, tiktoken's patterns) -> each piece: one token if
// the whole piece is in the rank table, else byte-pair merge by lowest rank -> token ids.
// Special tokens (<|endoftext|>, <|eot_id|>...) only come out of tiktoken_encode when allowed.
// docs/tokenizer.md explains the pieces, the merge loop and the file format.
//
// Memory: every int* / char* a function returns is malloc'd and the caller free()s it.
// Threads: after tiktoken_load, any number of threads may encode/decode with one Tiktoken at once
// (the rank table is only read; each call has its own PCRE2 match data).
#pragma once
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdio.h>
#include "data/bytes_map.h"

typedef struct Tiktoken Tiktoken;

// Loads a rank file (lines "base64(token bytes) rank"). pattern: "gpt2", "cl100k", "llama3", or
// NULL: the one named in the file RANK_FILE.pattern beside it (bin/bpe-train writes it), else
// the one the number of ranks implies (50,256 GPT-2; 100,256 cl100k; 128,000 Llama 3), else an
// error. A pattern given that differs from RANK_FILE.pattern is an error: the merges were learned
// on the other split.
// The pattern also picks the special tokens, placed after the ranks as in the original encodings
// (GPT-2 <|endoftext|> = 50256; cl100k 100257..100260 and 100276; Llama 3 128000..128255);
// a rank file of another size (one made by bin/bpe-train) gets them from its own rank count on.
// Every one of the 256 single bytes must have a rank, so that any byte string can be encoded.
// On failure returns NULL and writes a one-line message (no program name) into err.
Tiktoken *tiktoken_load(const char *rank_file, const char *pattern, char *err, size_t errlen);
void tiktoken_free(Tiktoken *t);
// Writes one line of a rank file: base64 of the token's bytes, a space, the rank.
void tiktoken_write_rank(FILE *f, const unsigned char *bytes, size_t n, long rank);
#define TIKTOKEN_PATTERN_SUFFIX ".pattern"

// One more than the largest id (ranks and specials): the size an embedding table needs.
// (cl100k has unused ids inside: 100256 and 100261..100275.)
int tiktoken_vocab_size(const Tiktoken *t);
int tiktoken_n_ranks(const Tiktoken *t);        // how many ranks the file held
const char *tiktoken_pattern_name(const Tiktoken *t);   // "gpt2", "cl100k" or "llama3"
const char *tiktoken_pattern(const Tiktoken *t);        // the regex itself

// Ordinary text: special-token text like "<|endoftext|>" is encoded as plain characters.
// Returns a malloc'd array of *n_out ids (never NULL on success, even for len 0), or NULL on
// error (out of memory, a PCRE2 failure; see tiktoken_error).
int *tiktoken_encode_ordinary(Tiktoken *t, const char *bytes, size_t len, size_t *n_out);

// BPE-dropout (subword regularization, Provilkov et al. 2020): ordinary text, but inside every
// piece each possible merge is skipped with probability p at each step (and no piece is looked up
// whole), so the same text comes out in a random, finer segmentation that still decodes to the
// same bytes. Training on several such encodings of the train split is data augmentation; p = 0
// is tiktoken_encode_ordinary. rng is a util/rng.h state, advanced by the call.
int *tiktoken_encode_dropout(Tiktoken *t, const char *bytes, size_t len, float p, uint64_t *rng,
                             size_t *n_out);

// allowed_special for tiktoken_encode: NULL (none: same as encode_ordinary), TIKTOKEN_ALL_SPECIAL,
// or a NULL-terminated list of names, e.g. (const char *[]){"<|endoftext|>", NULL}.
// Special-token text that is not allowed is encoded as plain text (Python tiktoken would raise
// unless disallowed_special=()). An unknown name in the list is an error.
extern const char *const TIKTOKEN_ALL_SPECIAL[];
int *tiktoken_encode(Tiktoken *t, const char *bytes, size_t len,
                     const char *const *allowed_special, size_t *n_out);

// Concatenates the tokens' bytes into a malloc'd buffer (*out, NUL-terminated for convenience;
// *out_len excludes the NUL). Returns 0, or -1 (and *out = NULL) if an id is not a token.
int tiktoken_decode(const Tiktoken *t, const int *ids, size_t n, char **out, size_t *out_len);
// The bytes of one token (a special token's bytes are its name), or NULL if id is not a token.
// Points into t; not NUL-terminated.
const char *tiktoken_token_bytes(const Tiktoken *t, int id, size_t *len);
// The id of a special token by name, e.g. "<|eot_id|>", or -1.
int tiktoken_special_id(const Tiktoken *t, const char *name);
// How many special tokens, and the name and id of the i-th (in id order).
int tiktoken_n_special(const Tiktoken *t);
const char *tiktoken_special_name(const Tiktoken *t, int i, int *id);
// The message of the last encode call on t that returned NULL (only failed calls write it, so
// threads that share t do not race on it while all goes well).
const char *tiktoken_error(const Tiktoken *t);

// Streaming decoder for printing token by token: a token may end in the middle of a UTF-8
// character (an emoji is often split over 2-4 tokens). Feed ids one at a time; each call gives
// the bytes that are now complete and holds back an incomplete trailing UTF-8 sequence (at most
// 3 bytes) until the bytes that finish it arrive. Bytes that can never become valid UTF-8 are
// passed on as they are, so the concatenation of all outputs (plus flush) equals tiktoken_decode.
typedef struct {
    const Tiktoken *t;
    unsigned char held[4];
    int n_held;
    char *buf;         // stb_ds array: the last output
} TiktokenStream;
void tiktoken_stream_init(TiktokenStream *s, const Tiktoken *t);
// Returns the complete bytes (valid until the next call; may be empty, *len = 0), or NULL if id
// is not a token (the stream is unchanged then).
const char *tiktoken_stream_feed(TiktokenStream *s, int id, size_t *len);
// At the end: whatever is still held (an incomplete sequence), then the stream is empty.
const char *tiktoken_stream_flush(TiktokenStream *s, size_t *len);
void tiktoken_stream_free(TiktokenStream *s);

// ---- building blocks, shared with bpe_train.c and the tests ----

// The byte-pair merge of one piece, as tiktoken's byte_pair_merge: the parts start as given
// (bounds[0] = 0 < bounds[1] < ... < bounds[nparts] = len; for a fresh piece one part per byte),
// then, while some two adjacent parts concatenate to bytes that have a rank, the pair of lowest
// rank merges (the leftmost of equal ranks first). ranks: token bytes -> rank.
// Rewrites bounds in place and returns the new number of parts. use_heap: 0 = tiktoken's simple
// scan, O(n^2); 1 = a heap over a linked list, O(n log n); -1 = choose by length (tiktoken_encode).
size_t bpe_merge(const BytesMap *ranks, const unsigned char *piece, size_t len,
                 size_t *bounds, size_t nparts, int use_heap);
// The same with BPE-dropout (tiktoken_encode_dropout): at each step every possible merge is
// skipped with probability drop, the lowest-ranked survivor merges, and the piece stops when all
// are skipped. drop = 0 is bpe_merge. Both loops draw from the same distribution (not the same
// coins), the heap's in O(n log n) per piece for drop < 1.
size_t bpe_merge_dropout(const BytesMap *ranks, const unsigned char *piece, size_t len,
                         size_t *bounds, size_t nparts, int use_heap, float drop, uint64_t *rng);

// The regex split on its own (bin/bpe-train splits its corpus before any rank exists).
// pattern: "gpt2", "cl100k" or "llama3". tiktoken_splitter_run calls fn(piece, n, ctx) for each
// piece of text in order; bytes that no match covers (only invalid UTF-8 is ever left over) become
// pieces of their own. It returns 0, -1 on a PCRE2 error (message in err), or fn's first non-zero
// return value (which stops the split).
typedef struct TiktokenSplitter TiktokenSplitter;
typedef int (*TiktokenPieceFn)(const unsigned char *piece, size_t n, void *ctx);
TiktokenSplitter *tiktoken_splitter_new(const char *pattern, char *err, size_t errlen);
// The same for any regex (a tokenizer.json's Split pattern), compiled with the same options; its
// name is "custom". A regex that can match empty text makes tiktoken_splitter_run fail there.
TiktokenSplitter *tiktoken_splitter_new_regex(const char *regex, char *err, size_t errlen);
int tiktoken_splitter_run(const TiktokenSplitter *sp, const char *text, size_t len,
                          TiktokenPieceFn fn, void *ctx, char *err, size_t errlen);
const char *tiktoken_splitter_pattern(const TiktokenSplitter *sp);
const char *tiktoken_splitter_name(const TiktokenSplitter *sp);   // "gpt2", "cl100k" or "llama3"
void tiktoken_splitter_free(TiktokenSplitter *sp);
const TiktokenSplitter *tiktoken_splitter(const Tiktoken *t);
// The rank table (token bytes -> rank) of a loaded encoding.
const BytesMap *tiktoken_ranks(const Tiktoken *t);
