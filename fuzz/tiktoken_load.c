// fuzz/tiktoken_load.c — the tiktoken rank-file parser (data/tiktoken.c: tiktoken_load).
//
// Input: the rank file ("base64(token bytes) rank" per line). The first byte picks the split
// pattern (none = detect from the size, gpt2, cl100k, llama3), the rest is the file.
// Promise: either a one-line error, or an encoding where every id 0..vocab-1 that is a token
// has bytes, every single byte encodes, and a fixed text round-trips through encode/decode and
// the streaming decoder (fuzz/fuzz_tiktoken.h).
#include "fuzz/fuzz_tiktoken.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    static const char *patterns[] = {NULL, "gpt2", "cl100k", "llama3"};
    const char *pattern = patterns[data[0] % 4];
    const char *path = fuzz_write("ranks.tiktoken", data + 1, size - 1);
    char err[512] = "";
    Tiktoken *t = tiktoken_load(path, pattern, err, sizeof err);
    if (!t) { fuzz_check_message(err); return 0; }
    int V = tiktoken_vocab_size(t);
    FUZZ_CHECK(V >= 256 && V >= tiktoken_n_ranks(t), "vocab %d, ranks %d", V, tiktoken_n_ranks(t));
    for (int id = 0; id < V; id++) {
        size_t len;
        const char *b = tiktoken_token_bytes(t, id, &len);
        if (b) { volatile char c = len ? b[0] + b[len - 1] : 0; (void)c; }
    }
    for (int i = 0; i < tiktoken_n_special(t); i++) {
        int id;
        const char *name = tiktoken_special_name(t, i, &id);
        FUZZ_CHECK(name && id >= 0 && id < V && tiktoken_special_id(t, name) == id, "special %d", i);
    }
    unsigned char all[256];
    for (int b = 0; b < 256; b++) all[b] = (unsigned char)b;
    fuzz_check_tiktoken_roundtrip(t, (const char *)all, sizeof all, 1);
    static const char text[] = "Hello, world! It's 2024... \xc3\xa9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac <|endoftext|>\n\n  x";
    fuzz_check_tiktoken_roundtrip(t, text, sizeof text - 1, 1);
    tiktoken_free(t);
    return 0;
}
