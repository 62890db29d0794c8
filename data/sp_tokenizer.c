// data/sp_tokenizer.c — see sp_tokenizer.h.
#include "data/sp_tokenizer.h"
#include "util/errors.h"
#include "util/files.h"
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stb/stb_ds.h>

int sp_load(SpTokenizer *t, const char *path, char *err, size_t errlen) {
    memset(t, 0, sizeof *t);
    const char *why;
    FILE *f = fopen_regular(path, &why);
    if (!f) return fail(err, errlen, "%s: cannot open: %s", path, why);
    uint32_t max_len;
    if (fread(&max_len, 4, 1, f) != 1 || max_len == 0 || max_len > 4096) {
        fclose(f);
        return fail(err, errlen, "%s: not a llama2.c tokenizer.bin (bad max_token_length)", path);
    }
    t->max_token_length = max_len;
    sh_new_strdup(t->lookup);
    for (;;) {
        float score;
        int32_t len;
        size_t got = fread(&score, 1, 4, f);
        if (got == 0 && feof(f)) break; // clean end after the last piece
        if (got != 4 || fread(&len, 4, 1, f) != 1) goto truncated;
        if (len < 0 || (uint32_t)len > max_len || !isfinite(score)) {
            fclose(f);
            sp_free(t);
            return fail(err, errlen, "%s: token %td: bad length %d or score (max_token_length %u)", path,
                        arrlen(t->vocab), len, max_len);
        }
        char *piece = malloc(len + 1);
        if (!piece) { fclose(f); sp_free(t); return fail(err, errlen, "%s: out of memory", path); }
        if (len && fread(piece, len, 1, f) != 1) { free(piece); goto truncated; }
        piece[len] = '\0';
        if (memchr(piece, '\0', len)) { // pieces are C strings in run.c
            free(piece);
            fclose(f);
            sp_free(t);
            return fail(err, errlen, "%s: token %td contains a NUL byte", path, arrlen(t->vocab));
        }
        int id = (int)arrlen(t->vocab);
        arrput(t->vocab, piece);
        arrput(t->scores, score);
        if (shgeti(t->lookup, piece) < 0) shput(t->lookup, piece, id); // first id wins, as bsearch over run.c's stable data
    }
    fclose(f);
    t->vocab_size = (int)arrlen(t->vocab);
    if (t->vocab_size < 259) {
        int n = t->vocab_size;
        sp_free(t);
        return fail(err, errlen, "%s: only %d tokens (need <unk>, <s>, </s> and 256 byte pieces)", path, n);
    }
    t->merge_buf = malloc(2 * max_len + 3);
    if (!t->merge_buf) { sp_free(t); return fail(err, errlen, "%s: out of memory", path); }
    for (int b = 0; b < 256; b++) t->bytes[b] = (char)b;
    return 0;
truncated:
    fclose(f);
    int n = (int)arrlen(t->vocab);
    sp_free(t);
    return fail(err, errlen, "%s: truncated inside token %d", path, n);
}

void sp_free(SpTokenizer *t) {
    for (ptrdiff_t i = 0; i < arrlen(t->vocab); i++) free(t->vocab[i]);
    arrfree(t->vocab);
    arrfree(t->scores);
    shfree(t->lookup);
    free(t->merge_buf);
    memset(t, 0, sizeof *t);
}

static int lookup(SpTokenizer *t, const char *s) {
    ptrdiff_t i = shgeti(t->lookup, s);
    return i < 0 ? -1 : t->lookup[i].value;
}

int sp_encode(SpTokenizer *t, const char *text, int bos, int eos, int *tokens) {
    int n = 0;
    if (bos) tokens[n++] = SP_BOS;
    // SentencePiece's add_dummy_prefix: the text is encoded as if it began with a space, so
    // "Hello" at the start becomes the same piece as " Hello" in the middle.
    if (text[0] != '\0') {
        int id = lookup(t, " ");
        if (id >= 0) tokens[n++] = id;
    }
    // One token per UTF-8 code point (a lead byte plus its continuation bytes 10xxxxxx),
    // or one byte token (id 3 + byte) per byte when the code point is not a piece.
    char cp[8];
    for (const unsigned char *c = (const unsigned char *)text; *c;) {
        int len = 1;
        while (len < 4 && (c[len] & 0xC0) == 0x80) len++;
        memcpy(cp, c, len);
        cp[len] = '\0';
        int id = lookup(t, cp);
        if (id >= 0) tokens[n++] = id;
        else for (int i = 0; i < len; i++) tokens[n++] = c[i] + 3;
        c += len;
    }
    // Merge the adjacent pair that makes the best-scoring piece, until none does.
    int start = bos ? 1 : 0;
    for (;;) {
        float best_score = -1e10f;
        int best_id = -1, best_i = -1;
        for (int i = start; i + 1 < n; i++) {
            size_t la = strlen(t->vocab[tokens[i]]), lb = strlen(t->vocab[tokens[i + 1]]);
            if (la + lb > 2 * t->max_token_length) continue; // cannot be a piece
            memcpy(t->merge_buf, t->vocab[tokens[i]], la);
            memcpy(t->merge_buf + la, t->vocab[tokens[i + 1]], lb + 1);
            int id = lookup(t, t->merge_buf);
            if (id >= 0 && t->scores[id] > best_score) {
                best_score = t->scores[id];
                best_id = id;
                best_i = i;
            }
        }
        if (best_i < 0) break;
        tokens[best_i] = best_id;
        memmove(tokens + best_i + 1, tokens + best_i + 2, (n - best_i - 2) * sizeof(int));
        n--;
    }
    if (eos) tokens[n++] = SP_EOS;
    return n;
}

const char *sp_decode(SpTokenizer *t, int prev_token, int token, size_t *len) {
    const char *piece = t->vocab[token];
    if (prev_token == SP_BOS && piece[0] == ' ') piece++;
    unsigned int b;
    char tail;
    // "<0xXX>" exactly: a raw byte
    if (strlen(piece) == 6 && sscanf(piece, "<0x%2X%c", &b, &tail) == 2 && tail == '>') {
        *len = 1;
        return &t->bytes[b & 0xff];
    }
    *len = strlen(piece);
    return piece;
}
