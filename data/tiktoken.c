// data/tiktoken.c — a tiktoken-compatible byte-level BPE tokenizer. See tiktoken.h for the API
// and docs/tokenizer.md for the why.
//
//   tiktoken_load      rank file -> BytesMap (token bytes -> rank) + id -> bytes + special tokens
//   splitter_run       text -> pieces with tiktoken's regex (data/tiktoken_split.c)
//   bpe_merge          one piece -> tokens by lowest-rank merges (tiktoken's byte_pair_merge)
//   tiktoken_encode*   the two above for each piece; specials cut the text first when allowed
//   tiktoken_decode    ids -> concatenated bytes; TiktokenStream for token-by-token printing
#include "data/tiktoken.h"
#include "util/read_file.h"
#include "util/files.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stb/stb_ds.h>

// Special tokens per pattern, as (name, id - base) where base = one past the largest rank
// (50256, 100256, 128000 for the original files). cl100k skips ids; Llama 3 has 256.
typedef struct { const char *name; int offset; } SpecialDef;
static const SpecialDef GPT2_SPECIALS[] = {{"<|endoftext|>", 0}};
static const SpecialDef CL100K_SPECIALS[] = {
    {"<|endoftext|>", 1}, {"<|fim_prefix|>", 2}, {"<|fim_middle|>", 3}, {"<|fim_suffix|>", 4},
    {"<|endofprompt|>", 20}};
// Meta's order (llama-models, models/llama3_1/api/tokenizer.py); reserved tokens fill the rest.
static const char *const LLAMA3_NAMED[] = {
    "<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
    "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|step_id|>",
    "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>"};
#define LLAMA3_N_SPECIAL 256

const char *const TIKTOKEN_ALL_SPECIAL[] = {"<all special tokens>", NULL};

// ---------------------------------------------------------------------------------------------
// Loading.

struct Tiktoken {
    BytesMap ranks;              // token bytes -> rank
    int n_ranks;                 // lines in the rank file
    int vocab_size;              // largest id + 1
    const unsigned char **tok;   // per id: its bytes (into ranks' arena or a special's name)
    int *tok_len;                // per id: length, or -1 if no token has this id
    int n_special;
    char **special_name;         // in id order
    int *special_id;
    BytesMap specials;           // name -> index into special_name
    TiktokenSplitter *sp;
    char err[256];
};

// Ranks are ids; 2^24 is far above any real vocabulary (Llama 3 has 128,256 ids).
#define MAX_RANK (1 << 24)

static void set_err(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || !errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

void tiktoken_write_rank(FILE *f, const unsigned char *p, size_t n, long rank) {
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t x = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        fputc(A[x >> 18 & 63], f);
        fputc(A[x >> 12 & 63], f);
        fputc(i + 1 < n ? A[x >> 6 & 63] : '=', f);
        fputc(i + 2 < n ? A[x & 63] : '=', f);
    }
    fprintf(f, " %ld\n", rank);
}

static int b64_value(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

// Standard base64 with '=' padding (what Python's base64.b64encode writes). Returns the decoded
// length, or -1 if s is not valid base64. out needs n / 4 * 3 bytes.
static long b64_decode(const char *s, size_t n, unsigned char *out) {
    if (n == 0 || n % 4 != 0) return -1;
    long o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        for (int j = 0; j < 4; j++) {
            unsigned char c = (unsigned char)s[i + j];
            if (c == '=' && i + 4 == n && j >= 2) { v[j] = 0; pad++; continue; }
            if (pad) return -1;  // data after '='
            v[j] = b64_value(c);
            if (v[j] < 0) return -1;
        }
        uint32_t x = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        out[o++] = (unsigned char)(x >> 16);
        if (pad < 2) out[o++] = (unsigned char)(x >> 8);
        if (pad < 1) out[o++] = (unsigned char)x;
    }
    return o;
}


void tiktoken_free(Tiktoken *t) {
    if (!t) return;
    bytes_map_free(&t->ranks);
    bytes_map_free(&t->specials);
    for (int i = 0; i < t->n_special; i++) free(t->special_name[i]);
    free(t->special_name);
    free(t->special_id);
    free(t->tok);
    free(t->tok_len);
    tiktoken_splitter_free(t->sp);
    free(t);
}

static int add_special(Tiktoken *t, const char *name, int id) {
    char *copy = strdup(name);
    if (!copy) return -1;
    t->special_name[t->n_special] = copy;
    t->special_id[t->n_special] = id;
    if (bytes_map_put(&t->specials, name, strlen(name), t->n_special) < 0) return -1;
    t->n_special++;
    return 0;
}

Tiktoken *tiktoken_load(const char *rank_file, const char *pattern, char *err, size_t errlen) {
    size_t flen;
    char *data = read_file_all(rank_file, &flen, err, errlen);
    if (!data) return NULL;
    Tiktoken *t = calloc(1, sizeof *t);
    unsigned char *tokbuf = malloc(flen / 4 * 3 + 4);
    if (!t || !tokbuf) { set_err(err, errlen, "%s: out of memory", rank_file); goto fail; }

    // Lines: "base64 rank". Ranks and token bytes must both be unique.
    int max_rank = -1, line = 0;
    int *rank_entry = NULL;  // stb_ds array: rank -> entry in t->ranks, or -1
    for (size_t pos = 0; pos < flen;) {
        size_t eol = pos;
        while (eol < flen && data[eol] != '\n') eol++;
        line++;
        size_t a = pos, e = eol;
        pos = eol + 1;
        if (e > a && data[e - 1] == '\r') e--;
        if (e == a) continue;  // blank line
        size_t sp = a;
        while (sp < e && data[sp] != ' ') sp++;
        if (sp == e) { set_err(err, errlen, "%s: line %d: expected 'base64 rank'", rank_file, line); goto fail_arr; }
        long n = b64_decode(data + a, sp - a, tokbuf);
        if (n <= 0) { set_err(err, errlen, "%s: line %d: bad base64 token", rank_file, line); goto fail_arr; }
        char *endp;
        errno = 0;
        long r = strtol(data + sp + 1, &endp, 10);
        if (endp == data + sp + 1 || endp != data + e || errno || r < 0 ||
            data[sp + 1] == ' ' || data[sp + 1] == '+' || data[sp + 1] == '-') {
            set_err(err, errlen, "%s: line %d: bad rank", rank_file, line);
            goto fail_arr;
        }
        if (r >= MAX_RANK) {  // a corrupt number would otherwise size the id tables
            set_err(err, errlen, "%s: line %d: rank %ld is too large (at most %d)", rank_file, line, r, MAX_RANK - 1);
            goto fail_arr;
        }
        if ((long)arrlen(rank_entry) <= r) {  // grow in one step; new ranks unused (-1: all bits set)
            size_t old = arrlen(rank_entry);
            arrsetlen(rank_entry, (size_t)r + 1);
            memset(rank_entry + old, 0xff, ((size_t)r + 1 - old) * sizeof *rank_entry);
        }
        if (rank_entry[r] >= 0) { set_err(err, errlen, "%s: line %d: rank %ld appears twice", rank_file, line, r); goto fail_arr; }
        int entry = bytes_map_put(&t->ranks, tokbuf, (size_t)n, (int)r);
        if (entry < 0) { set_err(err, errlen, "%s: line %d: token bytes appear twice", rank_file, line); goto fail_arr; }
        rank_entry[r] = entry;
        if (r > max_rank) max_rank = (int)r;
        t->n_ranks++;
    }
    if (t->n_ranks == 0) { set_err(err, errlen, "%s: no ranks (not a tiktoken rank file?)", rank_file); goto fail_arr; }
    for (int byte = 0; byte < 256; byte++) {
        unsigned char c = (unsigned char)byte;
        if (bytes_map_get(&t->ranks, &c, 1) < 0) {
            set_err(err, errlen, "%s: byte 0x%02x has no rank (not a byte-level BPE file?)", rank_file, byte);
            goto fail_arr;
        }
    }

    // The pattern: named, recorded beside the file, or known from the size of the three originals.
    char side_path[4096], recorded[32] = "";
    snprintf(side_path, sizeof side_path, "%s" TIKTOKEN_PATTERN_SUFFIX, rank_file);
    size_t slen;
    char *side = access(side_path, F_OK) == 0 ? read_file_all(side_path, &slen, err, errlen) : NULL;
    if (side) {
        size_t k = 0;
        while (k < slen && k + 1 < sizeof recorded && side[k] != '\n' && side[k] != '\r') { recorded[k] = side[k]; k++; }
        free(side);
        if (strcmp(recorded, "gpt2") && strcmp(recorded, "cl100k") && strcmp(recorded, "llama3")) {
            set_err(err, errlen, "%s: expected gpt2, cl100k or llama3 in it", side_path);
            goto fail_arr;
        }
        if (pattern && strcmp(pattern, recorded) != 0) {
            set_err(err, errlen, "%s was learned with the %s split pattern (%s), not %s", rank_file,
                    recorded, side_path, pattern);
            goto fail_arr;
        }
        pattern = recorded;
    } else if (access(side_path, F_OK) == 0) {
        goto fail_arr;   // there, but unreadable: read_file_all said why
    }
    if (!pattern) {
        if (t->n_ranks == 50256) pattern = "gpt2";
        else if (t->n_ranks == 100256) pattern = "cl100k";
        else if (t->n_ranks == 128000) pattern = "llama3";
        else {
            set_err(err, errlen, "%s: %d ranks is not GPT-2 (50256), cl100k (100256) or Llama 3 "
                    "(128000) and no %s" TIKTOKEN_PATTERN_SUFFIX " names its split pattern: name it (gpt2, "
                    "cl100k or llama3)", rank_file, t->n_ranks, rank_file);
            goto fail_arr;
        }
    }
    char perr[200];
    t->sp = tiktoken_splitter_new(pattern, perr, sizeof perr);
    if (!t->sp) { set_err(err, errlen, "%s", perr); goto fail_arr; }

    // Special tokens after the ranks.
    int base = max_rank + 1, n_spec = 0, top = max_rank;
    const char *pname = tiktoken_splitter_name(t->sp);
    if (strcmp(pname, "gpt2") == 0) n_spec = 1;
    else if (strcmp(pname, "cl100k") == 0) n_spec = 5;
    else n_spec = LLAMA3_N_SPECIAL;
    t->special_name = calloc((size_t)n_spec, sizeof *t->special_name);
    t->special_id = calloc((size_t)n_spec, sizeof *t->special_id);
    if (!t->special_name || !t->special_id) { set_err(err, errlen, "out of memory"); goto fail_arr; }
    for (int i = 0; i < n_spec; i++) {
        char name[64];
        int id;
        if (strcmp(pname, "gpt2") == 0) { snprintf(name, sizeof name, "%s", GPT2_SPECIALS[i].name); id = base + GPT2_SPECIALS[i].offset; }
        else if (strcmp(pname, "cl100k") == 0) { snprintf(name, sizeof name, "%s", CL100K_SPECIALS[i].name); id = base + CL100K_SPECIALS[i].offset; }
        else {
            int n_named = (int)(sizeof LLAMA3_NAMED / sizeof LLAMA3_NAMED[0]);
            if (i < n_named) snprintf(name, sizeof name, "%s", LLAMA3_NAMED[i]);
            else snprintf(name, sizeof name, "<|reserved_special_token_%d|>", 2 + i - n_named);
            id = base + i;
        }
        if (add_special(t, name, id) < 0) { set_err(err, errlen, "out of memory"); goto fail_arr; }
        if (id > top) top = id;
    }

    // id -> bytes. The map is complete, so pointers into its arena stay valid.
    t->vocab_size = top + 1;
    t->tok = calloc((size_t)t->vocab_size, sizeof *t->tok);
    t->tok_len = malloc((size_t)t->vocab_size * sizeof *t->tok_len);
    if (!t->tok || !t->tok_len) { set_err(err, errlen, "out of memory"); goto fail_arr; }
    memset(t->tok_len, 0xff, (size_t)t->vocab_size * sizeof *t->tok_len);  // -1: no bytes
    for (int r = 0; r <= max_rank; r++) {
        if (rank_entry[r] < 0) continue;
        size_t n;
        t->tok[r] = bytes_map_entry(&t->ranks, rank_entry[r], &n);
        t->tok_len[r] = (int)n;
    }
    for (int i = 0; i < t->n_special; i++) {
        t->tok[t->special_id[i]] = (const unsigned char *)t->special_name[i];
        t->tok_len[t->special_id[i]] = (int)strlen(t->special_name[i]);
    }
    arrfree(rank_entry);
    free(tokbuf);
    free(data);
    return t;

fail_arr:
    arrfree(rank_entry);
fail:
    free(tokbuf);
    free(data);
    tiktoken_free(t);
    return NULL;
}

int tiktoken_vocab_size(const Tiktoken *t) { return t->vocab_size; }
int tiktoken_n_ranks(const Tiktoken *t) { return t->n_ranks; }
const char *tiktoken_pattern_name(const Tiktoken *t) { return tiktoken_splitter_name(t->sp); }
const char *tiktoken_pattern(const Tiktoken *t) { return tiktoken_splitter_pattern(t->sp); }
const TiktokenSplitter *tiktoken_splitter(const Tiktoken *t) { return t->sp; }
const BytesMap *tiktoken_ranks(const Tiktoken *t) { return &t->ranks; }
const char *tiktoken_error(const Tiktoken *t) { return t->err; }
int tiktoken_n_special(const Tiktoken *t) { return t->n_special; }

const char *tiktoken_special_name(const Tiktoken *t, int i, int *id) {
    if (i < 0 || i >= t->n_special) return NULL;
    if (id) *id = t->special_id[i];
    return t->special_name[i];
}

int tiktoken_special_id(const Tiktoken *t, const char *name) {
    int i = bytes_map_get(&t->specials, name, strlen(name));
    return i < 0 ? -1 : t->special_id[i];
}

const char *tiktoken_token_bytes(const Tiktoken *t, int id, size_t *len) {
    if (id < 0 || id >= t->vocab_size || t->tok_len[id] < 0) return NULL;
    if (len) *len = (size_t)t->tok_len[id];
    return (const char *)t->tok[id];
}

// ---------------------------------------------------------------------------------------------
// Encoding.

typedef struct {
    const Tiktoken *t;
    int *ids;        // stb_ds array: the output
    size_t *bounds;  // stb_ds array: scratch for bpe_merge
    int oom;
    float drop;      // BPE-dropout probability (tiktoken_encode_dropout), else 0
    uint64_t *rng;
} EncodeCtx;

// A piece of one character repeated (50 MB of "a", or of spaces) would be one BPE problem of
// n parts, with working memory of about 44 bytes per byte (bounds, the heap's lists and
// entries). Meta's Llama 3 tokenizer (tiktoken underneath) cuts its input where more than
// 25,000 consecutive characters are all whitespace or all not, and encodes the slices one by one;
// the same cut inside a piece bounds the working memory to one slice and keeps the time linear.
// Pieces of ordinary text are far shorter, so their ids are tiktoken's.
#define MAX_RUN_CHARS 25000

static int encode_slice(EncodeCtx *c, const unsigned char *p, size_t n);

// Python's str.isspace() for the character starting at p (its length in *len): the ASCII
// whitespace and separators 0x1c-0x1f, U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029,
// U+202F, U+205F, U+3000. Bytes that are not valid UTF-8 count as one non-space character.
static int char_is_space(const unsigned char *p, size_t left, size_t *len) {
    unsigned c = p[0];
    *len = 1;
    if (c < 0x80) return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20);
    size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    if (n > left) return 0;
    for (size_t k = 1; k < n; k++) if ((p[k] & 0xc0) != 0x80) return 0;
    *len = n;
    unsigned cp = n == 2 ? (c & 0x1f) << 6 | (p[1] & 0x3f)
                : n == 3 ? (c & 0x0f) << 12 | (p[1] & 0x3f) << 6 | (p[2] & 0x3f) : 0;
    return cp == 0x85 || cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 ||
           cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

static int encode_piece(const unsigned char *p, size_t n, void *vctx) {
    EncodeCtx *c = vctx;
    if (n <= MAX_RUN_CHARS) return encode_slice(c, p, n);   // bytes >= characters: no cut possible
    // Meta's rule: count a run of characters of one class (space or not); when the run would
    // pass MAX_RUN_CHARS, a slice ends before this character and the run count starts again.
    size_t start = 0, run = 0, i = 0;
    int space = -1;
    while (i < n) {
        size_t len;
        int sp = char_is_space(p + i, n - i, &len);
        if (sp != space) { space = sp; run = 1; }
        else if (++run > MAX_RUN_CHARS) {
            if (encode_slice(c, p + start, i - start)) return 1;
            start = i;
            run = 1;
        }
        i += len;
    }
    return encode_slice(c, p + start, n - start);
}

static int encode_slice(EncodeCtx *c, const unsigned char *p, size_t n) {
    const BytesMap *ranks = &c->t->ranks;
    int r = c->drop > 0 ? -1 : bytes_map_get(ranks, p, n);
    if (r >= 0) {  // the whole piece is a token (most pieces of ordinary text are)
        arrput(c->ids, r);
        return 0;
    }
    arrsetlen(c->bounds, n + 1);
    for (size_t i = 0; i <= n; i++) c->bounds[i] = i;
    size_t np = bpe_merge_dropout(ranks, p, n, c->bounds, n, -1, c->drop, c->rng);
    if (np == (size_t)-1) { c->oom = 1; return 1; }
    for (size_t k = 0; k < np; k++)
        arrput(c->ids, bytes_map_get(ranks, p + c->bounds[k], c->bounds[k + 1] - c->bounds[k]));
    return 0;
}

static int encode_segment(Tiktoken *t, EncodeCtx *c, const char *bytes, size_t len) {
    int rc = tiktoken_splitter_run(t->sp, bytes, len, encode_piece, c, t->err, sizeof t->err);
    if (c->oom) set_err(t->err, sizeof t->err, "out of memory");
    return rc;
}

static int *finish(Tiktoken *t, EncodeCtx *c, size_t *n_out) {
    size_t n = arrlenu(c->ids);
    int *out = malloc((n ? n : 1) * sizeof *out);
    if (out && n) memcpy(out, c->ids, n * sizeof *out);
    if (!out) set_err(t->err, sizeof t->err, "out of memory");
    arrfree(c->ids);
    arrfree(c->bounds);
    if (n_out) *n_out = out ? n : 0;
    return out;
}

int *tiktoken_encode_dropout(Tiktoken *t, const char *bytes, size_t len, float p, uint64_t *rng,
                             size_t *n_out) {
    EncodeCtx c = {.t = t, .drop = p, .rng = rng};
    if (encode_segment(t, &c, bytes, len) != 0) {
        arrfree(c.ids);
        arrfree(c.bounds);
        return NULL;
    }
    return finish(t, &c, n_out);
}

int *tiktoken_encode_ordinary(Tiktoken *t, const char *bytes, size_t len, size_t *n_out) {
    return tiktoken_encode_dropout(t, bytes, len, 0, NULL, n_out);
}

int *tiktoken_encode(Tiktoken *t, const char *bytes, size_t len,
                     const char *const *allowed_special, size_t *n_out) {
    if (!allowed_special) return tiktoken_encode_ordinary(t, bytes, len, n_out);
    // The allowed specials, as indices into t->special_name.
    int *allowed = NULL;  // stb_ds array
    if (allowed_special == TIKTOKEN_ALL_SPECIAL) {
        for (int i = 0; i < t->n_special; i++) arrput(allowed, i);
    } else {
        for (const char *const *a = allowed_special; *a; a++) {
            int i = bytes_map_get(&t->specials, *a, strlen(*a));
            if (i < 0) {
                set_err(t->err, sizeof t->err, "'%s' is not a special token of this encoding", *a);
                arrfree(allowed);
                return NULL;
            }
            arrput(allowed, i);
        }
    }
    // Cut the text at each allowed special (the leftmost next; the longest if two start at the
    // same byte) and encode the text between as ordinary text. next[k]: where allowed special k
    // next occurs at or after pos (len = nowhere), updated only once pos has passed it.
    int na = (int)arrlen(allowed);
    size_t *next = malloc((na ? na : 1) * sizeof *next);
    if (!next) {
        arrfree(allowed);
        set_err(t->err, sizeof t->err, "out of memory");
        return NULL;
    }
    EncodeCtx c = {.t = t};
    int ok = 1;
    size_t pos = 0;
    for (int k = 0; k < na; k++) next[k] = (size_t)-1;  // not searched yet
    while (ok) {
        int best = -1;
        size_t best_at = len, best_len = 0;
        for (int k = 0; k < na; k++) {
            const char *name = t->special_name[allowed[k]];
            size_t nl = strlen(name);
            if (next[k] == (size_t)-1 || (next[k] < pos && next[k] != len)) {
                const char *hit = len > pos ? memmem(bytes + pos, len - pos, name, nl) : NULL;
                next[k] = hit ? (size_t)(hit - bytes) : len;
            }
            if (next[k] < best_at || (next[k] == best_at && next[k] < len && nl > best_len)) {
                best = k; best_at = next[k]; best_len = nl;
            }
        }
        if (encode_segment(t, &c, bytes + pos, best_at - pos) != 0) { ok = 0; break; }
        if (best < 0 || best_at >= len) break;
        arrput(c.ids, t->special_id[allowed[best]]);
        pos = best_at + best_len;
    }
    free(next);
    arrfree(allowed);
    if (!ok) {
        arrfree(c.ids);
        arrfree(c.bounds);
        return NULL;
    }
    return finish(t, &c, n_out);
}

// ---------------------------------------------------------------------------------------------
// Decoding.

int tiktoken_decode(const Tiktoken *t, const int *ids, size_t n, char **out, size_t *out_len) {
    *out = NULL;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l;
        if (!tiktoken_token_bytes(t, ids[i], &l)) return -1;
        total += l;
    }
    char *buf = malloc(total + 1);
    if (!buf) return -1;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = (size_t)t->tok_len[ids[i]];
        memcpy(buf + o, t->tok[ids[i]], l);
        o += l;
    }
    buf[o] = 0;
    *out = buf;
    if (out_len) *out_len = o;
    return 0;
}

void tiktoken_stream_init(TiktokenStream *s, const Tiktoken *t) {
    memset(s, 0, sizeof *s);
    s->t = t;
}

void tiktoken_stream_free(TiktokenStream *s) {
    arrfree(s->buf);
    s->n_held = 0;
}

// How many bytes at the end of p[0..n) are the start of a UTF-8 character that is not complete
// yet but could still be completed (0 if none). A lead byte needs 1-3 continuation bytes
// (10xxxxxx); the second byte of E0, ED, F0, F4 is narrower (no overlong forms, no surrogates,
// nothing above U+10FFFF), as in the Unicode table of well-formed sequences.
static int incomplete_tail(const unsigned char *p, size_t n) {
    for (int j = 1; j <= 3 && (size_t)j <= n; j++) {
        unsigned char c = p[n - j];
        if ((c & 0xC0) == 0x80) continue;  // a continuation byte: look further back
        int need = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
        if (need <= j) return 0;           // ASCII, invalid, or already complete
        if (j >= 2) {
            unsigned char c2 = p[n - j + 1];
            unsigned char lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
            unsigned char hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
            if (c2 < lo || c2 > hi) return 0;  // can never become valid: pass it on
        }
        return j;
    }
    return 0;
}

const char *tiktoken_stream_feed(TiktokenStream *s, int id, size_t *len) {
    size_t n;
    const char *b = tiktoken_token_bytes(s->t, id, &n);
    if (!b) return NULL;
    arrsetlen(s->buf, 0);
    if (s->n_held) memcpy(arraddnptr(s->buf, s->n_held), s->held, (size_t)s->n_held);
    if (n) memcpy(arraddnptr(s->buf, n), b, n);
    size_t total = arrlenu(s->buf);
    int k = incomplete_tail((const unsigned char *)s->buf, total);
    memcpy(s->held, s->buf + total - k, (size_t)k);
    s->n_held = k;
    *len = total - (size_t)k;
    arrput(s->buf, 0);  // room for the pointer to be non-NULL even when empty
    return s->buf;
}

const char *tiktoken_stream_flush(TiktokenStream *s, size_t *len) {
    arrsetlen(s->buf, 0);
    if (s->n_held) memcpy(arraddnptr(s->buf, s->n_held), s->held, (size_t)s->n_held);
    *len = (size_t)s->n_held;
    s->n_held = 0;
    arrput(s->buf, 0);
    return s->buf;
}
