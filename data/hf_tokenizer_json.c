// data/hf_tokenizer_json.c — reading a Hugging Face tokenizer.json (hf_tokenizer.h) into an
// HfTokenizer (data/hf_tokenizer_internal.h): the vocabulary, the merges (pair of ids -> rank,
// merged id), the added tokens, and the normalizer / pre-tokenizer / decoder steps, as HF
// tokenizers (tokenizers/src) reads them; anything else is refused with a one-line message.
// Encode and decode are in data/hf_tokenizer.c.
#include "data/hf_tokenizer_internal.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/errors.h"
#include "util/json_file.h"
#include "util/utf8.h"

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

static cJSON *item(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }
static const char *str_of(const cJSON *o, const char *k) {
    cJSON *v = item(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}
static int true_of(const cJSON *o, const char *k) { return cJSON_IsTrue(item(o, k)); }

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
    cJSON *root = read_json_object(path, err, errlen);
    if (!root) return NULL;
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
        if (!utf8_valid(v->string, strlen(v->string))) {   // JSON text is UTF-8; cJSON passes bad bytes on
            snprintf(e, sizeof e, "model.vocab: a token (id %d) is not valid UTF-8", (int)id);
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
        if (!utf8_valid(str_of(a, "content"), strlen(str_of(a, "content")))) {
            snprintf(e, sizeof e, "added_tokens: the content of id %d is not valid UTF-8", (int)id->valuedouble);
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
