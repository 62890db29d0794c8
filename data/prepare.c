// data/prepare.c — bin/prepare: split a text file into train and val, and tokenize each into
// an llm.c token shard (data/shards.h).
//
//   bin/prepare [--tokenizer RANKS] [--pattern NAME] [--val-frac F] [--out-dir DIR]
//               [--bpe-dropout P --variants K --seed N] TEXT
//
// The split is on bytes, before tokenizing: val is the last F of the file (default 10%),
// starting at the first line break at or after byte floor(size * (1 - F)), so no line (and no
// UTF-8 character) is cut in two; train is everything before. Both halves are written as
// DIR/train.txt and DIR/val.txt (bin/bpe-train learns a vocabulary from train.txt only, so val
// stays unseen), and with --tokenizer as DIR/train.bin and DIR/val.bin.
//
// --variants K also writes the train split K more times with BPE-dropout (data/tiktoken.h
// tiktoken_encode_dropout), as DIR/train_bpe_dropout_00.bin ...: variant k draws from the stream
// (seed, k), so the files are reproducible. bin/train --data 'DIR/train_bpe_dropout_*.bin' reads
// variant e mod K in epoch e (data/dataloader.h): the same text in another segmentation each
// pass, a data augmentation for a run that sees its small corpus many times. val stays the
// deterministic encoding, which is what generation and evaluation use. Variants numbered K and
// up, left by an earlier run, are removed whenever --tokenizer is given.
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "util/atomic_file.h"
#include "util/errors.h"
#include "util/flags.h"
#include "util/read_file.h"
#include "util/rng.h"
#include "util/files.h"
#include "data/shards.h"
#include "data/tiktoken.h"

// ---- the command line: one row per flag (util/flags.h) ----

typedef struct {
    const char *tokenizer, *pattern, *out_dir;
    double val_frac, drop;
    int variants;
    uint64_t seed;
} PrepareOptions;

#define F(field) FLAG_FIELD(PrepareOptions, field)
static const FlagRow rows[] = {
    {"tokenizer", K_STR, F(tokenizer), 0, 0, 0, NULL, NULL, 0, 0, "FILE",
     "tiktoken rank file (e.g. from bin/bpe-train); without it only the .txt\nhalves are written"},
    {"pattern", K_STR, F(pattern), 0, 0, 0, NULL, NULL, 0, 0, "NAME",
     "gpt2 | cl100k | llama3: the tokenizer's split pattern (default: the one\n"
     "recorded in FILE.pattern, else detected from the rank count; see\ndata/tiktoken.h)"},
    {"val-frac", K_F64, F(val_frac), 0, 1, 1, NULL, "0.1", 0, 0, "F", "fraction of the bytes that goes to val, 0 < F < 1"},
    {"out-dir", K_STR, F(out_dir), 0, 0, 0, NULL, NULL, 0, 0, "DIR",
     "where train.txt, val.txt, train.bin, val.bin go (default: TEXT's directory)"},
    {"variants", K_INT, F(variants), 0, 100, 0, NULL, "0", 0, 0, "K",
     "also write K BPE-dropout encodings of the train split,\ntrain_bpe_dropout_00.bin ... (needs --tokenizer)"},
    {"bpe-dropout", K_F64, F(drop), 0, 1, 0, NULL, "0.02", 0, 0, "P", "their merge-skip probability, 0 <= P <= 1"},
    {"seed", K_U64, F(seed), 0, 9.2e18, 0, NULL, "1337", 0, 0, "N", "their random streams"},
};
#define N_ROWS (int)(sizeof rows / sizeof rows[0])
static const FlagTable table = {
    rows, N_ROWS,
    "usage: bin/prepare [options] TEXT\n"
    "Split TEXT into train (first part) and val (last part, starting at a line break), write both\n"
    "as text, and with --tokenizer tokenize each into an llm.c token shard.\n",
    NULL, NULL, NULL, NULL,
};


static void write_text(const char *path, const char *p, size_t n) {
    char err[512];
    if (atomic_write_file(path, p, n, err, sizeof err)) die("%s", err);
}

// drop = 0: the deterministic encoding; else BPE-dropout with the random stream *rng
static void tokenize_to(Tiktoken *tok, const char *what, const char *p, size_t n, const char *path,
                        float drop, uint64_t *rng) {
    size_t ntok;
    int *ids = drop > 0 ? tiktoken_encode_dropout(tok, p, n, drop, rng, &ntok)
                        : tiktoken_encode_ordinary(tok, p, n, &ntok);
    if (!ids) die("tokenizing %s: %s", what, tiktoken_error(tok));
    if (ntok == 0) die("%s: no tokens (empty text)", what);
    char err[512];
    if (shard_write(path, ids, ntok, tiktoken_vocab_size(tok), err, sizeof err)) die("%s", err);
    fprintf(stderr, "prepare: %s: %zu bytes -> %zu tokens (%.3f bytes/token) -> %s\n", what, n, ntok,
            (double)n / ntok, path);
    free(ids);
}

int main(int argc, char **argv) {
    PrepareOptions o = {0};
    unsigned char given[N_ROWS];
    int optind = flags_parse(&table, argc, argv, &o, given);
    if (o.val_frac >= 1) die("--val-frac: must be below 1 (1 leaves nothing to train on), got %g", o.val_frac);
    const char *tokenizer = o.tokenizer, *pattern = o.pattern, *out_dir = o.out_dir;
    double val_frac = o.val_frac, drop = o.drop;
    long variants = o.variants;
    unsigned long long seed = o.seed;
    if (optind != argc - 1) die("expected one TEXT file (see --help)");
    const char *text_path = argv[optind];
    if (variants > 0 && !tokenizer) die("--variants needs --tokenizer");
    char dir[4096];
    if (out_dir) snprintf(dir, sizeof dir, "%s", out_dir);
    else {
        snprintf(dir, sizeof dir, "%s", text_path);
        char *slash = strrchr(dir, '/');
        if (slash) *slash = '\0'; else strcpy(dir, ".");
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) die("--out-dir %s: %s", dir, strerror(errno));

    Tiktoken *tok = NULL;
    if (tokenizer) {
        char err[512];
        tok = tiktoken_load(tokenizer, pattern, err, sizeof err);
        if (!tok) die("--tokenizer %s: %s", tokenizer, err);
    }

    size_t n;
    char rerr[1200];
    char *text = read_file_all(text_path, &n, rerr, sizeof rerr);
    if (!text) die("%s", rerr);
    if (n < 2) die("%s: too short to split", text_path);
    // the cut: the first '\n' at or after (1 - val_frac) of the bytes; val starts after it
    size_t cut = (size_t)((double)n * (1.0 - val_frac));
    while (cut < n && text[cut] != '\n') cut++;
    if (cut < n) cut++;
    if (cut >= n) {   // no line break: cut at a UTF-8 character boundary instead
        cut = (size_t)((double)n * (1.0 - val_frac));
        while (cut > 0 && ((unsigned char)text[cut] & 0xC0) == 0x80) cut--;
    }
    if (cut == 0 || cut >= n) die("%s: cannot split into non-empty train and val parts", text_path);

    char path[4200];
    snprintf(path, sizeof path, "%s/train.txt", dir);
    write_text(path, text, cut);
    snprintf(path, sizeof path, "%s/val.txt", dir);
    write_text(path, text + cut, n - cut);
    fprintf(stderr, "prepare: %s: %zu bytes -> train %zu bytes, val %zu bytes (split at byte %zu, a line start)\n",
            text_path, n, cut, n - cut, cut);
    if (tok) {
        snprintf(path, sizeof path, "%s/train.bin", dir);
        tokenize_to(tok, "train", text, cut, path, 0, NULL);
        snprintf(path, sizeof path, "%s/val.bin", dir);
        tokenize_to(tok, "val", text + cut, n - cut, path, 0, NULL);
        for (long k = 0; k < variants; k++) {
            char what[64];
            uint64_t rng = rng_derive(seed, (uint64_t)k);
            snprintf(what, sizeof what, "train, BPE-dropout %g #%ld", drop, k);
            snprintf(path, sizeof path, "%s/train_bpe_dropout_%02ld.bin", dir, k);
            tokenize_to(tok, what, text, cut, path, (float)drop, &rng);
        }
        // variants from an earlier run with a larger K (or another tokenizer) would be read too
        // by the glob, so they go
        for (long k = variants; k < 100; k++) {
            snprintf(path, sizeof path, "%s/train_bpe_dropout_%02ld.bin", dir, k);
            if (unlink(path) == 0) fprintf(stderr, "prepare: removed %s (an earlier run's variant)\n", path);
        }
        tiktoken_free(tok);
    }
    free(text);
    return 0;
}
