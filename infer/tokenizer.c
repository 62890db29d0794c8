// infer/tokenizer.c — see tokenizer.h.
#include "infer/tokenizer.h"
#include "util/errors.h"
#include "util/files.h"
#include <errno.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

static int is_base64(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

int tokenizer_open(Tokenizer *t, const char *path, const char *pattern, char *err, size_t errlen) {
    memset(t, 0, sizeof *t);
    const char *why;
    FILE *f = fopen_regular(path, &why);
    if (!f && !strcmp(why, "not a regular file")) return fail(err, errlen, "%s: %s", path, why);
    if (!f) return fail(err, errlen, "%s: cannot open: %s", path, why);
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0 && sb.st_size == 0) { fclose(f); return fail(err, errlen, "%s: empty file", path); }
    unsigned char head[64] = {0};
    size_t got = fread(head, 1, sizeof head, f), i = 0;
    fclose(f);
    while (i < got && (head[i] == ' ' || head[i] == '\n' || head[i] == '\r' || head[i] == '\t')) i++;
    if (i < got && head[i] == '{') {
        t->kind = TOKENIZER_HF;
        t->hf = hf_tokenizer_load(path, err, errlen);
        if (!t->hf) return -1;
        t->vocab_size = hf_tokenizer_vocab_size(t->hf);
        return 0;
    }
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
    else if (t->kind == TOKENIZER_HF) hf_tokenizer_free(t->hf);
    else sp_free(&t->sp);
    memset(t, 0, sizeof *t);
}

int *tokenizer_encode(Tokenizer *t, const char *text, int *n, char *err, size_t errlen) {
    size_t len = strlen(text), count;
    if (!utf8_valid(text, len)) { fail(err, errlen, "prompt is not valid UTF-8"); return NULL; }
    int *ids = tokenizer_encode_text(t, text, len, 0, &count, err, errlen);
    if (ids) *n = (int)count;
    return ids;
}

int *tokenizer_encode_text(Tokenizer *t, const char *text, size_t len, int special, size_t *n, char *err,
                           size_t errlen) {
    if (t->kind == TOKENIZER_HF) return hf_tokenizer_encode(t->hf, text, len, special, n, err, errlen);
    if (t->kind == TOKENIZER_TIKTOKEN) {
        int *ids = special ? tiktoken_encode(t->tt, text, len, TIKTOKEN_ALL_SPECIAL, n)
                           : tiktoken_encode_ordinary(t->tt, text, len, n);
        if (!ids) fail(err, errlen, "tokenizer: %s", tiktoken_error(t->tt));
        return ids;
    }
    // sp_encode reads a C string
    char *copy = strndup(text, len);
    int *ids = copy ? malloc((strlen(copy) + 3) * sizeof(int)) : NULL;
    if (!ids) { free(copy); fail(err, errlen, "out of memory"); return NULL; }
    *n = (size_t)sp_encode(&t->sp, copy, 0, 0, ids);
    free(copy);
    return ids;
}

char *tokenizer_decode(Tokenizer *t, const int *ids, size_t n, size_t *len, char *err, size_t errlen) {
    if (t->kind == TOKENIZER_HF) return hf_tokenizer_decode(t->hf, ids, n, 0, len, err, errlen);
    char *out = NULL;
    if (t->kind == TOKENIZER_TIKTOKEN) {
        if (tiktoken_decode(t->tt, ids, n, &out, len) != 0)
            fail(err, errlen, "an id is not a token, or out of memory (vocabulary size %d)", t->vocab_size);
        return out;
    }
    size_t total = 0, cap = 64;
    out = malloc(cap);
    for (size_t i = 0; out && i < n; i++) {
        size_t l;
        const char *b = tokenizer_token_bytes(t, i ? ids[i - 1] : -1, ids[i], &l);
        if (!b) { free(out); return fail_null(err, errlen, "id %d is not a token (vocabulary size %d)", ids[i], t->vocab_size); }
        if (total + l + 1 > cap) {
            while (total + l + 1 > cap) cap *= 2;
            char *o2 = realloc(out, cap);
            if (!o2) { free(out); out = NULL; break; }
            out = o2;
        }
        memcpy(out + total, b, l);
        total += l;
    }
    if (!out) return fail_null(err, errlen, "out of memory");
    out[total] = 0;
    *len = total;
    return out;
}

const char *tokenizer_token_bytes(Tokenizer *t, int prev, int id, size_t *len) {
    if (id < 0 || id >= t->vocab_size) return NULL;
    if (t->kind == TOKENIZER_TIKTOKEN) return tiktoken_token_bytes(t->tt, id, len);
    if (t->kind == TOKENIZER_HF) {
        const char *b = hf_tokenizer_token_bytes(t->hf, id, len);
        // the decoder's Strip of SentencePiece's dummy prefix, at the start of a text
        if (b && *len && b[0] == ' ' && hf_tokenizer_strips_lead_space(t->hf) && (prev < 0 || hf_tokenizer_is_special(t->hf, prev))) {
            b++;
            (*len)--;
        }
        return b;
    }
    return sp_decode(&t->sp, prev, id, len);
}

int tokenizer_special(Tokenizer *t, const char *name) {
    if (t->kind == TOKENIZER_TIKTOKEN) return tiktoken_special_id(t->tt, name);
    if (t->kind == TOKENIZER_HF) {
        int id = hf_tokenizer_token_id(t->hf, name);
        return hf_tokenizer_is_special(t->hf, id) ? id : -1;
    }
    return strcmp(name, "<s>") == 0 ? SP_BOS : strcmp(name, "</s>") == 0 ? SP_EOS : -1;
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
