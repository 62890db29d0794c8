// fuzz/sp_tokenizer.c — llama2.c's tokenizer.bin and its encoder (data/sp_tokenizer.c).
//
// Input: tokenizer.bin, FUZZ_SEP, then a prompt (any bytes up to the first NUL: sp_encode takes
// a C string, as run.c's encode does).
// Promise: a one-line error, or a vocabulary in which every id decodes, and an encoding of the
// prompt that fits the documented strlen + 3 ids and names only ids inside the vocabulary.
#include "fuzz/fuzz.h"
#include "data/sp_tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *parts[2];
    size_t lens[2];
    fuzz_split(data, size, parts, lens, 2);
    const char *path = fuzz_write("tokenizer.bin", parts[0], lens[0]);
    SpTokenizer t;
    char err[1024] = "";
    if (sp_load(&t, path, err, sizeof err) != 0) { fuzz_check_message(err); return 0; }
    FUZZ_CHECK(t.vocab_size >= 259, "vocab %d", t.vocab_size);
    size_t len;
    for (int id = 0; id < t.vocab_size; id++) {
        const char *b = sp_decode(&t, id == 0 ? SP_BOS : id - 1, id, &len);
        volatile char c = len ? b[0] + b[len - 1] : 0;
        (void)c;
    }
    char *text = strndup(parts[1] ? (const char *)parts[1] : "", lens[1]);
    size_t tl = strlen(text);
    int *ids = malloc((tl + 3) * sizeof(int));
    for (int bos = 0; bos <= 1; bos++) {
        int n = sp_encode(&t, text, bos, 1, ids);
        FUZZ_CHECK(n >= 1 && (size_t)n <= tl + 3, "%d ids for %zu bytes", n, tl);
        for (int i = 0; i < n; i++) {
            FUZZ_CHECK(ids[i] >= 0 && ids[i] < t.vocab_size, "id %d outside [0, %d)", ids[i], t.vocab_size);
            const char *b = sp_decode(&t, i ? ids[i - 1] : SP_BOS, ids[i], &len);
            volatile char c = len ? b[0] + b[len - 1] : 0;
            (void)c;
        }
    }
    free(ids);
    free(text);
    sp_free(&t);
    return 0;
}
