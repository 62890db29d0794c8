// data/hf_vocab.c — see hf_vocab.h.
#include "data/hf_vocab.h"
#include "data/tiktoken.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "util/errors.h"
#include "util/json_file.h"

// GPT-2's bytes_to_unicode, inverted: printable bytes stand for themselves; the others, in byte
// order, are U+0100, U+0101, ...
int hf_bytelevel_byte(unsigned cp) {
    static int table[324];
    static int ready;
    if (!ready) {   // (a race here writes the same values twice: harmless)
        for (int i = 0; i < 324; i++) table[i] = -1;
        int next = 256;
        for (int b = 0; b < 256; b++) {
            int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            table[printable ? b : next++] = b;
        }
        ready = 1;
    }
    return cp < 324 ? table[cp] : -1;
}

unsigned hf_utf8_next(const unsigned char *s, size_t *i) {
    unsigned c = s[(*i)++];
    int more = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
    c &= more == 3 ? 0x07 : more == 2 ? 0x0F : more == 1 ? 0x1F : 0x7F;
    while (more-- > 0 && s[*i]) c = (c << 6) | (s[(*i)++] & 0x3F);
    return c;
}


long hf_bytelevel_write_ranks(const char *json_path, FILE *out, char *err, size_t errlen) {
    cJSON *root = read_json_object(json_path, err, errlen);
    if (!root) return -1;
    long n = -1;
    const char **by_id = NULL;
    unsigned char *bytes = NULL;
    cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    cJSON *type = cJSON_GetObjectItemCaseSensitive(model, "type");
    cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    if (!cJSON_IsString(type) || strcmp(type->valuestring, "BPE") != 0) {
        fail(err, errlen, "%s: model.type is not \"BPE\"", json_path);
        goto done;
    }
    if (!cJSON_IsObject(vocab)) { fail(err, errlen, "%s: model.vocab is not an object", json_path); goto done; }
    long count = cJSON_GetArraySize(vocab);
    by_id = calloc(count ? count : 1, sizeof *by_id);
    size_t maxlen = 1;
    if (!by_id) { fail(err, errlen, "%s: out of memory", json_path); goto done; }
    for (cJSON *e = vocab->child; e; e = e->next) {
        double id = cJSON_IsNumber(e) ? e->valuedouble : -1;
        if (!(id >= 0 && id < count) || id != (long)id || by_id[(long)id]) {
            fail(err, errlen, "%s: model.vocab: ids are not 0..%ld, each once (\"%s\")", json_path, count - 1, e->string);
            goto done;
        }
        by_id[(long)id] = e->string;
        size_t l = strlen(e->string);
        if (l > maxlen) maxlen = l;
    }
    bytes = malloc(maxlen);
    if (!bytes) { fail(err, errlen, "%s: out of memory", json_path); goto done; }
    // pass 0 checks every token, pass 1 writes: a vocabulary that is not byte-level writes nothing
    for (int pass = 0; pass < 2; pass++)
    for (long id = 0; id < count; id++) {
        const unsigned char *s = (const unsigned char *)by_id[id];
        size_t i = 0, nb = 0;
        while (s[i]) {
            int b = hf_bytelevel_byte(hf_utf8_next(s, &i));
            if (b < 0) {
                fail(err, errlen, "%s: token %ld is not byte-level (not a GPT-2 / Llama 3 style vocabulary)", json_path, id);
                goto done;
            }
            bytes[nb++] = (unsigned char)b;
        }
        if (nb == 0) { fail(err, errlen, "%s: token %ld is empty", json_path, id); goto done; }
        if (pass == 1) {
            tiktoken_write_rank(out, bytes, nb, id);
        }
    }
    if (ferror(out)) { fail(err, errlen, "write error"); goto done; }
    n = count;
done:
    free(bytes);
    free(by_id);
    cJSON_Delete(root);
    return n;
}
