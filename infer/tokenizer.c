// infer/tokenizer.c — see tokenizer.h.
#include "infer/tokenizer.h"
#include "util/errors.h"
#include "util/files.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int is_base64(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

int tokenizer_open(Tokenizer *t, const char *path, const char *pattern, char *err, size_t errlen) {
    memset(t, 0, sizeof *t);
    const char *why;
    FILE *f = fopen_regular(path, &why);
    if (!f) return fail(err, errlen, "%s: cannot open: %s", path, why);
    unsigned char head[4] = {0};
    size_t got = fread(head, 1, 4, f);
    fclose(f);
    if (got < 4) return fail(err, errlen, "%s: too short to be a tokenizer", path);
    if (is_base64(head[0])) {
        t->kind = TOKENIZER_TIKTOKEN;
        t->tt = tiktoken_load(path, pattern && *pattern ? pattern : NULL, err, errlen);
        if (!t->tt) return -1;
        t->vocab_size = tiktoken_vocab_size(t->tt);
        return 0;
    }
    // A SentencePiece ModelProto starts with field 1 (pieces), wire type 2: 0x0A, then a
    // nonzero length; a tokenizer.bin starts with a small little-endian u32.
    if (head[0] == 0x0A && (head[1] | head[2] | head[3]) != 0)
        return fail(err, errlen, "%s: a SentencePiece protobuf model (Llama 2 style) is not supported; "
                    "use llama2.c's tokenizer.bin or --prompt-ids", path);
    t->kind = TOKENIZER_SP;
    if (sp_load(&t->sp, path, err, errlen) != 0) return -1;
    t->vocab_size = t->sp.vocab_size;
    return 0;
}

void tokenizer_close(Tokenizer *t) {
    if (t->kind == TOKENIZER_TIKTOKEN) tiktoken_free(t->tt);
    else sp_free(&t->sp);
    memset(t, 0, sizeof *t);
}

int *tokenizer_encode(Tokenizer *t, const char *text, int *n, char *err, size_t errlen) {
    size_t len = strlen(text);
    if (!utf8_valid(text, len)) { fail(err, errlen, "prompt is not valid UTF-8"); return NULL; }
    if (t->kind == TOKENIZER_TIKTOKEN) {
        size_t count;
        int *ids = tiktoken_encode_ordinary(t->tt, text, len, &count);
        if (!ids) { fail(err, errlen, "tokenizer: %s", tiktoken_error(t->tt)); return NULL; }
        *n = (int)count;
        return ids;
    }
    int *ids = malloc((len + 3) * sizeof(int));
    *n = sp_encode(&t->sp, text, 0, 0, ids);
    return ids;
}

const char *tokenizer_token_bytes(Tokenizer *t, int prev, int id, size_t *len) {
    if (id < 0 || id >= t->vocab_size) return NULL;
    if (t->kind == TOKENIZER_TIKTOKEN) return tiktoken_token_bytes(t->tt, id, len);
    return sp_decode(&t->sp, prev, id, len);
}

int tokenizer_special(Tokenizer *t, const char *name) {
    if (t->kind == TOKENIZER_TIKTOKEN) return tiktoken_special_id(t->tt, name);
    return -1;
}

int utf8_valid(const char *str, size_t n) {
    const unsigned char *s = (const unsigned char *)str;
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        int len;
        unsigned cp, min;
        if (c < 0x80) { i++; continue; }
        else if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; min = 0x80; }
        else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; min = 0x800; }
        else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; min = 0x10000; }
        else return 0;
        if (i + len > n) return 0;
        for (int k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += len;
    }
    return 1;
}

// How many bytes a sequence starting with lead byte c has (0: c cannot start one).
static int utf8_seq_len(unsigned char c) {
    if (c >= 0xC2 && c <= 0xDF) return 2;
    if (c >= 0xE0 && c <= 0xEF) return 3;
    if (c >= 0xF0 && c <= 0xF4) return 4;
    return 0;
}

void utf8out_init(Utf8Out *o, FILE *f) {
    o->f = f;
    o->n_held = 0;
}

void utf8out_write(Utf8Out *o, const char *bytes, size_t n) {
    const unsigned char *b = (const unsigned char *)bytes;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = b[i];
        if (o->n_held) {
            if ((c & 0xC0) == 0x80) { // continues the held sequence
                o->held[o->n_held++] = c;
                if (o->n_held == utf8_seq_len(o->held[0])) {
                    fwrite(o->held, 1, o->n_held, o->f);
                    o->n_held = 0;
                }
                continue;
            }
            utf8out_flush(o); // cannot complete any more: pass it on as it is
        }
        if (utf8_seq_len(c)) o->held[o->n_held++] = c;
        else fputc(c, o->f); // ASCII, or a byte that starts nothing
    }
    fflush(o->f);
}

void utf8out_flush(Utf8Out *o) {
    if (o->n_held) fwrite(o->held, 1, o->n_held, o->f);
    o->n_held = 0;
    fflush(o->f);
}
