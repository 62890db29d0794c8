// data/sp_tokenizer.h — llama2.c's tokenizer.bin: the Llama 2 SentencePiece vocabulary
// (32,000 pieces with scores) and run.c's encoder/decoder for it.
//
// File: u32 max_token_length, then per token id: f32 score, i32 len, len bytes of the piece
// (SentencePiece's U+2581 "▁" already turned into a space). Ids 0, 1, 2 are <unk>, <s> (BOS),
// </s> (EOS); ids 3..258 are the byte pieces <0x00>..<0xFF>.
//
// Encoding (SentencePiece BPE as llama2.c runs it): prepend a space (the "dummy prefix"),
// look every UTF-8 code point up as a piece (unknown ones fall back to their bytes, id 3+byte),
// then repeatedly merge the adjacent pair whose concatenation is the piece with the highest
// score, until no pair is a piece.
#pragma once
#include <stddef.h>

#define SP_BOS 1
#define SP_EOS 2

typedef struct {
    char **vocab;      // NUL-terminated pieces (pieces contain no NUL bytes)
    float *scores;
    int vocab_size;
    unsigned max_token_length;
    struct { char *key; int value; } *lookup; // stb_ds string map: piece -> id
    char *merge_buf;   // scratch for candidate pairs
    char bytes[256];   // bytes[b] == b: what sp_decode returns for <0xXX>
} SpTokenizer;

// Returns 0, or -1 with a one-line reason in err (truncated or malformed file).
int sp_load(SpTokenizer *t, const char *path, char *err, size_t errlen);
void sp_free(SpTokenizer *t);
// Encodes text (NUL-terminated UTF-8) into tokens, which must hold strlen(text) + 3 ids;
// bos/eos add ids 1/2 around it. Returns the number of tokens.
int sp_encode(SpTokenizer *t, const char *text, int bos, int eos, int *tokens);
// The bytes token stands for, given the token before it: after BOS the leading space of a
// piece is dropped (the dummy prefix), and <0xXX> pieces become the raw byte. *len gets the
// byte count (a raw byte may be 0x00).
const char *sp_decode(SpTokenizer *t, int prev_token, int token, size_t *len);
