// data/bpe_train.c — bin/bpe-train: learn a byte-level BPE vocabulary on a corpus and write it
// as a tiktoken rank file (loadable by data/tiktoken.c and by Python's tiktoken).
//
//   bin/bpe-train --vocab 4096 --pattern gpt2 --out shakespeare.tiktoken data/tinyshakespeare.txt
//
// 1. Split the corpus with the pattern's regex and count the distinct pieces ("words").
// 2. Ranks 0..255 are the single bytes. Each word starts as one part per byte.
// 3. A candidate is the byte string that two adjacent parts of a word would make; its count is
//    how often that adjacency occurs in the corpus (word frequency times occurrences in the word).
// 4. Repeat until the vocabulary has N ranks: take the candidate with the highest count (ties:
//    the smaller byte string in memcmp order, then the shorter), give it the next rank, and
//    re-segment every word that contains it with bpe_merge, the encoder's own merge loop. The
//    counts of the word's old adjacencies go down and its new ones go up.
//
// Why candidates are byte strings and words are re-segmented with bpe_merge: tiktoken merges any
// two adjacent parts whose concatenation has a rank, lowest rank first, whatever pair the trainer
// made that token from. Keying candidates by bytes and re-running the encoder's loop keeps every
// word's training-time segmentation equal to what the encoder produces with the ranks so far
// (adding rank k only continues the encoder's loop: rank k is the highest, so the encoder takes it
// only where no lower rank is left, i.e. from the segmentation of ranks < k). So encoding the
// corpus with the written file gives exactly the training segmentation; --dump-ids writes it so
// tests/bpe_train_test.sh can check that.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <stb/stb_ds.h>

#include "util/atomic_file.h"
#include "util/files.h"
#include "data/bytes_map.h"
#include "util/errors.h"
#include "util/flags.h"
#include "data/tiktoken.h"
#include "util/timing.h"

static const char *PROG = "bpe-train";

// ---- the command line: one row per flag (util/flags.h) ----

typedef struct {
    long vocab;
    const char *pattern, *out, *dump;
    int quiet;
} BpeTrainOptions;

#define F(field) FLAG_FIELD(BpeTrainOptions, field)
static const FlagRow rows[] = {
    {"vocab", K_LONG, F(vocab), 256, 1 << 24, 0, NULL, NULL, 0, 0, "N",
     "ranks in the output: 256 single bytes + N-256 merges (required)"},
    {"pattern", K_STR, F(pattern), 0, 0, 0, NULL, "gpt2", 0, 0, "NAME", "pre-tokenizer regex: gpt2 | cl100k | llama3"},
    {"out", K_STR, F(out), 0, 0, 0, NULL, NULL, 0, 0, "FILE",
     "the rank file to write, atomically (required); the pattern goes to\n"
     "FILE.pattern beside it, where tokenize, prepare and train read it"},
    {"dump-ids", K_STR, F(dump), 0, 0, 0, NULL, NULL, 0, 0, "FILE",
     "also write the corpus's ids as segmented at the end of training\n(space-separated, like bin/tokenize)"},
    {"quiet", K_SWITCH, F(quiet), 0, 0, 0, NULL, NULL, 0, 0, NULL, "no progress on stderr"},
};
#define N_ROWS (int)(sizeof rows / sizeof rows[0])
static const FlagTable table = {
    .rows = rows, .n_rows = N_ROWS,
    .usage = "usage: bin/bpe-train --vocab N --out FILE.tiktoken [options] CORPUS\n"
             "Learns byte-level BPE merges on CORPUS and writes a tiktoken rank file.\n",
};

// ---- state ----------------------------------------------------------------------------------

typedef struct {
    BytesMap words;        // distinct pieces -> word index
    int64_t *freq;         // stb_ds: per word, occurrences in the corpus
    size_t **bounds;       // stb_ds: per word, its parts' bounds (stb_ds array of nparts + 1)
    int *sequence;         // stb_ds: the corpus as word indices (for --dump-ids)
    int keep_sequence;

    BytesMap vocab;        // token bytes -> rank (entry index == rank)

    BytesMap cand;         // candidate bytes -> candidate index
    int64_t *count;        // stb_ds: per candidate, its count
    int **cand_words;      // stb_ds: per candidate, words that had it (may repeat or be stale)
    int *last_word;        // stb_ds: per candidate, the word last appended to cand_words
    int *dirty;            // stb_ds: per candidate, the step its count last changed
    int *done;             // stb_ds: per candidate, 1 once it became a token
    int *touched;          // stb_ds: candidates whose count changed in this step
} Trainer;

static int add_piece(const unsigned char *p, size_t n, void *ctx) {
    Trainer *tr = ctx;
    int w = bytes_map_get(&tr->words, p, n);
    if (w < 0) {
        w = bytes_map_count(&tr->words);
        bytes_map_put(&tr->words, p, n, w);
        arrput(tr->freq, 0);
    }
    tr->freq[w]++;
    if (tr->keep_sequence) arrput(tr->sequence, w);
    return 0;
}

// Index of the candidate with these bytes, created with count 0 if new.
static int candidate(Trainer *tr, const unsigned char *p, size_t n) {
    int c = bytes_map_get(&tr->cand, p, n);
    if (c >= 0) return c;
    c = bytes_map_count(&tr->cand);
    bytes_map_put(&tr->cand, p, n, c);
    arrput(tr->count, 0);
    arrput(tr->cand_words, NULL);
    arrput(tr->last_word, -1);
    arrput(tr->dirty, -1);
    arrput(tr->done, 0);
    return c;
}

// Adds sign * freq to the count of every adjacency of word w (and, when adding, notes w under
// each candidate so a later merge of it finds w).
static void count_word(Trainer *tr, int w, int sign, int step) {
    size_t len;
    const unsigned char *p = bytes_map_entry(&tr->words, w, &len);
    size_t *b = tr->bounds[w];
    size_t np = arrlenu(b) - 1;
    for (size_t k = 0; k + 1 < np; k++) {
        int c = candidate(tr, p + b[k], b[k + 2] - b[k]);
        tr->count[c] += sign * tr->freq[w];
        if (sign > 0 && tr->last_word[c] != w) {
            arrput(tr->cand_words[c], w);
            tr->last_word[c] = w;
        }
        if (tr->dirty[c] != step) {
            tr->dirty[c] = step;
            arrput(tr->touched, c);
        }
    }
}

// ---- the max-heap of candidates: highest count first, ties by bytes -------------------------

typedef struct { int64_t count; int cand; } Entry;

static int cand_cmp_bytes(const Trainer *tr, int a, int b) {
    size_t la, lb;
    const unsigned char *pa = bytes_map_entry(&tr->cand, a, &la);
    const unsigned char *pb = bytes_map_entry(&tr->cand, b, &lb);
    int c = memcmp(pa, pb, la < lb ? la : lb);
    return c ? c : (la < lb ? -1 : la > lb);
}

// Does x come out of the heap before y?
static int before(const Trainer *tr, Entry x, Entry y) {
    if (x.count != y.count) return x.count > y.count;
    return cand_cmp_bytes(tr, x.cand, y.cand) < 0;
}

static void heap_push(const Trainer *tr, Entry **h, Entry x) {
    arrput(*h, x);
    size_t i = arrlenu(*h) - 1;
    Entry *a = *h;
    while (i > 0 && before(tr, x, a[(i - 1) / 2])) { a[i] = a[(i - 1) / 2]; i = (i - 1) / 2; }
    a[i] = x;
}

static Entry heap_pop(const Trainer *tr, Entry **h) {
    Entry *a = *h, top = a[0], x = a[arrlenu(a) - 1];
    arrsetlen(*h, arrlenu(a) - 1);
    size_t n = arrlenu(*h), i = 0;
    if (n == 0) return top;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && before(tr, a[c + 1], a[c])) c++;
        if (!before(tr, a[c], x)) break;
        a[i] = a[c];
        i = c;
    }
    a[i] = x;
    return top;
}

// ---- output ---------------------------------------------------------------------------------

// Opens path for writing now (data/atomic_file.h: a temp file renamed over it at the end, or a
// device or FIFO written through), so an unwritable --out fails before the training.
static void open_out(AtomicFile *af, const char *path) {
    char err[4200];
    if (atomic_open(af, path, err, sizeof err)) die("%s", err);
}

static void close_out(AtomicFile *af) {
    char err[4200];
    if (atomic_commit(af, err, sizeof err)) die("%s", err);
}

int main(int argc, char **argv) {
    BpeTrainOptions o = {0};
    unsigned char given[N_ROWS];
    int optind = flags_parse(&table, argc, argv, &o, given);
    long vocab = o.vocab;
    const char *pattern = o.pattern, *out = o.out, *dump = o.dump;
    int quiet = o.quiet;
    if (!vocab) die("--vocab N is required (see --help)");
    if (!out) die("--out FILE is required (see --help)");
    if (optind != argc - 1) die("expected exactly one CORPUS file (see --help)");
    const char *corpus_path = argv[optind];
    char err[256];
    TiktokenSplitter *sp = tiktoken_splitter_new(pattern, err, sizeof err);
    if (!sp) die("%s", err);
    const char *why;
    FILE *cf = fopen_regular(corpus_path, &why);
    if (!cf) die("%s: %s", corpus_path, why);
    char *text = NULL;  // stb_ds
    for (;;) {
        char *dst = arraddnptr(text, 1 << 16);
        size_t got = fread(dst, 1, 1 << 16, cf);
        arrsetlen(text, arrlenu(text) - (1 << 16) + got);
        if (got == 0) break;
    }
    if (ferror(cf)) die("%s: read error", corpus_path);
    fclose(cf);
    if (arrlenu(text) == 0) die("%s: empty corpus", corpus_path);
    AtomicFile out_file, dump_file;   // an unwritable --out or --dump-ids fails now, not after the training
    open_out(&out_file, out);
    if (dump) open_out(&dump_file, dump);

    double t0 = now_s();
    Trainer tr = {0};
    tr.keep_sequence = dump != NULL;
    if (tiktoken_splitter_run(sp, text, arrlenu(text), add_piece, &tr, err, sizeof err) != 0)
        die("%s: %s", corpus_path, err);
    int n_words = bytes_map_count(&tr.words);

    for (int b = 0; b < 256; b++) {
        unsigned char c = (unsigned char)b;
        bytes_map_put(&tr.vocab, &c, 1, b);
    }
    for (int w = 0; w < n_words; w++) {
        size_t len;
        bytes_map_entry(&tr.words, w, &len);
        size_t *b = NULL;
        for (size_t i = 0; i <= len; i++) arrput(b, i);
        arrput(tr.bounds, b);
        count_word(&tr, w, +1, 0);
    }
    Entry *heap = NULL;  // stb_ds
    for (int c = 0; c < bytes_map_count(&tr.cand); c++)
        if (tr.count[c] > 0) heap_push(&tr, &heap, (Entry){tr.count[c], c});
    arrsetlen(tr.touched, 0);
    if (!quiet)
        fprintf(stderr, "%s: %zu bytes, %d distinct pieces (%s pattern), %d candidate pairs\n", PROG,
                arrlenu(text), n_words, pattern, bytes_map_count(&tr.cand));

    int *stamp = calloc((size_t)n_words + 1, sizeof *stamp);  // word last re-segmented at step
    if (!stamp) die("out of memory");
    size_t *scratch = NULL;                               // stb_ds
    int rank = 256;
    while (rank < vocab && arrlenu(heap) > 0) {
        Entry e = heap_pop(&tr, &heap);
        int c = e.cand;
        if (tr.done[c] || tr.count[c] != e.count || e.count <= 0) continue;  // stale entry
        size_t len;
        const unsigned char *p = bytes_map_entry(&tr.cand, c, &len);
        bytes_map_put(&tr.vocab, p, len, rank);
        tr.done[c] = 1;
        int step = rank;
        int *ws = tr.cand_words[c];
        for (size_t i = 0; i < arrlenu(ws); i++) {
            int w = ws[i];
            if (stamp[w] == step) continue;
            stamp[w] = step;
            size_t wl;
            const unsigned char *wp = bytes_map_entry(&tr.words, w, &wl);
            size_t np = arrlenu(tr.bounds[w]) - 1;
            arrsetlen(scratch, np + 1);
            memcpy(scratch, tr.bounds[w], (np + 1) * sizeof *scratch);
            size_t np2 = bpe_merge(&tr.vocab, wp, wl, scratch, np, -1);
            if (np2 == (size_t)-1) die("out of memory");
            if (np2 == np) continue;  // a stale note: this word no longer has the adjacency
            count_word(&tr, w, -1, step);
            arrsetlen(tr.bounds[w], np2 + 1);
            memcpy(tr.bounds[w], scratch, (np2 + 1) * sizeof *scratch);
            count_word(&tr, w, +1, step);
        }
        arrfree(tr.cand_words[c]);  // it is a token now: nobody merges it again
        for (size_t i = 0; i < arrlenu(tr.touched); i++) {
            int t = tr.touched[i];
            if (!tr.done[t] && tr.count[t] > 0) heap_push(&tr, &heap, (Entry){tr.count[t], t});
        }
        arrsetlen(tr.touched, 0);
        if (!quiet && (rank - 255) % 1000 == 0)
            fprintf(stderr, "%s: merge %d/%ld (count %lld) %.2f s\n", PROG, rank - 255, vocab - 256,
                    (long long)e.count, now_s() - t0);
        rank++;
    }
    double dt = now_s() - t0;
    if (rank < vocab && !quiet)
        fprintf(stderr, "%s: the corpus has no more pairs to merge: stopping at %d ranks\n", PROG, rank);

    // The split pattern beside the ranks (OUT.pattern): the file format has no room for it, and
    // encoding with another pattern than the one the merges were learned on silently gives other
    // (longer) token sequences. tiktoken_load reads it and refuses a different --pattern.
    char side[4096];
    snprintf(side, sizeof side, "%s%s", out, TIKTOKEN_PATTERN_SUFFIX);
    AtomicFile side_file;
    open_out(&side_file, side);
    FILE *f = side_file.fp;
    fprintf(f, "%s\n", tiktoken_splitter_name(sp));
    close_out(&side_file);

    // The rank file: base64(bytes) rank, ranks in order.
    f = out_file.fp;
    for (int r = 0; r < rank; r++) {
        size_t len;
        const unsigned char *p = bytes_map_entry(&tr.vocab, r, &len);
        tiktoken_write_rank(f, p, len, r);
    }
    close_out(&out_file);

    if (dump) {
        f = dump_file.fp;
        size_t n_ids = 0;
        for (size_t i = 0; i < arrlenu(tr.sequence); i++) {
            int w = tr.sequence[i];
            size_t wl;
            const unsigned char *wp = bytes_map_entry(&tr.words, w, &wl);
            size_t *b = tr.bounds[w];
            for (size_t k = 0; k + 1 < arrlenu(b); k++) {
                int id = bytes_map_get(&tr.vocab, wp + b[k], b[k + 1] - b[k]);
                fprintf(f, n_ids++ ? " %d" : "%d", id);
            }
        }
        fprintf(f, "\n");
        close_out(&dump_file);
    }
    if (!quiet)
        fprintf(stderr, "%s: %d merges in %.2f s; wrote %d ranks to %s\n", PROG, rank - 256, dt, rank, out);

    // Tidy up (keeps leak checkers quiet).
    for (int w = 0; w < n_words; w++) arrfree(tr.bounds[w]);
    for (int c = 0; c < bytes_map_count(&tr.cand); c++) arrfree(tr.cand_words[c]);
    arrfree(tr.bounds); arrfree(tr.freq); arrfree(tr.sequence); arrfree(tr.count);
    arrfree(tr.cand_words); arrfree(tr.last_word); arrfree(tr.dirty); arrfree(tr.done);
    arrfree(tr.touched); arrfree(heap); arrfree(scratch); arrfree(text); free(stamp);
    bytes_map_free(&tr.words); bytes_map_free(&tr.vocab); bytes_map_free(&tr.cand);
    tiktoken_splitter_free(sp);
    return 0;
}
