// fuzz/hf_tokenizer.c — Hugging Face tokenizer.json (data/hf_tokenizer.c) and its encoder and
// decoder.
//
// Input: tokenizer.json, FUZZ_SEP, then a text (any bytes).
// Promise: a one-line error, or a tokenizer whose every id is a token or absent; the text (and a
// fixed one) encodes when it is valid UTF-8 and is refused with a message when not; every id
// encode gives is a token; HF's decode of those ids, with and without specials, is valid UTF-8.
#include "fuzz/fuzz.h"
#include "data/hf_tokenizer.h"
#include "util/utf8.h"

static void check_text(const HfTokenizer *t, const char *text, size_t len) {
    char err[512] = "";
    for (int special = 0; special < 2; special++) {
        size_t n = 0;
        int *ids = hf_tokenizer_encode(t, text, len, special, &n, err, sizeof err);
        if (!utf8_valid(text, len)) {
            FUZZ_CHECK(!ids, "invalid UTF-8 encoded");
            fuzz_check_message(err);
            return;
        }
        FUZZ_CHECK(ids != NULL, "encode failed: %s", err);
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(hf_tokenizer_token_bytes(t, ids[i], NULL), "id %d is no token", ids[i]);
        for (int skip = 0; skip < 2; skip++) {
            size_t dl = 0;
            char *s = hf_tokenizer_decode(t, ids, n, skip, &dl, err, sizeof err);
            FUZZ_CHECK(s != NULL, "decode of encode's ids failed: %s", err);
            FUZZ_CHECK(utf8_valid(s, dl), "decode is not valid UTF-8");
            free(s);
        }
        free(ids);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *parts[2];
    size_t lens[2];
    fuzz_split(data, size, parts, lens, 2);
    const char *path = fuzz_write("tokenizer.json", parts[0], lens[0]);
    char err[1024] = "";
    HfTokenizer *t = hf_tokenizer_load(path, err, sizeof err);
    if (!t) { fuzz_check_message(err); return 0; }
    int V = hf_tokenizer_vocab_size(t);
    FUZZ_CHECK(V >= 1, "vocab %d", V);
    for (int id = 0; id < V; id++) {
        size_t len;
        const char *b = hf_tokenizer_token_bytes(t, id, &len);
        if (b) { volatile char c = len ? b[0] + b[len - 1] : 0; (void)c; }
    }
    static const char fixed[] = "Hello, world! It's 2024 \xc3\xa9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac <s></s>  \n\r\n x";
    check_text(t, fixed, sizeof fixed - 1);
    if (parts[1]) check_text(t, (const char *)parts[1], lens[1]);
    hf_tokenizer_free(t);
    return 0;
}
