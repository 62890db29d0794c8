// tests/test_hf_tokenizer.c — data/hf_tokenizer.c against HF tokenizers' ids and decodes, for
// Llama 3's tokenizer.json (byte-level BPE) and Llama 2's (SentencePiece-style BPE, byte fallback).
//
// Fixtures: tests/fixtures/tokenizer_json/{cases,corpus}.json from
// tools/make_tokenizer_json_fixtures.py (HF tokenizers on the same files). The tokenizer.json
// files come from data/tokenizers/ (scripts/fetch_tokenizers.sh; TOKENIZER_DIR overrides).
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/hf_tokenizer.h"
#include "util/read_file.h"
#include "data/tiktoken.h"
#include "tests/test.h"
#include "tests/tok_fixture.h"

static const char *NAMES[2] = {"llama3", "llama2"};

static int ids_equal(const int *ids, size_t n, const cJSON *arr) { return first_diff(ids, n, arr, 0, 1) < 0; }

// decode(ids) against the fixture's base64 string
static int decode_equal(const HfTokenizer *t, const int *ids, size_t n, int skip, const char *want_b64) {
    char err[256];
    size_t len;
    char *s = hf_tokenizer_decode(t, ids, n, skip, &len, err, sizeof err);
    unsigned char *want = malloc(strlen(want_b64) + 4);
    size_t wn = unb64(want_b64, want);
    int ok = s && len == wn && memcmp(s, want, wn) == 0;
    free(s);
    free(want);
    return ok;
}

static int *json_ids(const cJSON *arr, size_t *n) {
    *n = (size_t)cJSON_GetArraySize(arr);
    int *ids = malloc((*n ? *n : 1) * sizeof *ids);
    size_t i = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, arr) ids[i++] = x->valueint;
    return ids;
}

static void check_cases(HfTokenizer **tk, const cJSON *cases) {
    for (int k = 0; k < 2; k++) {
        int n_cases = 0, bad_all = 0, bad_ord = 0, bad_dec = 0, bad_skip = 0;
        const char *first_bad = NULL;
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItem(cases, "cases")) {
            const char *name = cJSON_GetObjectItem(c, "name")->valuestring;
            const cJSON *rec = cJSON_GetObjectItem(c, NAMES[k]);
            const char *b64 = cJSON_GetObjectItem(c, "b64")->valuestring;
            unsigned char *text = malloc(strlen(b64) + 4);
            size_t len = unb64(b64, text);
            char err[256];
            size_t n1, n2;
            int *all = hf_tokenizer_encode(tk[k], (char *)text, len, 1, &n1, err, sizeof err);
            int *ord = hf_tokenizer_encode(tk[k], (char *)text, len, 0, &n2, err, sizeof err);
            size_t nw;
            int *want = json_ids(cJSON_GetObjectItem(rec, "all"), &nw);
            int a = all && ids_equal(all, n1, cJSON_GetObjectItem(rec, "all"));
            int o = ord && ids_equal(ord, n2, cJSON_GetObjectItem(rec, "ordinary"));
            int d = decode_equal(tk[k], want, nw, 0, cJSON_GetObjectItem(rec, "dec")->valuestring);
            int s = decode_equal(tk[k], want, nw, 1, cJSON_GetObjectItem(rec, "dec_skip")->valuestring);
            bad_all += !a; bad_ord += !o; bad_dec += !d; bad_skip += !s;
            if ((!a || !o || !d || !s) && !first_bad) first_bad = name;
            n_cases++;
            free(all); free(ord); free(want); free(text);
        }
        CHECK(bad_all == 0, "%s: encode == HF tokenizers' ids (added tokens matched) on %d cases (%d differ%s%s)",
              NAMES[k], n_cases, bad_all, first_bad ? ", first: " : "", first_bad ? first_bad : "");
        CHECK(bad_ord == 0, "%s: encode, special-token text as text == HF's encode_special_tokens on %d cases (%d differ)",
              NAMES[k], n_cases, bad_ord);
        CHECK(bad_dec == 0 && bad_skip == 0, "%s: decode == HF's decode on %d cases' ids, skip_special_tokens "
              "False and True (%d, %d differ)", NAMES[k], n_cases, bad_dec, bad_skip);
    }
    // random id sequences: byte tokens in runs, specials, anything
    int n = 0, bad = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(cases, "random_decode")) {
        int k = strcmp(cJSON_GetObjectItem(r, "tok")->valuestring, NAMES[0]) == 0 ? 0 : 1;
        size_t m;
        int *ids = json_ids(cJSON_GetObjectItem(r, "ids"), &m);
        bad += !decode_equal(tk[k], ids, m, 0, cJSON_GetObjectItem(r, "dec")->valuestring) ||
               !decode_equal(tk[k], ids, m, 1, cJSON_GetObjectItem(r, "dec_skip")->valuestring);
        n++;
        free(ids);
    }
    CHECK(n > 0 && bad == 0, "decode of %d random id sequences (byte tokens, specials, lossy UTF-8) == HF's (%d differ)",
          n, bad);
}

static void check_corpus(HfTokenizer **tk, const cJSON *corpus, const char *text, size_t len, Tiktoken *l3) {
    for (int k = 0; k < 2; k++) {
        const cJSON *c = cJSON_GetObjectItem(corpus, NAMES[k]);
        char err[256], fnv[32], dfnv[32];
        size_t n = 0, dl = 0;
        int *ids = hf_tokenizer_encode(tk[k], text, len, 1, &n, err, sizeof err);
        snprintf(fnv, sizeof fnv, "%016llx", ids ? (unsigned long long)fnv_ids(ids, n) : 0ull);
        long d1 = ids ? first_diff(ids, n, cJSON_GetObjectItem(c, "first"), 0, 0) : 0;
        int want_n = cJSON_GetObjectItem(c, "count")->valueint;
        long d2 = ids && (int)n >= want_n ? first_diff(ids, n, cJSON_GetObjectItem(c, "last"), n - 1024, 1) : 0;
        CHECK(ids && (int)n == want_n && strcmp(fnv, cJSON_GetObjectItem(c, "fnv1a64")->valuestring) == 0 && d1 < 0 && d2 < 0,
              "%s: tiny Shakespeare: %zu ids (HF %d), FNV-1a %s (HF %s), first/last ids %s", NAMES[k], n, want_n, fnv,
              cJSON_GetObjectItem(c, "fnv1a64")->valuestring, d1 < 0 && d2 < 0 ? "equal" : "differ");
        char *back = ids ? hf_tokenizer_decode(tk[k], ids, n, 0, &dl, err, sizeof err) : NULL;
        snprintf(dfnv, sizeof dfnv, "%016llx", back ? (unsigned long long)fnv_bytes(back, dl) : 0ull);
        CHECK(back && strcmp(dfnv, cJSON_GetObjectItem(c, "decode_fnv1a64")->valuestring) == 0 && dl == len &&
              memcmp(back, text, len) == 0, "%s: decode(corpus ids) == HF's decode == the corpus (%zu bytes)", NAMES[k], dl);
        if (k == 0 && ids && l3) {
            // Meta's tokenizer.model through tiktoken.c: rank-of-merged-bytes merges give the
            // same ids as this file's merges-by-pair-rank
            size_t m;
            int *t2 = tiktoken_encode_ordinary(l3, text, len, &m);
            int same = t2 && m == n && memcmp(t2, ids, n * sizeof *ids) == 0;
            CHECK(same, "llama3: tokenizer.json (HF BPE, merges by pair rank) and tokenizer.model (tiktoken, rank of "
                  "merged bytes) give the same %zu corpus ids", n);
            free(t2);
        }
        free(back);
        free(ids);
    }
}

// A tokenizer.json written to a temporary file must fail to load with a message containing want.
static void expect_load_error(const char *what, const char *json, const char *want) {
    char path[] = "/tmp/test_hf_tok.XXXXXX", err[512] = "";
    int fd = mkstemp(path);
    if (fd < 0) { CHECK(0, "mkstemp"); return; }
    FILE *f = fdopen(fd, "w");
    fputs(json, f);
    fclose(f);
    HfTokenizer *t = hf_tokenizer_load(path, err, sizeof err);
    unlink(path);
    CHECK(!t && strstr(err, want) && !strchr(err, '\n'), "%s: refused, \"%s\"", what, err);
    hf_tokenizer_free(t);
}

static void check_bad_input(void) {
    expect_load_error("malformed JSON", "{\"model\": {\"type\": \"BPE\", ", "malformed JSON");
    expect_load_error("unknown model type", "{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}",
                      "model.type \"Unigram\" is not supported");
    expect_load_error("missing vocab", "{\"model\": {\"type\": \"BPE\", \"merges\": []}}", "model.vocab is missing");
    expect_load_error("bad Split regex",
                      "{\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"Regex\": \"(\\\\p{L\"}, \"behavior\": "
                      "\"Isolated\", \"invert\": false}, \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}",
                      "PCRE2 compile error");
    expect_load_error("merge of an unknown token",
                      "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, \"merges\": [\"a c\"]}}",
                      "names a token not in model.vocab");
    expect_load_error("merge into an unknown token",
                      "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [[\"a\", \"b\"]]}}",
                      "merges into a token not in model.vocab");
    expect_load_error("unsupported normalizer",
                      "{\"normalizer\": {\"type\": \"NFKC\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}",
                      "normalizer \"NFKC\" is not supported");
    expect_load_error("id twice", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 0}, \"merges\": []}}",
                      "id 0 appears twice");
    expect_load_error("not byte-level", "{\"pre_tokenizer\": {\"type\": \"ByteLevel\", \"use_regex\": false}, "
                      "\"model\": {\"type\": \"BPE\", \"vocab\": {\"\\u2581a\": 0}, \"merges\": []}}", "is not byte-level");
    char err[256] = "";
    CHECK(!hf_tokenizer_load("/nonexistent/tokenizer.json", err, sizeof err) && strstr(err, "/nonexistent/tokenizer.json"),
          "missing file: \"%s\"", err);
}

int main(void) {
    char path[1024], err[512];
    HfTokenizer *tk[2] = {NULL, NULL};
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/%s/tokenizer.json", test_tokenizer_dir(), NAMES[k]);
        tk[k] = hf_tokenizer_load(path, err, sizeof err);
        CHECK(tk[k] != NULL, "load %s (%s)", path, tk[k] ? "ok" : err);
    }
    size_t l1 = 0, l2 = 0, tl = 0;
    char *cases_json = read_file_all("tests/fixtures/tokenizer_json/cases.json", &l1, err, sizeof err);
    char *corpus_json = read_file_all("tests/fixtures/tokenizer_json/corpus.json", &l2, err, sizeof err);
    char *text = read_file_all(TEST_CORPUS, &tl, err, sizeof err);
    cJSON *cases = cases_json ? cJSON_Parse(cases_json) : NULL, *corpus = corpus_json ? cJSON_Parse(corpus_json) : NULL;
    CHECK(cases && corpus && text, "fixtures tokenizer_json/{cases,corpus}.json (tokenizers %s) and %s read",
          cases ? cJSON_GetObjectItem(cases, "tokenizers_version")->valuestring : "?", TEST_CORPUS);
    if (tk[0] && tk[1] && cases && corpus && text) {
        const cJSON *info = cJSON_GetObjectItem(cases, "tokenizers");
        for (int k = 0; k < 2; k++) {
            const cJSON *in = cJSON_GetObjectItem(info, NAMES[k]), *sp;
            int want = cJSON_GetObjectItem(in, "vocab_size")->valueint, ok = hf_tokenizer_vocab_size(tk[k]) == want;
            cJSON_ArrayForEach(sp, cJSON_GetObjectItem(in, "special"))
                ok &= hf_tokenizer_token_id(tk[k], sp->string) == sp->valueint && hf_tokenizer_is_special(tk[k], sp->valueint);
            CHECK(ok, "%s: vocabulary size %d and the ids of %d special tokens as HF's", NAMES[k], want,
                  cJSON_GetArraySize(cJSON_GetObjectItem(in, "special")));
        }
        CHECK(hf_tokenizer_byte_level(tk[0]) && !hf_tokenizer_byte_level(tk[1]) && !hf_tokenizer_strips_lead_space(tk[0]) &&
              hf_tokenizer_strips_lead_space(tk[1]), "families: llama3 byte-level, llama2 SentencePiece-style (decoder strips the dummy prefix)");
        check_cases(tk, cases);
        snprintf(path, sizeof path, "%s/llama3/tokenizer.model", test_tokenizer_dir());
        Tiktoken *l3 = tiktoken_load(path, NULL, err, sizeof err);
        check_corpus(tk, corpus, text, tl, l3);
        tiktoken_free(l3);
    }
    check_bad_input();
    cJSON_Delete(cases);
    cJSON_Delete(corpus);
    free(cases_json); free(corpus_json); free(text);
    hf_tokenizer_free(tk[0]);
    hf_tokenizer_free(tk[1]);
    return test_summary();
}
