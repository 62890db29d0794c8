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
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "util/atomic_file.h"
#include "util/errors.h"
#include "util/read_file.h"
#include "util/rng.h"
#include "util/files.h"
#include "data/shards.h"
#include "data/tiktoken.h"

static void usage(FILE *f) {
    fprintf(f,
"usage: bin/prepare [options] TEXT\n"
"Split TEXT into train (first part) and val (last part, starting at a line break), write both\n"
"as text, and with --tokenizer tokenize each into an llm.c token shard.\n"
"  --tokenizer FILE   tiktoken rank file (e.g. from bin/bpe-train); without it only the .txt\n"
"                     halves are written (default none)\n"
"  --pattern NAME     gpt2 | cl100k | llama3: the tokenizer's split pattern (default: the one\n"
"                     recorded in FILE.pattern, else detected from the rank count; see\n"
"                     data/tiktoken.h)\n"
"  --val-frac F       fraction of the bytes that goes to val, 0 < F < 1 (default 0.1)\n"
"  --out-dir DIR      where train.txt, val.txt, train.bin, val.bin go (default: TEXT's directory)\n"
"  --variants K       also write K BPE-dropout encodings of the train split,\n"
"                     train_bpe_dropout_00.bin ... (default 0; needs --tokenizer)\n"
"  --bpe-dropout P    their merge-skip probability, 0 <= P <= 1 (default 0.02)\n"
"  --seed N           their random streams (default 1337)\n"
"  --help             this text\n");
}


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
    const char *tokenizer = NULL, *pattern = NULL, *out_dir = NULL;
    double val_frac = 0.1, drop = 0.02;
    long variants = 0;
    unsigned long long seed = 1337;
    static const struct option opts[] = {{"tokenizer", 1, 0, 't'}, {"pattern", 1, 0, 'p'},
                                         {"val-frac", 1, 0, 'v'}, {"out-dir", 1, 0, 'o'},
                                         {"variants", 1, 0, 'k'}, {"bpe-dropout", 1, 0, 'd'},
                                         {"seed", 1, 0, 's'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 't': tokenizer = optarg; break;
        case 'p': pattern = optarg; break;
        case 'o': out_dir = optarg; break;
        case 'v':
            val_frac = flag_double("val-frac", optarg, 0, 1);
            if (val_frac == 0 || val_frac == 1) die("--val-frac: expected a number between 0 and 1, got \"%s\"", optarg);
            break;
        case 'd': drop = flag_double("bpe-dropout", optarg, 0, 1); break;
        case 'k': variants = flag_long("variants", optarg, 0, 100); break;
        case 's': seed = (unsigned long long)flag_long("seed", optarg, 0, LONG_MAX); break;
        case 'h': usage(stdout); return 0;
        case ':': die("%s needs a value (see --help)", argv[optind - 1]);
        default: die("unknown option %s (see --help)", argv[optind - 1]);
        }
    }
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
