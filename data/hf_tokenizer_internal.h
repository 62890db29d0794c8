// data/hf_tokenizer_internal.h — what data/hf_tokenizer_json.c builds from a tokenizer.json and
// data/hf_tokenizer.c encodes and decodes with: the HfTokenizer struct, its normalizer /
// pre-tokenizer / decoder steps, the merge table, and the string helpers both sides use.
#pragma once
#include <stdint.h>
#include <string.h>
#define typeof __typeof__
#include <stb/stb_ds.h>

#include "data/bytes_map.h"
#include "data/hf_tokenizer.h"
#include "data/hf_vocab.h"
#include "data/tiktoken.h"

typedef struct { char *from, *to; size_t from_len, to_len; } Replace;

// Appends s[0..n) to *dst (stb_ds) with each occurrence of r->from, left to right and not
// overlapping, replaced by r->to (HF's Replace with a String pattern).
static inline void put_replaced(char **dst, const char *s, size_t n, const Replace *r) {
    for (size_t i = 0; i < n;) {
        const char *hit = memmem(s + i, n - i, r->from, r->from_len);
        size_t upto = hit ? (size_t)(hit - s) : n;
        if (upto > i) memcpy(arraddnptr(*dst, upto - i), s + i, upto - i);
        if (!hit) break;
        if (r->to_len) memcpy(arraddnptr(*dst, r->to_len), r->to, r->to_len);
        i = upto + r->from_len;
    }
}
typedef enum { NORM_PREPEND, NORM_REPLACE } NormKind;
typedef struct { NormKind kind; Replace rep; } NormStep;  // PREPEND: rep.to is the prefix
typedef enum { PRE_SPLIT, PRE_BYTELEVEL } PreKind;
typedef struct { PreKind kind; TiktokenSplitter *sp; int add_prefix_space; } PreStep;
typedef enum { DEC_BYTELEVEL, DEC_REPLACE, DEC_BYTEFALLBACK, DEC_FUSE, DEC_STRIP } DecKind;
typedef struct { DecKind kind; Replace rep; char strip[5]; size_t strip_len; int start, stop; } DecStep;
typedef struct { int rank, id; } MergeVal;
// The merges, (left id, right id) -> (rank, merged id), in an open-addressing table: a merge
// loop asks it 3 times per merge, and a multiplicative hash of the 64-bit pair with linear
// probing answers in about one cache miss (stb_ds's general maps took most of the time).
typedef struct { uint64_t *key; MergeVal *val; size_t mask, count; } MergeTable;
#define NO_PAIR UINT64_MAX

static inline size_t pair_slot(const MergeTable *m, uint64_t key) {
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & m->mask;
}

// SentencePiece's word marker U+2581 "▁"
static const char MARKER[] = "\xE2\x96\x81";

struct HfTokenizer {
    int byte_level;          // vocabulary strings are bytes_to_unicode stand-ins
    int vocab_size;          // largest id + 1
    char **str;              // per id: its string as in the file (NULL: no token has this id)
    char **out;              // per id: what it prints as (hf_tokenizer_token_bytes)
    int *out_len;
    unsigned char *special;  // per id: 1 = a special added token
    BytesMap vocab;          // model.vocab: encode form (byte-level: the bytes) -> id
    BytesMap strings;        // every token's string as in the file -> id (added tokens win)
    MergeTable merges;       // (left id << 32 | right id) -> (rank, merged id)
    int ascii[128];          // SentencePiece-style: the id of each ASCII character (-1: none)
    int single[256];         // byte-level: the id of each one-byte token (-1: none)
    int byte_tok[256];       // byte_fallback: the id of <0xNN> (-1: none)
    int unk_id, fuse_unk, byte_fallback, ignore_merges;
    int cut_at_marker;       // words may be cut before "▁" (see hf_tokenizer_load)
    NormStep *norm;          // stb_ds arrays of steps, applied in order
    PreStep *pre;
    DecStep *dec;
    int has_decoder;
    BytesMap added;          // added token content -> index
    int *added_id;           // per index
    unsigned char *added_special;
    unsigned char first_byte[256];  // 1: some added token starts with this byte
    int *added_lens;         // the distinct content lengths, longest first
};

// A vocabulary or merge string in encode form into *buf (stb_ds): byte-level strings become the
// bytes they stand for (-1 if a character is no stand-in); others stay UTF-8.
static inline int encode_form(int byte_level, const char *s, unsigned char **buf) {
    arrsetlen(*buf, 0);
    if (!byte_level) {
        size_t n = strlen(s);
        if (n) memcpy(arraddnptr(*buf, n), s, n);
        return 0;
    }
    size_t i = 0;
    const unsigned char *u = (const unsigned char *)s;
    while (u[i]) {
        int b = hf_bytelevel_byte(hf_utf8_next(u, &i));
        if (b < 0) return -1;
        arrput(*buf, (unsigned char)b);
    }
    return 0;
}

// ByteFallback's test (decoders/byte_fallback.rs): a 6-byte "<0x..>" whose two characters parse
// as a base-16 u8 (Rust's from_str_radix: hex digits, or '+' and one digit). -1 if not.
static inline int byte_token(const char *s, size_t n) {
    if (n != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>') return -1;
    int v = 0;
    for (int i = 3; i < 5; i++) {
        char ch = s[i];
        int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
        if (i == 3 && ch == '+') continue;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}
