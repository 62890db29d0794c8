// fuzz/tiktoken_roundtrip.c — encode/decode on arbitrary bytes (data/tiktoken.c).
//
// Input: the first byte picks the encoding, the rest is the text (any bytes: invalid UTF-8,
// NULs, special-token names). Encodings: a small built-in rank file (256 bytes + a few
// hundred merges, gpt2 pattern) always; GPT-2, cl100k and Llama 3 from data/tokenizers/
// (scripts/fetch_tokenizers.sh; $TOKENIZER_DIR overrides) when present.
// Promises: decode(encode_ordinary(x)) == x and decode(encode(x, all specials)) == x; every id
// inside the vocabulary; the streaming decoder's output, concatenated, is the same bytes.
#include "fuzz/fuzz_tiktoken.h"

// The built-in encoding: every byte, then merges of common English pairs and pieces, some
// multi-byte UTF-8 (é, ä, 日本, an emoji's first bytes), so merges happen inside characters too.
static const char *const MERGES[] = {
    " t", "th", "he", " th", "the", " the", "in", "er", "an", " a", "re", "on", " s", "en", "ing",
    " w", "nd", " o", "ou", "at", "is", " i", "it", "es", "or", "ed", " b", " c", "ll", "ar",
    "\n\n", "  ", "    ", "\r\n", "..", "'s", " '", "'t", "00", "000", "12", "123",
    "\xc3\xa9", "\xc3\xa4", "t\xc3\xa9", "\xe6\x97", "\xe6\x97\xa5", "\xe6\x97\xa5\xe6\x9c\xac",
    "\xf0\x9f", "\xf0\x9f\x98", "<|", "|>", "end", "of", "text", "endoftext",
};

static Tiktoken *encs[4];
static int n_encs;

static void init(void) {
    char *file = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&file, &len);
    if (!f) abort();
    int rank = 0;
    for (int b = 0; b < 256; b++) {
        unsigned char c = (unsigned char)b;
        tiktoken_write_rank(f, &c, 1, rank++);
    }
    for (size_t i = 0; i < sizeof MERGES / sizeof MERGES[0]; i++)
        tiktoken_write_rank(f, (const unsigned char *)MERGES[i], strlen(MERGES[i]), rank++);
    if (fclose(f) != 0) abort();
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!n_encs) init();
    if (size < 1) return 0;
    Tiktoken *t = encs[data[0] % n_encs];
    fuzz_check_tiktoken_roundtrip(t, (const char *)data + 1, size - 1, 0);
    fuzz_check_tiktoken_roundtrip(t, (const char *)data + 1, size - 1, 1);
    return 0;
}
