// tests/test_tiktoken.c — data/tiktoken.c against Python tiktoken 0.14's ids, plus round trips,
// the streaming decoder, the long-piece merge and bad input.
//
// Fixtures: tests/fixtures/tiktoken/{cases,corpus}.json from tools/make_tiktoken_fixtures.py.
// Rank files come from data/tokenizers/ (scripts/fetch_tokenizers.sh; TOKENIZER_DIR overrides),
// the corpus is the bundled data/tinyshakespeare.txt.
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cjson/cJSON.h>

#include "data/tiktoken.h"
#include "tests/test.h"
#include "tests/tok_fixture.h"

static const char *ENC_NAMES[3] = {"gpt2", "cl100k", "llama3"};
static const char *ENC_FILES[3] = {"gpt2/r50k_base.tiktoken", "cl100k/cl100k_base.tiktoken",
                                   "llama3/tokenizer.model"};   // under test_tokenizer_dir()

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) { free(b); b = NULL; }
    fclose(f);
    if (b) { b[n] = 0; if (len) *len = (size_t)n; }
    return b;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static void print_ids(const char *what, const int *ids, size_t n, size_t from) {
    printf("     %s:", what);
    for (size_t i = from; i < n && i < from + 16; i++) printf(" %d", ids[i]);
    printf("\n");
}

// ---- fixtures -------------------------------------------------------------------------------

static void check_encoding_info(Tiktoken *t, const char *name, const cJSON *info) {
    const cJSON *pat = cJSON_GetObjectItem(info, "pattern");
    CHECK(cJSON_IsString(pat) && strcmp(pat->valuestring, tiktoken_pattern(t)) == 0,
          "%s: our regex is the string tiktoken used", name);
    int n_vocab = cJSON_GetObjectItem(info, "n_vocab")->valueint;
    CHECK(tiktoken_vocab_size(t) == n_vocab, "%s: vocab size %d (tiktoken n_vocab %d)", name,
          tiktoken_vocab_size(t), n_vocab);
    const cJSON *sp = cJSON_GetObjectItem(info, "special_tokens"), *x;
    int n = 0, ok = 0;
    cJSON_ArrayForEach(x, sp) {
        n++;
        int id = tiktoken_special_id(t, x->string);
        size_t len;
        const char *b = tiktoken_token_bytes(t, id, &len);
        if (id == x->valueint && b && len == strlen(x->string) && memcmp(b, x->string, len) == 0) ok++;
        else printf("     %s: special %s: ours %d, tiktoken %d\n", name, x->string, id, x->valueint);
    }
    CHECK(ok == n && n == tiktoken_n_special(t), "%s: special tokens: %d/%d names and ids as tiktoken's (we have %d)",
          name, ok, n, tiktoken_n_special(t));
}

static void check_cases(Tiktoken **tk, const cJSON *cases) {
    unsigned char *buf = malloc(1 << 20);
    for (int e = 0; e < 3; e++) {
        for (int mode = 0; mode < 2; mode++) {
            int n = 0, ok = 0, rt = 0;
            const cJSON *c;
            cJSON_ArrayForEach(c, cases) {
                const char *cname = cJSON_GetObjectItem(c, "name")->valuestring;
                size_t len = unb64(cJSON_GetObjectItem(c, "b64")->valuestring, buf);
                const cJSON *want = cJSON_GetObjectItem(
                    cJSON_GetObjectItem(c, mode ? "all" : "ordinary"), ENC_NAMES[e]);
                size_t nids;
                int *ids = mode ? tiktoken_encode(tk[e], (char *)buf, len, TIKTOKEN_ALL_SPECIAL, &nids)
                                : tiktoken_encode_ordinary(tk[e], (char *)buf, len, &nids);
                n++;
                long d = ids ? first_diff(ids, nids, want, 0, 1) : 0;
                if (ids && d < 0) ok++;
                else {
                    printf("     %s %s case %s: first difference at token %ld (ours %zu tokens, tiktoken %d)\n",
                           ENC_NAMES[e], mode ? "all" : "ordinary", cname, d, nids, cJSON_GetArraySize(want));
                    if (ids) print_ids("ours from there", ids, nids, (size_t)d);
                }
                char *back;
                size_t blen;
                if (ids && tiktoken_decode(tk[e], ids, nids, &back, &blen) == 0) {
                    if (blen == len && memcmp(back, buf, len) == 0) rt++;
                    free(back);
                }
                free(ids);
            }
            CHECK(ok == n, "%s: %s: %d/%d cases give tiktoken's ids", ENC_NAMES[e],
                  mode ? "encode(allowed_special=all)" : "encode_ordinary", ok, n);
            CHECK(rt == n, "%s: %s: decode(encode(text)) == text in %d/%d cases", ENC_NAMES[e],
                  mode ? "encode(all)" : "encode_ordinary", rt, n);
        }
    }
    free(buf);
}

static void check_corpus(Tiktoken **tk, const cJSON *corpus, const char *text, size_t len) {
    for (int e = 0; e < 3; e++) {
        const cJSON *c = cJSON_GetObjectItem(corpus, ENC_NAMES[e]);
        size_t n;
        int *ids = tiktoken_encode_ordinary(tk[e], text, len, &n);
        if (!ids) { CHECK(0, "%s: tiny Shakespeare: encode failed: %s", ENC_NAMES[e], tiktoken_error(tk[e])); continue; }
        int want_n = cJSON_GetObjectItem(c, "count")->valueint;
        char fnv[32];
        snprintf(fnv, sizeof fnv, "%016llx", (unsigned long long)fnv_ids(ids, n));
        const char *want_fnv = cJSON_GetObjectItem(c, "fnv1a64")->valuestring;
        const cJSON *first = cJSON_GetObjectItem(c, "first"), *last = cJSON_GetObjectItem(c, "last");
        long d1 = first_diff(ids, n, first, 0, 0);
        size_t nl = (size_t)cJSON_GetArraySize(last);
        long d2 = n >= nl ? first_diff(ids, n, last, n - nl, 1) : 0;
        CHECK((int)n == want_n && strcmp(fnv, want_fnv) == 0 && d1 < 0 && d2 < 0,
              "%s: tiny Shakespeare: %zu tokens (tiktoken %d), FNV-1a %s (tiktoken %s), first %d %s, last %zu %s",
              ENC_NAMES[e], n, want_n, fnv, want_fnv, cJSON_GetArraySize(first),
              d1 < 0 ? "equal" : "DIFFER", nl, d2 < 0 ? "equal" : "DIFFER");
        char *back;
        size_t blen;
        int rt = tiktoken_decode(tk[e], ids, n, &back, &blen) == 0 && blen == len && memcmp(back, text, len) == 0;
        if (rt || back) free(back);
        CHECK(rt, "%s: tiny Shakespeare: decode(encode) == corpus (%zu bytes)", ENC_NAMES[e], len);
        free(ids);
    }
}

// Several threads encoding with one Tiktoken at once get the single-thread ids (two threads
// encode the whole corpus, two a tail of it, all at the same time).
static void check_threads(Tiktoken *t, const char *name, const char *text, size_t len) {
    size_t n_whole, n_tail;
    int *whole = tiktoken_encode_ordinary(t, text, len, &n_whole);
    int *tail = tiktoken_encode_ordinary(t, text + 3000, len - 3000, &n_tail);
    int ok = 0;
#pragma omp parallel for num_threads(4) reduction(+ : ok)
    for (int k = 0; k < 4; k++) {
        size_t n;
        int *ids = k % 2 ? tiktoken_encode_ordinary(t, text + 3000, len - 3000, &n)
                         : tiktoken_encode_ordinary(t, text, len, &n);
        const int *want = k % 2 ? tail : whole;
        size_t want_n = k % 2 ? n_tail : n_whole;
        if (ids && want && n == want_n && memcmp(ids, want, n * sizeof *ids) == 0) ok++;
        free(ids);
    }
    CHECK(ok == 4, "%s: 4 threads encoding tiny Shakespeare with one Tiktoken at once: %d/4 equal to "
          "the single-thread ids", name, ok);
    free(whole);
    free(tail);
}

// ---- round trips on arbitrary bytes ---------------------------------------------------------

static uint64_t rng_state = 0x853c49e6748fea9bull;
static uint32_t rnd(void) {  // xorshift64*
    rng_state ^= rng_state >> 12; rng_state ^= rng_state << 25; rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}

// Random bytes of three kinds: anything; valid UTF-8 text; valid text with bytes broken.
static size_t random_bytes(unsigned char *b, size_t max) {
    size_t n = rnd() % max;
    int kind = rnd() % 3;
    static const char *const bits[] = {"a", "Z", " ", "  ", "\n", "\r\n", "\t", "'s", "'LL", "1", "42",
        "!", ".", "é", "ж", "你", "👍", "👨‍👩‍👧", "\xcc\x81", "<|endoftext|>", "<|eot_id|>", "\xc2\xa0"};
    size_t o = 0;
    while (o < n) {
        if (kind == 0) { b[o++] = (unsigned char)rnd(); continue; }
        const char *s = bits[rnd() % (sizeof bits / sizeof bits[0])];
        size_t l = strlen(s);
        if (o + l > n) break;
        memcpy(b + o, s, l);
        o += l;
    }
    if (kind == 2)  // break it: random bytes, truncated sequences, lone continuation bytes
        for (int k = 0; k < 1 + (int)(rnd() % 4) && o; k++) {
            static const unsigned char bad[] = {0x80, 0xbf, 0xc0, 0xc1, 0xe0, 0xed, 0xf0, 0xf4, 0xf5, 0xff, 0xfe, 0xe2};
            b[rnd() % o] = bad[rnd() % sizeof bad];
        }
    return o;
}

static void check_round_trips(Tiktoken **tk) {
    unsigned char *b = malloc(4096);
    for (int e = 0; e < 3; e++) {
        int n = 0, ok = 0;
        for (int it = 0; it < 300; it++) {
            size_t len = random_bytes(b, 2000);
            for (int mode = 0; mode < 2; mode++) {
                size_t nids;
                int *ids = mode ? tiktoken_encode(tk[e], (char *)b, len, TIKTOKEN_ALL_SPECIAL, &nids)
                                : tiktoken_encode_ordinary(tk[e], (char *)b, len, &nids);
                char *back = NULL;
                size_t blen = 0;
                n++;
                if (ids && tiktoken_decode(tk[e], ids, nids, &back, &blen) == 0 && blen == len &&
                    memcmp(back, b, len) == 0) ok++;
                free(back);
                free(ids);
            }
        }
        CHECK(ok == n, "%s: decode(encode(b)) == b for %d/%d random byte strings (valid, broken and random UTF-8)",
              ENC_NAMES[e], ok, n);
    }
    // Invalid UTF-8 on its own: every byte >= 0x80 alone, and a few classic bad sequences.
    for (int e = 0; e < 3; e++) {
        int n = 0, ok = 0;
        for (int c = 0x80; c < 0x100; c++) {
            unsigned char s[4] = {'x', (unsigned char)c, ' ', 'y'};
            size_t nids;
            int *ids = tiktoken_encode_ordinary(tk[e], (char *)s, 4, &nids);
            char *back = NULL;
            size_t blen = 0;
            n++;
            if (ids && tiktoken_decode(tk[e], ids, nids, &back, &blen) == 0 && blen == 4 && memcmp(back, s, 4) == 0) ok++;
            free(back);
            free(ids);
        }
        CHECK(ok == n, "%s: round trip of \"x<byte> y\" for all %d bytes 0x80..0xff", ENC_NAMES[e], n);
    }
    free(b);
}

// ---- the streaming decoder ------------------------------------------------------------------

static int valid_utf8(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        int need = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
        if (!need || i + need > n) return 0;
        for (int k = 1; k < need; k++) if ((s[i + k] & 0xC0) != 0x80) return 0;
        if ((c == 0xE0 && s[i + 1] < 0xA0) || (c == 0xED && s[i + 1] > 0x9F) ||
            (c == 0xF0 && s[i + 1] < 0x90) || (c == 0xF4 && s[i + 1] > 0x8F)) return 0;
        i += need;
    }
    return 1;
}

static void check_stream(Tiktoken **tk) {
    const char *text = "Emoji 👨‍👩‍👧‍👦 and 🏳️‍🌈, CJK 你好世界 日本語, Devanagari क्षत्रिय, é\xcc\x81 done.";
    for (int e = 0; e < 3; e++) {
        size_t n;
        int *ids = tiktoken_encode_ordinary(tk[e], text, strlen(text), &n);
        // How many tokens are not valid UTF-8 by themselves (the cases the stream must handle).
        int partial = 0;
        for (size_t i = 0; i < n; i++) {
            size_t l;
            const char *b = tiktoken_token_bytes(tk[e], ids[i], &l);
            if (!valid_utf8((const unsigned char *)b, l)) partial++;
        }
        TiktokenStream s;
        tiktoken_stream_init(&s, tk[e]);
        char out[1024];
        size_t o = 0;
        int chunks_ok = 1, held = 0;
        for (size_t i = 0; i < n; i++) {
            size_t l;
            const char *b = tiktoken_stream_feed(&s, ids[i], &l);
            if (!b || !valid_utf8((const unsigned char *)b, l)) chunks_ok = 0;
            if (s.n_held) held++;
            memcpy(out + o, b, l);
            o += l;
        }
        size_t l;
        const char *b = tiktoken_stream_flush(&s, &l);
        memcpy(out + o, b, l);
        o += l;
        tiktoken_stream_free(&s);
        CHECK(partial > 0 && held > 0 && chunks_ok && o == strlen(text) && memcmp(out, text, o) == 0,
              "%s: stream: %zu tokens (%d not UTF-8 alone, held back after %d): every chunk valid UTF-8, "
              "all chunks == text", ENC_NAMES[e], n, partial, held);
        free(ids);
    }
    // Invalid bytes pass through; an incomplete sequence at the end comes out of flush.
    Tiktoken *t = tk[0];
    const char bad[] = "a\xff" "b\xe4\xbd";  // stray 0xff, then the first two bytes of 你
    size_t n;
    int *ids = tiktoken_encode_ordinary(t, bad, sizeof bad - 1, &n);
    TiktokenStream s;
    tiktoken_stream_init(&s, t);
    char out[64];
    size_t o = 0, l;
    for (size_t i = 0; i < n; i++) { const char *b = tiktoken_stream_feed(&s, ids[i], &l); memcpy(out + o, b, l); o += l; }
    size_t before_flush = o;
    const char *b = tiktoken_stream_flush(&s, &l);
    memcpy(out + o, b, l);
    o += l;
    CHECK(before_flush == 3 && o == sizeof bad - 1 && memcmp(out, bad, o) == 0,
          "stream: \"a\\xff b\\xe4\\xbd\": %zu bytes out before flush (want 3: the 0xff passes), all %zu after",
          before_flush, o);
    CHECK(tiktoken_stream_feed(&s, -5, &l) == NULL && tiktoken_stream_feed(&s, tiktoken_vocab_size(t), &l) == NULL,
          "stream: ids -5 and vocab_size are refused");
    tiktoken_stream_free(&s);
    free(ids);
}

// ---- long pieces: the heap merge == tiktoken's scan, and no quadratic time --------------------

static void check_merge_paths(Tiktoken *t, const char *name) {
    const BytesMap *ranks = tiktoken_ranks(t);
    unsigned char *p = malloc(4000);
    size_t *b1 = malloc(4001 * sizeof *b1), *b2 = malloc(4001 * sizeof *b2);
    int n = 0, ok = 0;
    static const char *alpha[] = {"ab", "abc", "aeiou ", "xyzzy", "th", "\xe4\xbd\xa0\xe5\xa5\xbd", "01", "a"};
    for (int it = 0; it < 400; it++) {
        size_t len = 2 + rnd() % (it < 390 ? 300 : 3998);
        const char *a = alpha[rnd() % 8];
        size_t al = strlen(a);
        for (size_t i = 0; i < len; i++) p[i] = (rnd() % 4) ? (unsigned char)a[rnd() % al] : (unsigned char)rnd();
        for (size_t i = 0; i <= len; i++) b1[i] = b2[i] = i;
        size_t n1 = bpe_merge(ranks, p, len, b1, len, 0);
        size_t n2 = bpe_merge(ranks, p, len, b2, len, 1);
        n++;
        if (n1 == n2 && memcmp(b1, b2, (n1 + 1) * sizeof *b1) == 0) ok++;
    }
    CHECK(ok == n, "%s: bpe_merge heap == tiktoken's scan on %d/%d random pieces (2..4000 bytes)", name, ok, n);
    free(p); free(b1); free(b2);
}

static void check_long_pieces(Tiktoken **tk) {
    size_t N = 100000;
    char *s = malloc(N);
    const char *kinds[] = {"3,000 x 'a'", "100 KB of 'a'", "100 KB random letters, no spaces",
                           "100 KB of digits", "100 KB of spaces", "100 KB of '!'", "100 KB of 'ab'"};
    for (int e = 0; e < 3; e++) {
        double worst = 0;
        const char *worst_kind = "";
        int all_ok = 1;
        for (int k = 0; k < 7; k++) {
            size_t len = k == 0 ? 3000 : N;
            for (size_t i = 0; i < len; i++)
                s[i] = k <= 1 ? 'a' : k == 2 ? (char)('a' + rnd() % 26) : k == 3 ? (char)('0' + rnd() % 10)
                     : k == 4 ? ' ' : k == 5 ? '!' : "ab"[i % 2];
            double t0 = now();
            size_t n;
            int *ids = tiktoken_encode_ordinary(tk[e], s, len, &n);
            double dt = now() - t0;
            char *back = NULL;
            size_t bl = 0;
            if (!ids || tiktoken_decode(tk[e], ids, n, &back, &bl) != 0 || bl != len || memcmp(back, s, len) != 0) {
                all_ok = 0;
                printf("     %s: %s: %s\n", ENC_NAMES[e], kinds[k], ids ? "round trip differs" : tiktoken_error(tk[e]));
            }
            free(back);
            free(ids);
            if (dt > worst) { worst = dt; worst_kind = kinds[k]; }
        }
        // A generous bound: quadratic merging of a 100 KB piece takes minutes, ours milliseconds.
        CHECK(all_ok && worst < 2.0, "%s: long pieces (3,000 'a' ... 100 KB without spaces) encode and round-trip; "
              "slowest %.3f s (%s; bound 2 s)", ENC_NAMES[e], worst, worst_kind);
    }
    free(s);
}

// ---- bad input ------------------------------------------------------------------------------

// ---- BPE-dropout (tiktoken_encode_dropout) ----------------------------------------------------
// Lossless, reproducible, finer than the deterministic encoding; at p -> 0 it is that encoding
// (the merge loop without drops == tiktoken's), at p = 1 every merge is skipped: one token a byte.
static void check_bpe_dropout(Tiktoken **tk, const char *text, size_t len) {
    size_t n = len < 20000 ? len : 20000;   // 20 KB of Shakespeare, then a multilingual tail
    const char *tail = " caf\xc3\xa9 \xe4\xbd\xa0\xe5\xa5\xbd\xef\xbc\x8c\xe4\xb8\x96\xe7\x95\x8c 12345 \xf0\x9f\x98\x80!!\n\n  x";
    size_t tl = strlen(tail);
    char *s = malloc(n + tl);
    memcpy(s, text, n);
    memcpy(s + n, tail, tl);
    n += tl;
    for (int e = 0; e < 3; e++) {
        size_t n0, na, nb, nc, n1, n_tiny, dl;
        uint64_t r1 = 5, r2 = 5, r3 = 6, r4 = 7, r5 = 8;
        int *ids0 = tiktoken_encode_ordinary(tk[e], s, n, &n0);
        int *a = tiktoken_encode_dropout(tk[e], s, n, 0.1f, &r1, &na);
        int *b = tiktoken_encode_dropout(tk[e], s, n, 0.1f, &r2, &nb);
        int *c = tiktoken_encode_dropout(tk[e], s, n, 0.1f, &r3, &nc);
        int *one = tiktoken_encode_dropout(tk[e], s, n, 1.0f, &r4, &n1);
        int *tiny = tiktoken_encode_dropout(tk[e], s, n, 1e-9f, &r5, &n_tiny);
        char *back = NULL;
        int lossless = a && tiktoken_decode(tk[e], a, na, &back, &dl) == 0 && dl == n && !memcmp(back, s, n);
        int ranks_only = 1;
        for (size_t i = 0; a && i < na; i++) ranks_only &= a[i] >= 0 && a[i] < tiktoken_n_ranks(tk[e]);
        CHECK(ids0 && a && b && c && lossless && ranks_only && na > n0,
              "%s: BPE-dropout 0.1 decodes back to the %zu bytes, ordinary ranks only, %zu tokens > %zu deterministic",
              ENC_NAMES[e], n, na, n0);
        CHECK(a && b && c && na == nb && !memcmp(a, b, na * sizeof *a) && (na != nc || memcmp(a, c, na * sizeof *a)),
              "%s: BPE-dropout: the same rng state gives the same ids, another state other ids", ENC_NAMES[e]);
        CHECK(one && n1 == n, "%s: BPE-dropout 1.0 skips every merge: %zu tokens for %zu bytes", ENC_NAMES[e], n1, n);
        CHECK(tiny && ids0 && n_tiny == n0 && !memcmp(tiny, ids0, n0 * sizeof *ids0),
              "%s: BPE-dropout 1e-9 (no merge skipped) == the deterministic encoding (%zu tokens)", ENC_NAMES[e], n_tiny);
        free(ids0); free(a); free(b); free(c); free(one); free(tiny); free(back);
    }
    free(s);
}

// BPE-dropout's two merge loops (scan for short pieces, heap for long ones) draw different coins
// but must sample the same distribution: on the same long pieces, the mean number of parts of
// 400 draws each agrees within 4 standard errors, and every draw is a valid segmentation (bounds
// increasing to len, each part a token). A 100 KB piece with dropout takes the heap: no n^2 time.
static void check_dropout_merge_paths(Tiktoken *t, const char *name) {
    const BytesMap *ranks = tiktoken_ranks(t);
    enum { LEN = 300, DRAWS = 400 };
    unsigned char p[LEN];
    size_t b[LEN + 1];
    uint64_t rng = 11;
    int valid = 1, agree = 0, pieces = 6;
    double worst = 0;
    for (int it = 0; it < pieces; it++) {
        for (size_t i = 0; i < LEN; i++) p[i] = (unsigned char)("abcdefghij tho"[rnd() % (it < 3 ? 10 : 14)]);
        double sum[2] = {0, 0}, sq[2] = {0, 0};
        for (int heap = 0; heap < 2; heap++)
            for (int d = 0; d < DRAWS; d++) {
                for (size_t i = 0; i <= LEN; i++) b[i] = i;
                size_t n = bpe_merge_dropout(ranks, p, LEN, b, LEN, heap, 0.1f, &rng);
                for (size_t k = 0; k < n && valid; k++)
                    valid = b[k] < b[k + 1] && bytes_map_get(ranks, p + b[k], b[k + 1] - b[k]) >= 0;
                valid &= b[0] == 0 && b[n] == LEN;
                sum[heap] += n;
                sq[heap] += (double)n * n;
            }
        double m0 = sum[0] / DRAWS, m1 = sum[1] / DRAWS;
        double v0 = sq[0] / DRAWS - m0 * m0, v1 = sq[1] / DRAWS - m1 * m1;
        double z = fabs(m0 - m1) / sqrt((v0 + v1) / DRAWS + 1e-12);
        if (z > worst) worst = z;
        agree += z < 4;
    }
    CHECK(valid && agree == pieces,
          "%s: BPE-dropout 0.1, scan vs heap on %d pieces of %d bytes: every draw a valid segmentation, "
          "mean parts agree (worst |z| %.2f < 4 over %d draws each)", name, pieces, LEN, worst, DRAWS);
    size_t N = 100000, n;
    char *s = malloc(N);
    for (size_t i = 0; i < N; i++) s[i] = (char)('a' + rnd() % 26);
    double t0 = now();
    int *ids = tiktoken_encode_dropout(t, s, N, 0.02f, &rng, &n);
    double dt = now() - t0;
    CHECK(ids && dt < 2.0, "%s: BPE-dropout 0.02 on one 100 KB piece of letters: %zu tokens in %.3f s (bound 2 s)",
          name, n, dt);
    free(ids);
    free(s);
}

static void write_file(const char *path, const char *data) {
    FILE *f = fopen(path, "wb");
    fputs(data, f);
    fclose(f);
}

static void check_bad_input(Tiktoken *gpt2) {
    char err[256];
    err[0] = 0;
    CHECK(!tiktoken_load("/nonexistent/r50k.tiktoken", NULL, err, sizeof err) && strstr(err, "nonexistent"),
          "load: missing file -> NULL, \"%s\"", err);
    const char *tmp = "build/test_tiktoken_bad.tiktoken";
    const char *bad[][2] = {
        {"not base64 at all!! 0\n", "bad base64"},
        {"YQ== 0\nYg== x\n", "bad rank"},
        {"YQ== 0\nYQ== 1\n", "twice"},
        {"YQ== 0\nYg== 0\n", "twice"},
        {"YQ==\n", "expected"},
        {"\n\n", "no ranks"},
        {"YQ== 0\nYg== 1\n", "has no rank"},
        {"YQ== 0\nYg== 999999999\n", "too large"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_file(tmp, bad[i][0]);
        err[0] = 0;
        Tiktoken *t = tiktoken_load(tmp, "gpt2", err, sizeof err);
        CHECK(!t && strstr(err, bad[i][1]) && !strchr(err, '\n'), "load: corrupt file %zu -> NULL, \"%s\"", i, err);
        tiktoken_free(t);
    }
    remove(tmp);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", test_tokenizer_dir(), ENC_FILES[0]);
    err[0] = 0;
    CHECK(!tiktoken_load(path, "gpt3", err, sizeof err) && strstr(err, "unknown pattern"),
          "load: unknown pattern -> NULL, \"%s\"", err);
    int ids[3] = {15, tiktoken_vocab_size(gpt2), 3};
    char *out = (char *)1;
    size_t ol;
    CHECK(tiktoken_decode(gpt2, ids, 3, &out, &ol) == -1 && out == NULL, "decode: id %d (= vocab size) -> -1", ids[1]);
    ids[1] = -1;
    CHECK(tiktoken_decode(gpt2, ids, 3, &out, &ol) == -1, "decode: id -1 -> -1");
    CHECK(tiktoken_special_id(gpt2, "<|eot_id|>") == -1 && tiktoken_token_bytes(gpt2, 1 << 30, &ol) == NULL,
          "gpt2 has no <|eot_id|>; token_bytes(2^30) is NULL");
    size_t n;
    const char *const nope[] = {"<|endoftext|>", "<|nope|>", NULL};
    CHECK(tiktoken_encode(gpt2, "x", 1, nope, &n) == NULL && strstr(tiktoken_error(gpt2), "<|nope|>"),
          "encode: unknown allowed special -> NULL, \"%s\"", tiktoken_error(gpt2));
    // An allow-list: only the listed special is special.
    const char *const only[] = {"<|endoftext|>", NULL};
    int *a = tiktoken_encode(gpt2, "<|endoftext|>", 13, only, &n);
    CHECK(a && n == 1 && a[0] == tiktoken_special_id(gpt2, "<|endoftext|>"), "encode: allow-list {<|endoftext|>}");
    free(a);
}

int main(void) {
    char path[512];
    Tiktoken *tk[3];
    for (int e = 0; e < 3; e++) {
        char err[256];
        snprintf(path, sizeof path, "%s/%s", test_tokenizer_dir(), ENC_FILES[e]);
        double t0 = now();
        tk[e] = tiktoken_load(path, NULL, err, sizeof err);
        CHECK(tk[e] != NULL, "%s: load %s (pattern detected: %s) in %.2f s", ENC_NAMES[e], path,
              tk[e] ? tiktoken_pattern_name(tk[e]) : err, now() - t0);
        if (!tk[e] || strcmp(tiktoken_pattern_name(tk[e]), ENC_NAMES[e]) != 0) return test_summary();
    }
    char *cases_json = slurp("tests/fixtures/tiktoken/cases.json", NULL);
    char *corpus_json = slurp("tests/fixtures/tiktoken/corpus.json", NULL);
    snprintf(path, sizeof path, "%s", TEST_CORPUS);
    size_t text_len;
    char *text = slurp(path, &text_len);
    cJSON *cases = cases_json ? cJSON_Parse(cases_json) : NULL;
    cJSON *corpus = corpus_json ? cJSON_Parse(corpus_json) : NULL;
    CHECK(cases && corpus && text, "fixtures cases.json, corpus.json (tiktoken %s) and %s read",
          cases ? cJSON_GetObjectItem(cases, "tiktoken_version")->valuestring : "?", path);
    if (cases && corpus && text) {
        for (int e = 0; e < 3; e++)
            check_encoding_info(tk[e], ENC_NAMES[e],
                                cJSON_GetObjectItem(cJSON_GetObjectItem(cases, "encodings"), ENC_NAMES[e]));
        check_cases(tk, cJSON_GetObjectItem(cases, "cases"));
        check_corpus(tk, corpus, text, text_len);
        check_threads(tk[1], ENC_NAMES[1], text, text_len);
        check_bpe_dropout(tk, text, text_len);
    }
    check_round_trips(tk);
    check_stream(tk);
    for (int e = 0; e < 3; e++) check_merge_paths(tk[e], ENC_NAMES[e]);
    for (int e = 0; e < 3; e++) check_dropout_merge_paths(tk[e], ENC_NAMES[e]);
    check_long_pieces(tk);
    check_bad_input(tk[0]);
    cJSON_Delete(cases);
    cJSON_Delete(corpus);
    free(cases_json); free(corpus_json); free(text);
    for (int e = 0; e < 3; e++) tiktoken_free(tk[e]);
    return test_summary();
}
