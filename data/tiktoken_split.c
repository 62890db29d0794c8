// data/tiktoken_split.c — the first step of tiktoken's encode: cutting text into pieces with a
// regex (PCRE2, UTF + UCP, JIT). The three named patterns, and tiktoken_splitter_* (tiktoken.h),
// which data/tiktoken.c and data/hf_tokenizer.c's Split / ByteLevel pre-tokenizers use.
#include "data/tiktoken.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---------------------------------------------------------------------------------------------
// Patterns. GPT-2 and cl100k are tiktoken 0.14's own (tiktoken_ext/openai_public.py: the original
// patterns rewritten with possessive quantifiers and \s++$, which tiktoken made for speed; the
// fixtures record the strings tiktoken used). Llama 3 is Meta's tokenizer.py pattern, which is the
// original cl100k one. Read as alternatives tried left to right at each position:
// contractions ('s 't 're 've 'm 'll 'd), an optional space/punctuation + letters, numbers (GPT-2:
// any run; cl100k/Llama 3: at most 3 digits), an optional space + punctuation (+ newlines),
// newline runs, and whitespace that is not followed by a non-space (so " word" keeps its space).

typedef struct { const char *name; const char *regex; } PatternDef;

static const PatternDef PATTERNS[] = {
    {"gpt2", "'(?:[sdmt]|ll|ve|re)| ?\\p{L}++| ?\\p{N}++| ?[^\\s\\p{L}\\p{N}]++|\\s++$|\\s+(?!\\S)|\\s"},
    {"cl100k", "'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}++|\\p{N}{1,3}+|"
               " ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*+|\\s++$|\\s*[\\r\\n]|\\s+(?!\\S)|\\s"},
    {"llama3", "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}|"
               " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
};
#define N_PATTERNS (int)(sizeof PATTERNS / sizeof PATTERNS[0])

// ---------------------------------------------------------------------------------------------
// The regex split.

struct TiktokenSplitter {
    const char *name, *regex;
    char *owned;         // the regex's copy
    pcre2_code *code;
};

TiktokenSplitter *tiktoken_splitter_new(const char *pattern, char *err, size_t errlen) {
    const PatternDef *def = NULL;
    for (int i = 0; i < N_PATTERNS; i++)
        if (pattern && strcmp(pattern, PATTERNS[i].name) == 0) def = &PATTERNS[i];
    if (!def) {
        snprintf(err, errlen, "unknown pattern '%s' (expected gpt2, cl100k or llama3)",
                 pattern ? pattern : "(null)");
        return NULL;
    }
    TiktokenSplitter *sp = tiktoken_splitter_new_regex(def->regex, err, errlen);
    if (sp) sp->name = def->name;
    return sp;
}

TiktokenSplitter *tiktoken_splitter_new_regex(const char *regex, char *err, size_t errlen) {
    // UTF + UCP: \p{L}, \s, \S and (?i) follow Unicode. MATCH_INVALID_UTF: a subject with invalid
    // UTF-8 is allowed; no match can include an invalid byte, so they fall between matches.
    // DOLLAR_ENDONLY: $ means end of text, as in Rust's regex (PCRE's $ also matches before a
    // final newline).
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)regex, PCRE2_ZERO_TERMINATED,
                                     PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF |
                                         PCRE2_DOLLAR_ENDONLY,
                                     &ec, &eo, NULL);
    if (!code) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(ec, msg, sizeof msg);
        snprintf(err, errlen, "regex /%.60s%s/: PCRE2 compile error at %zu: %s", regex,
                 strlen(regex) > 60 ? "..." : "", (size_t)eo, (char *)msg);
        return NULL;
    }
    // JIT when available (PCRE2 falls back to its interpreter by itself if this fails).
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
    TiktokenSplitter *sp = calloc(1, sizeof *sp);
    char *copy = strdup(regex);
    if (!sp || !copy) { free(sp); free(copy); pcre2_code_free(code); snprintf(err, errlen, "out of memory"); return NULL; }
    sp->name = "custom";
    sp->regex = sp->owned = copy;
    sp->code = code;
    return sp;
}

void tiktoken_splitter_free(TiktokenSplitter *sp) {
    if (!sp) return;
    pcre2_code_free(sp->code);
    free(sp->owned);
    free(sp);
}

const char *tiktoken_splitter_pattern(const TiktokenSplitter *sp) { return sp->regex; }
const char *tiktoken_splitter_name(const TiktokenSplitter *sp) { return sp->name; }

// findall: each match is a piece; a stretch no match covers (invalid UTF-8) is a piece too.
int tiktoken_splitter_run(const TiktokenSplitter *sp, const char *text, size_t len,
                          TiktokenPieceFn fn, void *ctx, char *err, size_t errlen) {
    const unsigned char *s = (const unsigned char *)text;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(sp->code, NULL);
    pcre2_match_context *mc = pcre2_match_context_create(NULL);
    if (!md || !mc) { pcre2_match_data_free(md); pcre2_match_context_free(mc); snprintf(err, errlen, "out of memory"); return -1; }
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    size_t pos = 0;
    int ret = 0;
    while (pos < len && ret == 0) {
        // PCRE2's default limit, 10 million steps a match, stops an alternative such as
        // \s*[\r\n]+ that scans a whitespace run of 10 MB and backs out of it: allow steps in
        // proportion to the text left (a linear pattern's scan), still a bound for one that is not
        uint64_t limit = 10000000 + 4 * (uint64_t)(len - pos);
        pcre2_set_match_limit(mc, limit > UINT32_MAX ? UINT32_MAX : (uint32_t)limit);
        int rc = pcre2_match(sp->code, s, len, pos, 0, md, mc);
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT)  // the interpreter keeps its frames on the heap
            rc = pcre2_match(sp->code, s, len, pos, PCRE2_NO_JIT, md, mc);
        size_t ms, me;
        if (rc == PCRE2_ERROR_NOMATCH) {
            ms = me = len;
        } else if (rc < 0) {
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(rc, msg, sizeof msg);
            snprintf(err, errlen, "PCRE2 match error at byte %zu: %s", pos, (char *)msg);
            ret = -1;
            break;
        } else {
            ms = ov[0];
            me = ov[1];
            if (me <= ms) {  // not with the named patterns (every alternative consumes a character)
                snprintf(err, errlen, "pattern %s matched empty text at byte %zu", sp->name, ms);
                ret = -1;
                break;
            }
        }
        if (ms > pos) ret = fn(s + pos, ms - pos, ctx);  // the uncovered (invalid) bytes
        if (ret == 0 && me > ms) ret = fn(s + ms, me - ms, ctx);
        pos = me;
    }
    pcre2_match_data_free(md);
    pcre2_match_context_free(mc);
    return ret;
}
