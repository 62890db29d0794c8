// data/hf_tokenizer.c — encode and decode with a Hugging Face tokenizer.json's BPE (see
// hf_tokenizer.h; data/hf_tokenizer_json.c reads the file). The steps follow HF tokenizers
// (tokenizers/src):
//
//   encode          added tokens cut the text; normalize; pre-tokenize; BPE per word
//   bpe_word        models/bpe/word.rs's merge_all: a heap of (rank, position) over a linked list
//   decode          the decoder steps over the tokens' strings (decoders/*.rs)
#include "data/hf_tokenizer_internal.h"

#include <stdio.h>
#include <stdlib.h>

#include "util/errors.h"
#include "data/merge_heap.h"
#include "util/utf8.h"

// ---------------------------------------------------------------------------------------------
// Encoding.

typedef struct {
    const HfTokenizer *t;
    int *ids;            // stb_ds: the output
    int *sym, *prev, *next;  // stb_ds: one word's symbols (sym -1: merged away)
    HeapItem *heap;      // stb_ds
    char *norm, *norm2;  // stb_ds: normalized text
    size_t *pieces;      // stb_ds: (start, length) pairs into the pre-tokenized text
    size_t *pieces2;
    char *pbuf;          // stb_ds: text with prefix spaces (ByteLevel add_prefix_space)
    const char *base;    // what the pieces point into
    BytesMap cache;      // short words already merged in this call -> index into cache_at
    int *cache_at, *cache_ids;  // stb_ds: per cached word, where its ids start (and end: the next)
    char err[300];
} Enc;

#define CACHE_MAX_LEN 32  // words up to this many bytes are remembered (most words of a text)

static inline int merge_of(const HfTokenizer *t, int a, int b, MergeVal *mv) {
    const MergeTable *m = &t->merges;
    if (!m->key) return 0;
    uint64_t key = (uint64_t)a << 32 | (uint32_t)b;
    for (size_t i = pair_slot(m, key); m->key[i] != NO_PAIR; i = (i + 1) & m->mask)
        if (m->key[i] == key) { *mv = m->val[i]; return 1; }
    return 0;
}

// HF's merge_all: a queue of (rank, left position, merged id); a popped entry is acted on only
// if its left symbol is alive, has a right neighbour, and that pair still merges into the same
// id (word.rs compares the merged id, not the rank). The merged symbol keeps the left position.
static void bpe_word(Enc *c, const unsigned char *w, size_t n) {
    const HfTokenizer *t = c->t;
    if (t->ignore_merges) {
        int id = bytes_map_get(&t->vocab, w, n);
        if (id >= 0) { arrput(c->ids, id); return; }
    }
    if (n <= CACHE_MAX_LEN) {
        int k = bytes_map_get(&c->cache, w, n);
        if (k >= 0) {
            int a = c->cache_at[k], b = k + 1 < arrlen(c->cache_at) ? c->cache_at[k + 1] : (int)arrlen(c->cache_ids);
            memcpy(arraddnptr(c->ids, b - a), c->cache_ids + a, (size_t)(b - a) * sizeof(int));
            return;
        }
    }
    size_t first = arrlenu(c->ids);
    arrsetlen(c->sym, 0);
    int unk = -1;  // a pending unknown symbol (fuse_unk joins a run of them into one)
    for (size_t i = 0; i < n;) {
        size_t l = 1, bad;
        int id;
        if (t->byte_level) id = t->single[w[i]];
        else {
            if (w[i] < 128) id = t->ascii[w[i]];
            else {
                l = utf8_char_len(w + i, n - i, &bad);
                if (!l) l = bad;  // (the text was checked; cannot happen)
                id = bytes_map_get(&t->vocab, w + i, l);
            }
        }
        if (id >= 0) {
            if (unk >= 0) { arrput(c->sym, unk); unk = -1; }
            arrput(c->sym, id);
        } else {
            int all = t->byte_fallback;
            for (size_t k = 0; all && k < l; k++) all = t->byte_tok[w[i + k]] >= 0;
            if (all) {
                for (size_t k = 0; k < l; k++) arrput(c->sym, t->byte_tok[w[i + k]]);
            } else if (t->unk_id >= 0) {
                if (unk >= 0 && !t->fuse_unk) arrput(c->sym, unk);
                unk = t->unk_id;
            }  // no unk token: the character is dropped, as in HF
        }
        i += l;
    }
    if (unk >= 0) arrput(c->sym, unk);
    int ns = (int)arrlen(c->sym);
    arrsetlen(c->prev, ns);
    arrsetlen(c->next, ns);
    arrsetlen(c->heap, 0);
    size_t nh = 0;
    int *sym = c->sym, *prev = c->prev, *next = c->next;
    MergeVal mv;
    for (int i = 0; i < ns; i++) {
        prev[i] = i - 1;
        next[i] = i + 1 < ns ? i + 1 : -1;
    }
    arrsetcap(c->heap, 3 * (size_t)ns + 4);  // ns initial pairs + at most 2 per merge
    HeapItem *heap = c->heap;
    for (int i = 0; i + 1 < ns; i++)
        if (merge_of(t, sym[i], sym[i + 1], &mv)) heap_push(heap, &nh, (HeapItem){mv.rank, i, mv.id});
    while (nh > 0) {
        HeapItem top = heap_pop(heap, &nh);
        int p = top.part;
        if (sym[p] < 0 || next[p] < 0) continue;
        int r = next[p];
        if (!merge_of(t, sym[p], sym[r], &mv) || mv.id != top.aux) continue;
        sym[p] = top.aux;
        sym[r] = -1;
        next[p] = next[r];
        if (next[r] >= 0) prev[next[r]] = p;
        if (prev[p] >= 0 && merge_of(t, sym[prev[p]], sym[p], &mv))
            heap_push(heap, &nh, (HeapItem){mv.rank, prev[p], mv.id});
        if (next[p] >= 0 && merge_of(t, sym[p], sym[next[p]], &mv))
            heap_push(heap, &nh, (HeapItem){mv.rank, p, mv.id});
    }
    for (int i = ns ? 0 : -1; i >= 0; i = next[i]) arrput(c->ids, sym[i]);
    if (n <= CACHE_MAX_LEN && bytes_map_put(&c->cache, w, n, (int)arrlen(c->cache_at)) >= 0) {
        arrput(c->cache_at, (int)arrlen(c->cache_ids));
        size_t m = arrlenu(c->ids) - first;
        if (m) memcpy(arraddnptr(c->cache_ids, m), c->ids + first, m * sizeof(int));
    }
}

static int collect_piece(const unsigned char *p, size_t n, void *ctx) {
    Enc *c = ctx;
    arrput(c->pieces2, (size_t)((const char *)p - c->base));
    arrput(c->pieces2, n);
    return 0;
}

// s[0..n): normalized, then pre-tokenized, then each word through BPE.
static int encode_stretch(Enc *c, const char *s, size_t n) {
    const HfTokenizer *t = c->t;
    if (n == 0) return 0;
    for (int k = 0; k < arrlen(t->norm); k++) {
        const NormStep *st = &t->norm[k];
        arrsetlen(c->norm2, 0);
        if (st->kind == NORM_PREPEND) {
            if (n) memcpy(arraddnptr(c->norm2, st->rep.to_len), st->rep.to, st->rep.to_len);
            memcpy(arraddnptr(c->norm2, n), s, n);
        } else {
            put_replaced(&c->norm2, s, n, &st->rep);
        }
        char *x = c->norm; c->norm = c->norm2; c->norm2 = x;
        s = c->norm;
        n = arrlenu(c->norm);
    }
    arrsetlen(c->pieces, 0);
    arrput(c->pieces, 0);
    arrput(c->pieces, n);
    c->base = s;
    for (int k = 0; k < arrlen(t->pre); k++) {
        const PreStep *st = &t->pre[k];
        if (st->kind == PRE_BYTELEVEL && st->add_prefix_space) {
            // every piece not starting with a space gets one
            arrsetlen(c->pbuf, 0);
            arrsetlen(c->pieces2, 0);
            for (size_t j = 0; j < arrlenu(c->pieces); j += 2) {
                size_t a = c->pieces[j], l = c->pieces[j + 1];
                arrput(c->pieces2, arrlenu(c->pbuf));
                if (c->base[a] != ' ') { arrput(c->pbuf, ' '); l++; }
                memcpy(arraddnptr(c->pbuf, c->pieces[j + 1]), c->base + a, c->pieces[j + 1]);
                arrput(c->pieces2, l);
            }
            size_t *x = c->pieces; c->pieces = c->pieces2; c->pieces2 = x;
            c->base = c->pbuf;
        }
        if (!st->sp) continue;
        arrsetlen(c->pieces2, 0);
        for (size_t j = 0; j < arrlenu(c->pieces); j += 2)
            if (tiktoken_splitter_run(st->sp, c->base + c->pieces[j], c->pieces[j + 1], collect_piece, c, c->err,
                                      sizeof c->err) != 0)
                return -1;
        size_t *x = c->pieces; c->pieces = c->pieces2; c->pieces2 = x;
    }
    for (size_t j = 0; j < arrlenu(c->pieces); j += 2) {
        const unsigned char *w = (const unsigned char *)c->base + c->pieces[j];
        size_t n = c->pieces[j + 1], a = 0;
        if (t->cut_at_marker)  // before each "▁" that follows another character
            for (size_t p = 3; p + 3 <= n; p++)
                if (memcmp(w + p, MARKER, 3) == 0 && memcmp(w + p - 3, MARKER, 3) != 0) {
                    bpe_word(c, w + a, p - a);
                    a = p;
                    p += 2;
                }
        bpe_word(c, w + a, n - a);
    }
    return 0;
}

int *hf_tokenizer_encode(const HfTokenizer *t, const char *text, size_t len, int special, size_t *n_out,
                         char *err, size_t errlen) {
    if (!utf8_valid(text, len)) return fail_null(err, errlen, "the text is not valid UTF-8");
    Enc c = {.t = t};
    const unsigned char *u = (const unsigned char *)text;
    size_t pos = 0;
    int rc = 0;
    // Added tokens, leftmost first and longest at one place (HF's LeftmostLongest matcher over
    // all of them); a special one that is not wanted keeps its text in the stretch around it.
    for (size_t i = 0; i < len && rc == 0;) {
        int k = -1;
        size_t l = 0;
        if (t->first_byte[u[i]])
            for (int j = 0; j < arrlen(t->added_lens) && k < 0; j++) {
                l = (size_t)t->added_lens[j];
                if (i + l <= len) k = bytes_map_get(&t->added, text + i, l);
            }
        if (k < 0) { i++; continue; }
        if (t->added_special[k] && !special) { i += l; continue; }
        rc = encode_stretch(&c, text + pos, i - pos);
        arrput(c.ids, t->added_id[k]);
        pos = i = i + l;
    }
    if (rc == 0) rc = encode_stretch(&c, text + pos, len - pos);
    int *out = NULL;
    size_t n = arrlenu(c.ids);
    if (rc == 0) {
        out = malloc((n ? n : 1) * sizeof *out);
        if (out && n) memcpy(out, c.ids, n * sizeof *out);
        if (!out) fail(err, errlen, "out of memory");
    } else {
        fail(err, errlen, "%s", c.err);
    }
    arrfree(c.ids); arrfree(c.sym); arrfree(c.prev); arrfree(c.next); arrfree(c.heap);
    arrfree(c.norm); arrfree(c.norm2); arrfree(c.pieces); arrfree(c.pieces2); arrfree(c.pbuf);
    bytes_map_free(&c.cache); arrfree(c.cache_at); arrfree(c.cache_ids);
    *n_out = out ? n : 0;
    return out;
}

// ---------------------------------------------------------------------------------------------
// Decoding: the decoder steps over a list of strings (each an stb_ds char array).

typedef char *Str;

static void put_str(Str *s, const void *p, size_t n) {
    if (n) memcpy(arraddnptr(*s, n), p, n);
}

// Rust's String::from_utf8_lossy: each invalid stretch (a lead byte and the continuation bytes
// that still fit it, or one stray byte) becomes U+FFFD.
static void put_lossy(Str *s, const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n;) {
        size_t bad, l = utf8_char_len(p + i, n - i, &bad);
        if (l) { put_str(s, p + i, l); i += l; }
        else { put_str(s, "\xEF\xBF\xBD", 3); i += bad; }
    }
}

static Str *dec_step(const DecStep *d, Str *in) {
    Str *out = NULL;
    size_t n = arrlenu(in);
    if (d->kind == DEC_FUSE || d->kind == DEC_BYTELEVEL) {
        Str joined = NULL;
        for (size_t i = 0; i < n; i++) {
            unsigned char *b = NULL;
            size_t m = arrlenu(in[i]);
            arrput(in[i], 0);  // NUL for hf_utf8_next
            // ByteLevel: a token whose characters are all stand-ins becomes their bytes, any
            // other keeps its UTF-8; then the whole lossy
            if (d->kind == DEC_BYTELEVEL && encode_form(1, in[i], &b) == 0)
                put_str(&joined, b, arrlenu(b));
            else put_str(&joined, in[i], m);
            arrfree(b);
        }
        if (d->kind == DEC_BYTELEVEL) {
            Str l = NULL;
            put_lossy(&l, (const unsigned char *)joined, arrlenu(joined));
            arrfree(joined);
            joined = l;
        }
        arrput(out, joined);
    } else if (d->kind == DEC_REPLACE) {
        for (size_t i = 0; i < n; i++) {
            Str r = NULL;
            put_replaced(&r, in[i], arrlenu(in[i]), &d->rep);
            arrput(out, r);
        }
    } else if (d->kind == DEC_BYTEFALLBACK) {
        // runs of <0xNN> tokens become their bytes if those are valid UTF-8, else one U+FFFD per token
        unsigned char *run = NULL;
        for (size_t i = 0; i <= n; i++) {
            int v = i < n ? byte_token(in[i], arrlenu(in[i])) : -1;
            if (v >= 0) { arrput(run, (unsigned char)v); continue; }
            if (arrlenu(run)) {
                Str r = NULL;
                if (utf8_valid((const char *)run, arrlenu(run))) put_str(&r, run, arrlenu(run));
                else for (size_t k = 0; k < arrlenu(run); k++) put_str(&r, "\xEF\xBF\xBD", 3);
                arrput(out, r);
                arrsetlen(run, 0);
            }
            if (i < n) { Str r = NULL; put_str(&r, in[i], arrlenu(in[i])); arrput(out, r); }
        }
        arrfree(run);
    } else {  // DEC_STRIP: up to start leading and stop trailing copies of the character, per token
        for (size_t i = 0; i < n; i++) {
            const char *s = in[i];
            size_t a = 0, b = arrlenu(in[i]), L = d->strip_len;
            for (int k = 0; k < d->start && a + L <= b && memcmp(s + a, d->strip, L) == 0; k++) a += L;
            for (int k = 0; k < d->stop && b >= a + L && memcmp(s + b - L, d->strip, L) == 0; k++) b -= L;
            Str r = NULL;
            put_str(&r, s + a, b - a);
            arrput(out, r);
        }
    }
    for (size_t i = 0; i < n; i++) arrfree(in[i]);
    arrfree(in);
    return out;
}

char *hf_tokenizer_decode(const HfTokenizer *t, const int *ids, size_t n, int skip_special, size_t *len,
                          char *err, size_t errlen) {
    Str *list = NULL;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= t->vocab_size || !t->str[ids[i]]) {
            for (size_t k = 0; k < arrlenu(list); k++) arrfree(list[k]);
            arrfree(list);
            return fail_null(err, errlen, "id %d is not a token (vocabulary size %d)", ids[i], t->vocab_size);
        }
        if (skip_special && t->special[ids[i]]) continue;
        Str s = NULL;
        put_str(&s, t->str[ids[i]], strlen(t->str[ids[i]]));
        arrput(list, s);
    }
    if (t->has_decoder) {
        for (int k = 0; k < arrlen(t->dec); k++) list = dec_step(&t->dec[k], list);
    } else {  // no decoder: HF joins the tokens with spaces
        Str j = NULL;
        for (size_t i = 0; i < arrlenu(list); i++) {
            if (i) arrput(j, ' ');
            put_str(&j, list[i], arrlenu(list[i]));
            arrfree(list[i]);
        }
        arrfree(list);
        list = NULL;
        arrput(list, j);
    }
    size_t total = 0;
    for (size_t i = 0; i < arrlenu(list); i++) total += arrlenu(list[i]);
    char *out = malloc(total + 1);
    size_t o = 0;
    for (size_t i = 0; i < arrlenu(list); i++) {
        if (out && arrlenu(list[i])) memcpy(out + o, list[i], arrlenu(list[i]));
        o += arrlenu(list[i]);
        arrfree(list[i]);
    }
    arrfree(list);
    if (!out) return fail_null(err, errlen, "out of memory");
    out[total] = 0;
    if (len) *len = total;
    return out;
}
