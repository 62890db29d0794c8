// fuzz/tiktoken_roundtrip.c — encode/decode on arbitrary bytes (data/tiktoken.c).
//
// Input: the first byte picks the encoding, the rest is the text (any bytes: invalid UTF-8,
// NULs, special-token names). Encodings: a small built-in rank file (256 bytes + a few
// hundred merges, gpt2 pattern) always; GPT-2, cl100k and Llama 3 from data/tokenizers/
// (scripts/fetch_tokenizers.sh; $TOKENIZER_DIR overrides) when present.
// Promises: decode(encode_ordinary(x)) == x and decode(encode(x, all specials)) == x; every id
// inside the vocabulary; the streaming decoder's output, concatenated, is the same bytes.
#include "fuzz/fuzz.h"
#include "data/tiktoken.h"

// The built-in encoding: every byte, then merges of common English pairs and pieces, some
// multi-byte UTF-8 (é, ä, 日本, an emoji's first bytes), so merges happen inside characters too.
static const char *const MERGES[] = {
    " t", "th", "he", " th", "the", " the", "in", "er", "an", " a", "re", "on", " s", "en", "ing",
    " w", "nd", " o", "ou", "at", "is", " i", "it", "es", "or", "ed", " b", " c", "ll", "ar",
    "\n\n", "  ", "    ", "\r\n", "..", "'s", " '", "'t", "00", "000", "12", "123",
    "\xc3\xa9", "\xc3\xa4", "t\xc3\xa9", "\xe6\x97", "\xe6\x97\xa5", "\xe6\x97\xa5\xe6\x9c\xac",
    "\xf0\x9f", "\xf0\x9f\x98", "<|", "|>", "end", "of", "text", "endoftext",
};

static int b64(const unsigned char *in, size_t n, char *out) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    int k = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = in[i] << 16 | (i + 1 < n ? in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        out[k++] = tab[v >> 18 & 63];
        out[k++] = tab[v >> 12 & 63];
        out[k++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
        out[k++] = i + 2 < n ? tab[v & 63] : '=';
    }
    return k;
}

static Tiktoken *encs[4];
static int n_encs;

static void init(void) {
    enum { CAP = 65536 };
    char *file = malloc(CAP);
    if (!file) abort();
    size_t len = 0;
    int rank = 0;
    char line[128];
    for (int b = 0; b < 256; b++) {
        unsigned char c = (unsigned char)b;
        int k = b64(&c, 1, line);
        len += (size_t)snprintf(file + len, CAP - len, "%.*s %d\n", k, line, rank++);
    }
    for (size_t i = 0; i < sizeof MERGES / sizeof MERGES[0]; i++) {
        int k = b64((const unsigned char *)MERGES[i], strlen(MERGES[i]), line);
        len += (size_t)snprintf(file + len, CAP - len, "%.*s %d\n", k, line, rank++);
    }
    const char *path = fuzz_write("builtin.tiktoken", file, len);
    free(file);
    char err[512];
    encs[n_encs] = tiktoken_load(path, "gpt2", err, sizeof err);
    if (!encs[n_encs]) { fprintf(stderr, "fuzz: built-in encoding: %s\n", err); exit(2); }
    n_encs++;
    const char *dir = getenv("TOKENIZER_DIR") ? getenv("TOKENIZER_DIR") : "data/tokenizers";
    const char *real[][2] = {{"gpt2/r50k_base.tiktoken", "gpt2"},
                             {"cl100k/cl100k_base.tiktoken", "cl100k"},
                             {"llama3/tokenizer.model", "llama3"}};
    for (int i = 0; i < 3; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, real[i][0]);
        if (access(p, R_OK) != 0) continue;
        Tiktoken *t = tiktoken_load(p, real[i][1], err, sizeof err);
        if (t) encs[n_encs++] = t;
    }
}

static void check(Tiktoken *t, const char *text, size_t len, int special) {
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!n_encs) init();
    if (size < 1) return 0;
    Tiktoken *t = encs[data[0] % n_encs];
    check(t, (const char *)data + 1, size - 1, 0);
    check(t, (const char *)data + 1, size - 1, 1);
    return 0;
}
