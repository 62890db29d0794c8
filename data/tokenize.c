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
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <stb/stb_ds.h>

#include "util/errors.h"
#include "data/hf_vocab.h"
#include "util/rng.h"
#include "data/tiktoken.h"
#include "infer/tokenizer.h"

static void usage(FILE *f) {
    fprintf(f,
        "usage: bin/tokenize --tokenizer FILE [options] < input\n"
        "Encodes stdin to token ids (space-separated, one line) or decodes ids back to bytes.\n"
        "  --tokenizer FILE  a tiktoken rank file (r50k_base.tiktoken, cl100k_base.tiktoken, Llama 3\n"
        "                    tokenizer.model, one from bin/bpe-train), a llama2.c tokenizer.bin, or a\n"
        "                    Hugging Face tokenizer.json (told apart by content; required)\n"
        "  --encoding FILE   the same as --tokenizer\n"
        "  --pattern NAME    tiktoken: gpt2 | cl100k | llama3 (default: the one recorded in FILE.pattern,\n"
        "                    else detected from the number of ranks)\n"
        "  --special         encode special-token text such as <|endoftext|> as the special token\n"
        "                    (default: off, it is encoded as ordinary text)\n"
        "  --decode          read ids from stdin, write the text they stand for (a tokenizer.json: HF\n"
        "                    tokenizers' decode) (default: off)\n"
        "  --count           print only the number of tokens (default: off)\n"
        "  --bench           encode stdin repeatedly on one thread and print MB/s; with --tokenizer\n"
        "                    given up to 4 times, each in turn in the same rounds (default: off)\n"
        "  --bpe-dropout P   tiktoken: encode with BPE-dropout: each possible merge skipped with probability\n"
        "                    P, 0 <= P <= 1 (a random, finer segmentation; default 0: off)\n"
        "  --seed N          BPE-dropout's random stream (default 1337; the same text, pattern\n"
        "                    and seed give bin/prepare --variants' first variant)\n"
        "  --ranks-from-json FILE  write the tiktoken rank file of a byte-level BPE tokenizer.json\n"
        "                    (GPT-2, Llama 3: rank = id) to stdout, and nothing else (default: off)\n"
        "  --help            this text\n");
}

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
    const char *encoding = NULL, *pattern = NULL, *from_json = NULL, *files[4];
    int n_files = 0;
    int special = 0, decode = 0, count = 0, bench = 0;
    double drop = 0;
    unsigned long long seed = 1337;
    static const struct option opts[] = {
        {"encoding", required_argument, 0, 'e'}, {"tokenizer", required_argument, 0, 'e'},
        {"pattern", required_argument, 0, 'p'},
        {"special", no_argument, 0, 's'},        {"decode", no_argument, 0, 'd'},
        {"count", no_argument, 0, 'c'},          {"bench", no_argument, 0, 'b'},
        {"bpe-dropout", required_argument, 0, 'D'}, {"seed", required_argument, 0, 'S'},
        {"ranks-from-json", required_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'e':
            if (n_files == 4) die("--tokenizer: at most 4 files");
            encoding = files[n_files++] = optarg;
            break;
        case 'p': pattern = optarg; break;
        case 's': special = 1; break;
        case 'd': decode = 1; break;
        case 'c': count = 1; break;
        case 'b': bench = 1; break;
        case 'D': drop = flag_double("bpe-dropout", optarg, 0, 1); break;
        case 'S': seed = (unsigned long long)flag_long("seed", optarg, 0, LONG_MAX); break;
        case 'j': from_json = optarg; break;
        case 'h': usage(stdout); return 0;
        default: die("unknown or incomplete option '%s' (see --help)", argv[optind - 1]);
        }
    }
    if (optind < argc) die("unexpected argument '%s' (input comes from stdin)", argv[optind]);
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
