// data/hf_tokenizer.c — see hf_tokenizer.h. The steps follow HF tokenizers (tokenizers/src):
//
//   load            tokenizer.json -> vocabulary, merges (pair of ids -> rank, merged id), added
//                   tokens, normalizer / pre-tokenizer / decoder steps; anything else is refused
//   encode          added tokens cut the text; normalize; pre-tokenize; BPE per word
//   bpe_word        models/bpe/word.rs's merge_all: a heap of (rank, position) over a linked list
//   decode          the decoder steps over the tokens' strings (decoders/*.rs)
#include "data/hf_tokenizer.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define typeof __typeof__
#include <stb/stb_ds.h>

#include "data/bytes_map.h"
#include "util/errors.h"
#include "data/hf_vocab.h"
#include "data/merge_heap.h"
#include "util/read_file.h"
#include "data/tiktoken.h"
#include "util/utf8.h"

typedef struct { char *from, *to; size_t from_len, to_len; } Replace;

// Appends s[0..n) to *dst (stb_ds) with each occurrence of r->from, left to right and not
// overlapping, replaced by r->to (HF's Replace with a String pattern).
static void put_replaced(char **dst, const char *s, size_t n, const Replace *r) {
    for (size_t i = 0; i < n;) {
        const char *hit = memmem(s + i, n - i, r->from, r->from_len);
        size_t upto = hit ? (size_t)(hit - s) : n;
        if (upto > i) memcpy(arraddnptr(*dst, upto - i), s + i, upto - i);
        if (!hit) break;
        if (r->to_len) memcpy(arraddnptr(*dst, r->to_len), r->to, r->to_len);
        i = upto + r->from_len;
    }
}
typedef enum { NORM_PREPEND, NORM_REPLACE } NormKind;
typedef struct { NormKind kind; Replace rep; } NormStep;  // PREPEND: rep.to is the prefix
typedef enum { PRE_SPLIT, PRE_BYTELEVEL } PreKind;
typedef struct { PreKind kind; TiktokenSplitter *sp; int add_prefix_space; } PreStep;
typedef enum { DEC_BYTELEVEL, DEC_REPLACE, DEC_BYTEFALLBACK, DEC_FUSE, DEC_STRIP } DecKind;
typedef struct { DecKind kind; Replace rep; char strip[5]; size_t strip_len; int start, stop; } DecStep;
typedef struct { int rank, id; } MergeVal;
// The merges, (left id, right id) -> (rank, merged id), in an open-addressing table: a merge
// loop asks it 3 times per merge, and a multiplicative hash of the 64-bit pair with linear
// probing answers in about one cache miss (stb_ds's general maps took most of the time).
typedef struct { uint64_t *key; MergeVal *val; size_t mask, count; } MergeTable;
#define NO_PAIR UINT64_MAX

static inline size_t pair_slot(const MergeTable *m, uint64_t key) {
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & m->mask;
}
// Inserts or overwrites (a later duplicate merge wins, as in HF's HashMap). 0, or -1: no memory.
static int merge_put(MergeTable *m, uint64_t key, MergeVal v) {
    if (2 * (m->count + 1) > m->mask + 1 || !m->key) {  // keep the load under 1/2
        size_t cap = m->key ? 2 * (m->mask + 1) : 1024;
        MergeTable n = {malloc(cap * sizeof *n.key), malloc(cap * sizeof *n.val), cap - 1, 0};
        if (!n.key || !n.val) { free(n.key); free(n.val); return -1; }
        memset(n.key, 0xff, cap * sizeof *n.key);
        for (size_t i = 0; m->key && i <= m->mask; i++)
            if (m->key[i] != NO_PAIR) merge_put(&n, m->key[i], m->val[i]);
        free(m->key);
        free(m->val);
        *m = n;
    }
    size_t i = pair_slot(m, key);
    while (m->key[i] != NO_PAIR && m->key[i] != key) i = (i + 1) & m->mask;
    if (m->key[i] == NO_PAIR) m->count++;
    m->key[i] = key;
    m->val[i] = v;
    return 0;
}

// SentencePiece's word marker U+2581 "▁"
static const char MARKER[] = "\xE2\x96\x81";

struct HfTokenizer {
    int byte_level;          // vocabulary strings are bytes_to_unicode stand-ins
    int vocab_size;          // largest id + 1
    char **str;              // per id: its string as in the file (NULL: no token has this id)
    char **out;              // per id: what it prints as (hf_tokenizer_token_bytes)
    int *out_len;
    unsigned char *special;  // per id: 1 = a special added token
    BytesMap vocab;          // model.vocab: encode form (byte-level: the bytes) -> id
    BytesMap strings;        // every token's string as in the file -> id (added tokens win)
    MergeTable merges;       // (left id << 32 | right id) -> (rank, merged id)
    int ascii[128];          // SentencePiece-style: the id of each ASCII character (-1: none)
    int single[256];         // byte-level: the id of each one-byte token (-1: none)
    int byte_tok[256];       // byte_fallback: the id of <0xNN> (-1: none)
    int unk_id, fuse_unk, byte_fallback, ignore_merges;
    int cut_at_marker;       // words may be cut before "▁" (see hf_tokenizer_load)
    NormStep *norm;          // stb_ds arrays of steps, applied in order
    PreStep *pre;
    DecStep *dec;
    int has_decoder;
    BytesMap added;          // added token content -> index
    int *added_id;           // per index
    unsigned char *added_special;
    unsigned char first_byte[256];  // 1: some added token starts with this byte
    int *added_lens;         // the distinct content lengths, longest first
};

// ---------------------------------------------------------------------------------------------
// Loading.

static cJSON *item(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }
static const char *str_of(const cJSON *o, const char *k) {
    cJSON *v = item(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}
static int true_of(const cJSON *o, const char *k) { return cJSON_IsTrue(item(o, k)); }

// A vocabulary or merge string in encode form into *buf (stb_ds): byte-level strings become the
// bytes they stand for (-1 if a character is no stand-in); others stay UTF-8.
static int encode_form(int byte_level, const char *s, unsigned char **buf) {
    arrsetlen(*buf, 0);
    if (!byte_level) {
        size_t n = strlen(s);
        if (n) memcpy(arraddnptr(*buf, n), s, n);
        return 0;
    }
    size_t i = 0;
    const unsigned char *u = (const unsigned char *)s;
    while (u[i]) {
        int b = hf_bytelevel_byte(hf_utf8_next(u, &i));
        if (b < 0) return -1;
        arrput(*buf, (unsigned char)b);
    }
    return 0;
}

// ByteFallback's test (decoders/byte_fallback.rs): a 6-byte "<0x..>" whose two characters parse
// as a base-16 u8 (Rust's from_str_radix: hex digits, or '+' and one digit). -1 if not.
static int byte_token(const char *s, size_t n) {
    if (n != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>') return -1;
    int v = 0;
    for (int i = 3; i < 5; i++) {
        char ch = s[i];
        int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
        if (i == 3 && ch == '+') continue;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

// {"type": "Replace", "pattern": {"String": from}, "content": to}
static int parse_replace(const cJSON *o, Replace *r, const char *where, char *err, size_t errlen) {
    const char *from = str_of(item(o, "pattern"), "String"), *to = str_of(o, "content");
    if (!from || !to || !*from)
        return fail(err, errlen, "%s Replace: only a non-empty {\"String\": ...} pattern and a string content are supported", where);
    r->from = strdup(from);
    r->to = strdup(to);
    r->from_len = strlen(from);
    r->to_len = strlen(to);
    return r->from && r->to ? 0 : fail(err, errlen, "out of memory");
}

// steps: the object itself, or the list under key of a {"type": "Sequence"}.
static int for_steps(const cJSON *o, const char *key, int (*fn)(HfTokenizer *, const cJSON *, char *, size_t),
                     HfTokenizer *t, char *err, size_t errlen) {
    const char *type = str_of(o, "type");
    if (type && strcmp(type, "Sequence") == 0) {
        cJSON *list = item(o, key);
        if (!cJSON_IsArray(list)) return fail(err, errlen, "Sequence without a \"%s\" list", key);
        for (cJSON *s = list->child; s; s = s->next)
            if (for_steps(s, key, fn, t, err, errlen) != 0) return -1;
        return 0;
    }
    return fn(t, o, err, errlen);
}

static int add_norm(HfTokenizer *t, const cJSON *o, char *err, size_t errlen) {
    const char *type = str_of(o, "type");
    NormStep st = {0};
    if (type && strcmp(type, "Prepend") == 0) {
        const char *p = str_of(o, "prepend");
        if (!p) return fail(err, errlen, "normalizer Prepend without a \"prepend\" string");
        st.kind = NORM_PREPEND;
        st.rep.to = strdup(p);
        st.rep.to_len = strlen(p);
        if (!st.rep.to) return fail(err, errlen, "out of memory");
    } else if (type && strcmp(type, "Replace") == 0) {
        st.kind = NORM_REPLACE;
        if (parse_replace(o, &st.rep, "normalizer", err, errlen) != 0) return -1;
    } else {
        return fail(err, errlen, "normalizer \"%s\" is not supported (Prepend, Replace, Sequence are)", type ? type : "?");
    }
    arrput(t->norm, st);
    return 0;
}

static int add_pre(HfTokenizer *t, const cJSON *o, char *err, size_t errlen) {
    const char *type = str_of(o, "type");
    PreStep st = {0};
    char perr[300];
    if (type && strcmp(type, "Split") == 0) {
        const char *re = str_of(item(o, "pattern"), "Regex"), *behavior = str_of(o, "behavior");
        if (!re) return fail(err, errlen, "pre_tokenizer Split: only a {\"Regex\": ...} pattern is supported");
        if (!behavior || strcmp(behavior, "Isolated") != 0 || true_of(o, "invert"))
            return fail(err, errlen, "pre_tokenizer Split: only behavior \"Isolated\" without invert is supported");
        st.kind = PRE_SPLIT;
        st.sp = tiktoken_splitter_new_regex(re, perr, sizeof perr);
        if (!st.sp) return fail(err, errlen, "pre_tokenizer Split: %s", perr);
    } else if (type && strcmp(type, "ByteLevel") == 0) {
        st.kind = PRE_BYTELEVEL;
        st.add_prefix_space = true_of(o, "add_prefix_space");
        // use_regex (default true): GPT-2's split, the regex tiktoken.c calls "gpt2"
        cJSON *ur = item(o, "use_regex");
        if (!cJSON_IsFalse(ur)) {
            st.sp = tiktoken_splitter_new("gpt2", perr, sizeof perr);
            if (!st.sp) return fail(err, errlen, "pre_tokenizer ByteLevel: %s", perr);
        }
        t->byte_level = 1;
    } else {
        return fail(err, errlen, "pre_tokenizer \"%s\" is not supported (Split, ByteLevel, Sequence are)", type ? type : "?");
    }
    arrput(t->pre, st);
    return 0;
}

static int add_dec(HfTokenizer *t, const cJSON *o, char *err, size_t errlen) {
    const char *type = str_of(o, "type");
    DecStep st = {0};
    if (type && strcmp(type, "ByteLevel") == 0) st.kind = DEC_BYTELEVEL;
    else if (type && strcmp(type, "ByteFallback") == 0) st.kind = DEC_BYTEFALLBACK;
    else if (type && strcmp(type, "Fuse") == 0) st.kind = DEC_FUSE;
    else if (type && strcmp(type, "Replace") == 0) {
        st.kind = DEC_REPLACE;
        if (parse_replace(o, &st.rep, "decoder", err, errlen) != 0) return -1;
    } else if (type && strcmp(type, "Strip") == 0) {
        const char *c = str_of(o, "content");
        cJSON *a = item(o, "start"), *b = item(o, "stop");
        size_t i = 0;
        if (!c || !*c || (hf_utf8_next((const unsigned char *)c, &i), c[i]) || !cJSON_IsNumber(a) ||
            !cJSON_IsNumber(b) || a->valuedouble < 0 || b->valuedouble < 0 || a->valuedouble > 1e6 || b->valuedouble > 1e6)
            return fail(err, errlen, "decoder Strip: needs a one-character content and start, stop counts");
        st.kind = DEC_STRIP;
        memcpy(st.strip, c, i);
        st.strip_len = i;
        st.start = (int)a->valuedouble;
        st.stop = (int)b->valuedouble;
    } else {
        return fail(err, errlen, "decoder \"%s\" is not supported (ByteLevel, Replace, ByteFallback, Fuse, Strip, "
                    "Sequence are)", type ? type : "?");
    }
    arrput(t->dec, st);
    return 0;
}

static int set_token(HfTokenizer *t, int id, const char *s) {
    if (t->str[id]) free(t->str[id]);
    t->str[id] = strdup(s);
    return t->str[id] ? 0 : -1;
}

// What token id prints as: the decoder's per-token steps (ByteLevel's bytes, Replace,
// ByteFallback's byte), without the steps that join or trim the whole text.
static int make_out(HfTokenizer *t, int id) {
    char *s = strdup(t->str[id]);
    if (!s) return -1;
    size_t n = strlen(s);
    for (int k = 0; k < arrlen(t->dec); k++) {
        const DecStep *d = &t->dec[k];
        if (d->kind == DEC_BYTELEVEL) {
            unsigned char *b = NULL;
            if (encode_form(1, s, &b) == 0) {
                n = arrlenu(b);
                memcpy(s, b, n);  // never longer: each stand-in is 1-2 bytes of UTF-8
            }
            arrfree(b);
        } else if (d->kind == DEC_BYTEFALLBACK) {
            int v = byte_token(s, n);
            if (v >= 0) {
                s[0] = (char)v;
                n = 1;
            }
        } else if (d->kind == DEC_REPLACE) {
            char *r = NULL;
            put_replaced(&r, s, n, &d->rep);
            free(s);
            n = arrlenu(r);
            s = malloc(n + 1);
            if (s && n) memcpy(s, r, n);
            arrfree(r);
            if (!s) return -1;
        }
    }
    t->out[id] = s;
    t->out_len[id] = (int)n;
    return 0;
}

static int cmp_desc(const void *a, const void *b) { return *(const int *)b - *(const int *)a; }

#define MAX_ID (1 << 24)

HfTokenizer *hf_tokenizer_load(const char *path, char *err, size_t errlen) {
    size_t len;
    char *text = read_file_all(path, &len, err, errlen);
    if (!text) return NULL;
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    if (!root) return fail_null(err, errlen, "%s: malformed JSON", path);
    HfTokenizer *t = calloc(1, sizeof *t);
    unsigned char *buf = NULL, *buf2 = NULL;
    char e[400] = "";
    if (!t) { snprintf(e, sizeof e, "out of memory"); goto bad; }
    t->unk_id = -1;
    memset(t->single, 0xff, sizeof t->single);
    memset(t->byte_tok, 0xff, sizeof t->byte_tok);

    cJSON *model = item(root, "model");
    const char *type = str_of(model, "type");
    if (!cJSON_IsObject(model)) { snprintf(e, sizeof e, "no \"model\" object (not a tokenizer.json?)"); goto bad; }
    if (!type || strcmp(type, "BPE") != 0) {
        snprintf(e, sizeof e, "model.type \"%s\" is not supported (only \"BPE\")", type ? type : "(none)");
        goto bad;
    }
    cJSON *drop = item(model, "dropout");
    const char *csp = str_of(model, "continuing_subword_prefix"), *eow = str_of(model, "end_of_word_suffix");
    if ((cJSON_IsNumber(drop) && drop->valuedouble > 0) || (csp && *csp) || (eow && *eow)) {
        snprintf(e, sizeof e, "model: dropout, continuing_subword_prefix and end_of_word_suffix are not supported");
        goto bad;
    }
    t->fuse_unk = true_of(model, "fuse_unk");
    t->byte_fallback = true_of(model, "byte_fallback");
    t->ignore_merges = true_of(model, "ignore_merges");

    // the steps around the model (these decide byte_level)
    cJSON *o;
    if (cJSON_IsObject(o = item(root, "normalizer")) && for_steps(o, "normalizers", add_norm, t, e, sizeof e) != 0) goto bad;
    if (cJSON_IsObject(o = item(root, "pre_tokenizer")) && for_steps(o, "pretokenizers", add_pre, t, e, sizeof e) != 0) goto bad;
    if (cJSON_IsObject(o = item(root, "decoder"))) {
        t->has_decoder = 1;
        if (for_steps(o, "decoders", add_dec, t, e, sizeof e) != 0) goto bad;
    }

    // model.vocab: string -> id
    cJSON *vocab = item(model, "vocab");
    if (!cJSON_IsObject(vocab) || !vocab->child) { snprintf(e, sizeof e, "model.vocab is missing or empty"); goto bad; }
    int max_id = -1;
    for (cJSON *v = vocab->child; v; v = v->next) {
        double id = cJSON_IsNumber(v) ? v->valuedouble : -1;
        if (!(id >= 0 && id < MAX_ID) || id != (int)id) {
            snprintf(e, sizeof e, "model.vocab: \"%.40s\" has no id in [0, %d)", v->string, MAX_ID);
            goto bad;
        }
        if ((int)id > max_id) max_id = (int)id;
    }
    cJSON *added = item(root, "added_tokens");
    if (added && !cJSON_IsArray(added)) { snprintf(e, sizeof e, "added_tokens is not a list"); goto bad; }
    for (cJSON *a = added ? added->child : NULL; a; a = a->next) {
        cJSON *id = item(a, "id");
        if (!cJSON_IsNumber(id) || !(id->valuedouble >= 0 && id->valuedouble < MAX_ID) || !str_of(a, "content") ||
            !*str_of(a, "content")) {
            snprintf(e, sizeof e, "added_tokens: an entry without an id in [0, %d) and a content", MAX_ID);
            goto bad;
        }
        if ((int)id->valuedouble > max_id) max_id = (int)id->valuedouble;
    }
    t->vocab_size = max_id + 1;
    t->str = calloc(t->vocab_size, sizeof *t->str);
    t->out = calloc(t->vocab_size, sizeof *t->out);
    t->out_len = calloc(t->vocab_size, sizeof *t->out_len);
    t->special = calloc(t->vocab_size, 1);
    if (!t->str || !t->out || !t->out_len || !t->special) { snprintf(e, sizeof e, "out of memory"); goto bad; }
    for (cJSON *v = vocab->child; v; v = v->next) {
        int id = (int)v->valuedouble;
        if (t->str[id]) { snprintf(e, sizeof e, "model.vocab: id %d appears twice", id); goto bad; }
        if (encode_form(t->byte_level, v->string, &buf) != 0) {
            snprintf(e, sizeof e, "model.vocab: \"%.40s\" is not byte-level, but the pre_tokenizer is ByteLevel", v->string);
            goto bad;
        }
        if (arrlen(buf) == 0) { snprintf(e, sizeof e, "model.vocab: an empty token (id %d)", id); goto bad; }
        if (bytes_map_put(&t->vocab, buf, arrlenu(buf), id) < 0) {
            snprintf(e, sizeof e, "model.vocab: \"%.40s\" appears twice", v->string);
            goto bad;
        }
        if (set_token(t, id, v->string) != 0) { snprintf(e, sizeof e, "out of memory"); goto bad; }
        if (t->byte_level && arrlen(buf) == 1) t->single[buf[0]] = id;
    }
    for (int b = 0; b < 128; b++) {
        char ch = (char)b;
        t->ascii[b] = bytes_map_get(&t->vocab, &ch, 1);
    }
    if (t->byte_fallback)
        for (int b = 0; b < 256; b++) {
            char name[8];
            snprintf(name, sizeof name, "<0x%02X>", b);
            t->byte_tok[b] = bytes_map_get(&t->vocab, name, strlen(name));
        }
    const char *unk = str_of(model, "unk_token");
    if (unk) {
        t->unk_id = encode_form(t->byte_level, unk, &buf) == 0 ? bytes_map_get(&t->vocab, buf, arrlenu(buf)) : -1;
        if (t->unk_id < 0) { snprintf(e, sizeof e, "model.unk_token \"%.40s\" is not in model.vocab", unk); goto bad; }
    }

    // model.merges: "a b" or ["a", "b"]; rank = position in the list (a later duplicate wins, as
    // in HF's HashMap)
    cJSON *merges = item(model, "merges");
    if (!cJSON_IsArray(merges)) { snprintf(e, sizeof e, "model.merges is missing"); goto bad; }
    int rank = 0;
    for (cJSON *m = merges->child; m; m = m->next, rank++) {
        const char *a = NULL, *b = NULL;
        char *pair = NULL;
        if (cJSON_IsString(m)) {
            const char *sp = strchr(m->valuestring, ' ');
            if (sp && !strchr(sp + 1, ' ')) {
                pair = strdup(m->valuestring);
                if (!pair) { snprintf(e, sizeof e, "out of memory"); goto bad; }
                pair[sp - m->valuestring] = 0;
                a = pair;
                b = pair + (sp - m->valuestring) + 1;
            }
        } else if (cJSON_IsArray(m) && cJSON_GetArraySize(m) == 2 && cJSON_IsString(m->child) &&
                   cJSON_IsString(m->child->next)) {
            a = m->child->valuestring;
            b = m->child->next->valuestring;
        }
        int ia = -1, ib = -1, im = -1;
        if (a && encode_form(t->byte_level, a, &buf) == 0 && encode_form(t->byte_level, b, &buf2) == 0) {
            ia = bytes_map_get(&t->vocab, buf, arrlenu(buf));
            ib = bytes_map_get(&t->vocab, buf2, arrlenu(buf2));
            size_t na = arrlenu(buf), nb = arrlenu(buf2);
            if (nb) memcpy(arraddnptr(buf, nb), buf2, nb);
            im = bytes_map_get(&t->vocab, buf, na + nb);
        }
        if (!a) { snprintf(e, sizeof e, "model.merges[%d]: not \"a b\" or [\"a\", \"b\"]", rank); free(pair); goto bad; }
        if (ia < 0 || ib < 0 || im < 0) {
            snprintf(e, sizeof e, "model.merges[%d]: \"%.30s\" + \"%.30s\" %s", rank, a, b,
                     ia < 0 || ib < 0 ? "names a token not in model.vocab" : "merges into a token not in model.vocab");
            free(pair);
            goto bad;
        }
        free(pair);
        if (merge_put(&t->merges, (uint64_t)ia << 32 | (uint32_t)ib, (MergeVal){rank, im}) != 0) {
            snprintf(e, sizeof e, "out of memory");
            goto bad;
        }
    }

    // added tokens: matched in the text before anything else
    for (cJSON *a = added ? added->child : NULL; a; a = a->next) {
        const char *content = str_of(a, "content");
        int id = (int)item(a, "id")->valuedouble;
        if (true_of(a, "single_word") || true_of(a, "lstrip") || true_of(a, "rstrip")) {
            snprintf(e, sizeof e, "added token \"%.40s\": single_word, lstrip and rstrip are not supported", content);
            goto bad;
        }
        if (true_of(a, "normalized") && arrlen(t->norm) > 0) {
            snprintf(e, sizeof e, "added token \"%.40s\": \"normalized\": true with a normalizer is not supported", content);
            goto bad;
        }
        int k = arrlen(t->added_id);
        if (bytes_map_put(&t->added, content, strlen(content), k) < 0) {
            snprintf(e, sizeof e, "added_tokens: \"%.40s\" appears twice", content);
            goto bad;
        }
        arrput(t->added_id, id);
        arrput(t->added_special, (unsigned char)true_of(a, "special"));
        t->first_byte[(unsigned char)content[0]] = 1;
        int l = (int)strlen(content), seen = 0;
        for (int j = 0; j < arrlen(t->added_lens); j++) seen |= t->added_lens[j] == l;
        if (!seen) arrput(t->added_lens, l);
        if (set_token(t, id, content) != 0) { snprintf(e, sizeof e, "out of memory"); goto bad; }
        t->special[id] = (unsigned char)true_of(a, "special");
    }
    if (arrlen(t->added_lens)) qsort(t->added_lens, arrlen(t->added_lens), sizeof(int), cmp_desc);

    for (int id = 0; id < t->vocab_size; id++) {
        if (!t->str[id]) continue;
        if (bytes_map_get(&t->strings, t->str[id], strlen(t->str[id])) < 0)
            bytes_map_put(&t->strings, t->str[id], strlen(t->str[id]), id);
        if (make_out(t, id) != 0) { snprintf(e, sizeof e, "out of memory"); goto bad; }
    }
    // added tokens win a string that the vocabulary has too (HF looks them up first)
    for (int k = 0; k < arrlen(t->added_id); k++) {
        int i = bytes_map_find(&t->strings, t->str[t->added_id[k]], strlen(t->str[t->added_id[k]]));
        if (i >= 0) bytes_map_set_value(&t->strings, i, t->added_id[k]);
    }
    // A SentencePiece-style text is one word, merged as a whole. When "▁" is a token and no
    // token has "▁" after another character, no merge can join across the start of a "▁" run
    // (the merged token would contain "x▁"), so the word may be cut there and each part merged
    // alone: the same ids, in time linear in the number of parts instead of one heap over all.
    if (!t->byte_level && arrlen(t->pre) == 0 && bytes_map_get(&t->vocab, MARKER, 3) >= 0) {
        t->cut_at_marker = 1;
        for (cJSON *v = vocab->child; v && t->cut_at_marker; v = v->next)
            for (const char *m = strstr(v->string, MARKER); m && t->cut_at_marker; m = strstr(m + 3, MARKER))
                if (m > v->string && (m - v->string < 3 || memcmp(m - 3, MARKER, 3) != 0)) t->cut_at_marker = 0;
    }
    arrfree(buf);
    arrfree(buf2);
    cJSON_Delete(root);
    return t;
bad:
    arrfree(buf);
    arrfree(buf2);
    cJSON_Delete(root);
    hf_tokenizer_free(t);
    return fail_null(err, errlen, "%s: %s", path, e);
}

void hf_tokenizer_free(HfTokenizer *t) {
    if (!t) return;
    for (int i = 0; i < t->vocab_size; i++) {
        if (t->str) free(t->str[i]);
        if (t->out) free(t->out[i]);
    }
    free(t->str);
    free(t->out);
    free(t->out_len);
    free(t->special);
    bytes_map_free(&t->vocab);
    bytes_map_free(&t->strings);
    bytes_map_free(&t->added);
    free(t->merges.key);
    free(t->merges.val);
    for (int k = 0; k < arrlen(t->norm); k++) { free(t->norm[k].rep.from); free(t->norm[k].rep.to); }
    for (int k = 0; k < arrlen(t->pre); k++) tiktoken_splitter_free(t->pre[k].sp);
    for (int k = 0; k < arrlen(t->dec); k++) { free(t->dec[k].rep.from); free(t->dec[k].rep.to); }
    arrfree(t->norm);
    arrfree(t->pre);
    arrfree(t->dec);
    arrfree(t->added_id);
    arrfree(t->added_special);
    arrfree(t->added_lens);
    free(t);
}

int hf_tokenizer_vocab_size(const HfTokenizer *t) { return t->vocab_size; }
int hf_tokenizer_byte_level(const HfTokenizer *t) { return t->byte_level; }

const char *hf_tokenizer_token_bytes(const HfTokenizer *t, int id, size_t *len) {
    if (id < 0 || id >= t->vocab_size || !t->out[id]) return NULL;
    if (len) *len = (size_t)t->out_len[id];
    return t->out[id];
}

int hf_tokenizer_strips_lead_space(const HfTokenizer *t) {
    for (int k = 0; k < arrlen(t->dec); k++)
        if (t->dec[k].kind == DEC_STRIP && t->dec[k].start > 0 && t->dec[k].strip_len == 1 && t->dec[k].strip[0] == ' ')
            return 1;
    return 0;
}

int hf_tokenizer_token_id(const HfTokenizer *t, const char *s) {
    return bytes_map_get(&t->strings, s, strlen(s));
}

int hf_tokenizer_is_special(const HfTokenizer *t, int id) {
    return id >= 0 && id < t->vocab_size && t->special[id];
}

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
