// fuzz/fuzz_tiktoken.h — the round trip every Tiktoken must pass on any text: encode (with
// every special allowed, or encode_ordinary) gives ids inside the vocabulary, decode gives the
// text back byte for byte, and the streaming decoder's pieces, concatenated, are the same bytes.
#pragma once
#include "fuzz/fuzz.h"
#include "data/tiktoken.h"

static inline void fuzz_check_tiktoken_roundtrip(Tiktoken *t, const char *text, size_t len, int special) {
    size_t n;
    int *ids = special ? tiktoken_encode(t, text, len, TIKTOKEN_ALL_SPECIAL, &n)
                       : tiktoken_encode_ordinary(t, text, len, &n);
    FUZZ_CHECK(ids != NULL, "encode failed: %s", tiktoken_error(t));
    int V = tiktoken_vocab_size(t);
    for (size_t i = 0; i < n; i++) FUZZ_CHECK(ids[i] >= 0 && ids[i] < V, "id %d outside [0, %d)", ids[i], V);
    char *out;
    size_t out_len;
    FUZZ_CHECK(tiktoken_decode(t, ids, n, &out, &out_len) == 0, "decode of encode's ids failed");
    FUZZ_CHECK(out_len == len && memcmp(out, text, len) == 0,
               "%s: decode(encode%s(x)) != x (%zu bytes in, %zu out)", tiktoken_pattern_name(t),
               special ? "" : "_ordinary", len, out_len);
    free(out);
    // streaming: the pieces, concatenated, are the same bytes
    TiktokenStream s;
    tiktoken_stream_init(&s, t);
    size_t at = 0, k;
    for (size_t i = 0; i < n; i++) {
        const char *p = tiktoken_stream_feed(&s, ids[i], &k);
        FUZZ_CHECK(p != NULL, "stream refused id %d", ids[i]);
        FUZZ_CHECK(at + k <= len && memcmp(p, text + at, k) == 0, "stream bytes differ at %zu", at);
        at += k;
    }
    const char *p = tiktoken_stream_flush(&s, &k);
    FUZZ_CHECK(at + k == len && (k == 0 || memcmp(p, text + at, k) == 0), "stream flush differs");
    tiktoken_stream_free(&s);
    free(ids);
}
