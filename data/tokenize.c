// data/tokenize.c — bin/tokenize: text on stdin -> token ids on stdout, or back with --decode.
//
//   bin/tokenize --tokenizer data/tokenizers/gpt2/r50k_base.tiktoken < text.txt
//   echo 15496 11 995 | bin/tokenize --tokenizer r50k_base.tiktoken --decode
//   bin/tokenize --tokenizer llama2/tokenizer.json < text.txt      (Hugging Face tokenizer.json)
//   bin/tokenize --tokenizer r50k_base.tiktoken --bench < data/tinyshakespeare.txt
//   bin/tokenize --bench --tokenizer A --tokenizer B < text.txt     (side by side, in turns)
//   bin/tokenize --encoding r50k_base.tiktoken --bpe-dropout 0.1 --seed 2 < text.txt
//   bin/tokenize --ranks-from-json llama3/tokenizer.json > llama3/tokenizer.model
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <stb/stb_ds.h>

#include "util/errors.h"
#include "util/flags.h"
#include "data/hf_vocab.h"
#include "util/rng.h"
#include "data/tiktoken.h"
#include "infer/tokenizer.h"

// ---- the command line: one row per flag (util/flags.h) ----

typedef struct {
    const char *files[4];   // --tokenizer / --encoding, in order
    int n_files;
    const char *pattern, *from_json;
    int special, decode, count, bench;
    double drop;
    uint64_t seed;
} TokenizeOptions;

#define F(field) FLAG_FIELD(TokenizeOptions, field)
static const FlagRow rows[] = {
    {"tokenizer", K_EACH, 0, 0, 0, 0, 0, NULL, NULL, 0, 0, "FILE",
     "a tiktoken rank file (r50k_base.tiktoken, cl100k_base.tiktoken, Llama 3\n"
     "tokenizer.model, one from bin/bpe-train), a llama2.c tokenizer.bin, or a\n"
     "Hugging Face tokenizer.json (told apart by content; required)"},
    {"encoding", K_EACH, 0, 0, 0, 0, 0, NULL, NULL, 0, 0, "FILE", "the same as --tokenizer"},
    {"pattern", K_STR, F(pattern), 0, 0, 0, NULL, NULL, 0, 0, "NAME",
     "tiktoken: gpt2 | cl100k | llama3 (default: the one recorded in FILE.pattern,\n"
     "else detected from the number of ranks)"},
    {"special", K_SWITCH, F(special), 0, 0, 0, NULL, NULL, 0, 0, NULL,
     "encode special-token text such as <|endoftext|> as the special token\n"
     "(else it is encoded as ordinary text)"},
    {"decode", K_SWITCH, F(decode), 0, 0, 0, NULL, NULL, 0, 0, NULL,
     "read ids from stdin, write the text they stand for (a tokenizer.json: HF\ntokenizers' decode)"},
    {"count", K_SWITCH, F(count), 0, 0, 0, NULL, NULL, 0, 0, NULL, "print only the number of tokens"},
    {"bench", K_SWITCH, F(bench), 0, 0, 0, NULL, NULL, 0, 0, NULL,
     "encode stdin repeatedly on one thread and print MB/s; with --tokenizer\n"
     "given up to 4 times, each in turn in the same rounds"},
    {"bpe-dropout", K_F64, F(drop), 0, 1, 0, NULL, "0", 0, 0, "P",
     "tiktoken: encode with BPE-dropout: each possible merge skipped with probability\n"
     "P, 0 <= P <= 1 (a random, finer segmentation; 0: off)"},
    {"seed", K_U64, F(seed), 0, 9.2e18, 0, NULL, "1337", 0, 0, "N",
     "BPE-dropout's random stream (the same text, pattern and seed give\n"
     "bin/prepare --variants' first variant)"},
    {"ranks-from-json", K_STR, F(from_json), 0, 0, 0, NULL, NULL, 0, 0, "FILE",
     "write the tiktoken rank file of a byte-level BPE tokenizer.json\n"
     "(GPT-2, Llama 3: rank = id) to stdout, and nothing else"},
};
#define N_ROWS (int)(sizeof rows / sizeof rows[0])

static void add_file(const FlagRow *r, const char *value, void *settings) {
    TokenizeOptions *o = settings;
    if (o->n_files == 4) die("--tokenizer: at most 4 files");
    o->files[o->n_files++] = value;
}

static const FlagTable table = {
    rows, N_ROWS,
    "usage: bin/tokenize --tokenizer FILE [options] < input\n"
    "Encodes stdin to token ids (space-separated, one line) or decodes ids back to bytes.\n",
    NULL, add_file, NULL, NULL,
};

static char *read_all(FILE *f, size_t *len) {
    char *buf = NULL;  // stb_ds array
    for (;;) {
        char *dst = arraddnptr(buf, 1 << 16);
        size_t got = fread(dst, 1, 1 << 16, f);
        arrsetlen(buf, arrlenu(buf) - (1 << 16) + got);
        if (got == 0) break;
    }
    if (ferror(f)) die("read error on stdin");
    *len = arrlenu(buf);
    return buf;
}

static double seconds(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

int main(int argc, char **argv) {
    TokenizeOptions o = {0};
    unsigned char given[N_ROWS];
    int optind = flags_parse(&table, argc, argv, &o, given);
    if (optind < argc) die("unexpected argument '%s' (input comes from stdin)", argv[optind]);
    const char *encoding = o.n_files ? o.files[0] : NULL, *pattern = o.pattern, *from_json = o.from_json;
    const char *const *files = o.files;
    int n_files = o.n_files, special = o.special, decode = o.decode, count = o.count, bench = o.bench;
    double drop = o.drop;
    unsigned long long seed = o.seed;
    char err[512];
    if (from_json) {
        if (encoding || decode || count || bench || special || drop > 0)
            die("--ranks-from-json converts a file: no other mode flags with it");
        if (hf_bytelevel_write_ranks(from_json, stdout, err, sizeof err) < 0) die("%s", err);
        if (fflush(stdout) != 0 || ferror(stdout)) die("write error on stdout: %s", strerror(errno));
        return 0;
    }
    if (!encoding) die("--tokenizer FILE is required (see --help)");
    if (n_files > 1 && !bench) die("--tokenizer more than once is for --bench only");
    if (drop > 0 && (special || decode || bench))
        die("--bpe-dropout encodes ordinary text: not with --special, --decode or --bench");

    // the tokenizers live in a static so that they stay reachable when die() exits part-way (bad
    // ids): the leak checker of `make test SAN=1` does not count them as lost memory then
    static Tokenizer tks[4];
    for (int k = 0; k < n_files; k++)
        if (tokenizer_open(&tks[k], files[k], pattern, err, sizeof err) != 0) die("%s", err);
    Tokenizer *tok = &tks[0];
    Tiktoken *t = tok->kind == TOKENIZER_TIKTOKEN ? tok->tt : NULL;
    if (pattern && tok->kind != TOKENIZER_TIKTOKEN) die("--pattern is for tiktoken rank files only");
    if (drop > 0 && !t) die("--bpe-dropout is for tiktoken rank files only");
    size_t len;
    char *in = read_all(stdin, &len);

    if (decode) {
        // Ids separated by whitespace; each must be a token of this encoding.
        static int *ids;  // static: reachable for the leak checker when die() exits on a bad id
        ids = NULL;
        size_t i = 0;
        while (i < len) {
            while (i < len && strchr(" \t\r\n", in[i]) && in[i]) i++;
            if (i >= len) break;
            size_t j = i;
            while (j < len && in[j] >= '0' && in[j] <= '9') j++;
            int ends_well = j == len || (in[j] != 0 && strchr(" \t\r\n", in[j]));
            if (j == i || j - i > 9 || !ends_well) {
                size_t k = i;
                while (k < len && k < i + 20 && !strchr(" \t\r\n", in[k]) && in[k]) k++;
                die("not a token id: '%.*s'", (int)(k > i ? k - i : 1), in + i);
            }
            long id = strtol(in + i, NULL, 10);
            if (id >= tok->vocab_size)
                die("id %ld is out of range (not a token of %s, vocabulary size %d)", id, encoding,
                    tok->vocab_size);
            size_t tl;
            if (!tokenizer_token_bytes(tok, -1, (int)id, &tl))   // cl100k: 100256 and 100261..100275
                die("id %ld is not a token of %s (an unused id inside its vocabulary)", id, encoding);
            arrput(ids, (int)id);
            i = j;
        }
        size_t out_len;
        char *out = tokenizer_decode(tok, ids, arrlenu(ids), &out_len, err, sizeof err);
        if (!out) die("%s", err);
        fwrite(out, 1, out_len, stdout);
        free(out);
        arrfree(ids);
    } else if (bench) {
        // Best of several rounds over the whole input, single thread; in each round every
        // tokenizer in turn, so that they share the machine's state. Wall-clock time, and this
        // thread's CPU time (less disturbed when other processes share the cores).
        size_t n[4] = {0};
        double best[4], best_cpu[4], total = 0;
        for (int k = 0; k < n_files; k++) best[k] = best_cpu[k] = 1e30;
        for (int rep = 0; rep < 20 && (rep < 3 || total < 2.0 * n_files); rep++)
            for (int k = 0; k < n_files; k++) {
                double t0 = seconds(CLOCK_MONOTONIC), c0 = seconds(CLOCK_THREAD_CPUTIME_ID);
                int *ids = tokenizer_encode_text(&tks[k], in, len, 0, &n[k], err, sizeof err);
                double dt = seconds(CLOCK_MONOTONIC) - t0, dc = seconds(CLOCK_THREAD_CPUTIME_ID) - c0;
                if (!ids) die("%s", err);
                free(ids);
                total += dt;
                if (dt < best[k]) best[k] = dt;
                if (dc < best_cpu[k]) best_cpu[k] = dc;
            }
        for (int k = 0; k < n_files; k++) {
            const char *kind = tks[k].kind == TOKENIZER_TIKTOKEN ? tiktoken_pattern_name(tks[k].tt)
                             : tks[k].kind == TOKENIZER_HF ? "tokenizer.json" : "tokenizer.bin";
            printf("tokenize --bench %s (%s): %zu bytes -> %zu tokens, encode %.2f MB/s wall, "
                   "%.2f MB/s CPU time (best of runs, 1 thread)\n", files[k], kind, len, n[k],
                   len / best[k] / 1e6, len / best_cpu[k] / 1e6);
        }
    } else {
        size_t n;
        uint64_t rng = rng_derive(seed, 0);   // bin/prepare --seed N's first variant draws the same
        int *ids = drop > 0 ? tiktoken_encode_dropout(t, in, len, (float)drop, &rng, &n)
                            : tokenizer_encode_text(tok, in, len, special, &n, err, sizeof err);
        if (!ids) die("%s", drop > 0 ? tiktoken_error(t) : err);
        if (count) {
            printf("%zu\n", n);
        } else {
            for (size_t i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
            printf("\n");
        }
        free(ids);
    }
    flush_stdout_or_die();
    arrfree(in);
    for (int k = 0; k < n_files; k++) tokenizer_close(&tks[k]);
    return 0;
}
