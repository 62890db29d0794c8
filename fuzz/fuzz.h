// fuzz/fuzz.h — what every fuzz target shares.
//
// A target is one function, LLVMFuzzerTestOneInput(data, size), that hands the bytes to one of
// our loaders and checks what it promises: a clean one-line error, or a result that is safe to
// use (every tensor inside the file, every token id inside the vocabulary...). Built two ways:
//   make fuzz    clang -fsanitize=fuzzer,address,undefined: libFuzzer mutates inputs for a while
//                (scripts/fuzz.sh)
//   make / test  gcc, linked with fuzz/replay.c instead of libFuzzer: bin/fuzz/<target> replays
//                the committed corpus and every crash ever found (tests/fuzz_replay_test.sh)
//
// Our loaders take paths, so a target writes the input (or parts of it) to files in a private
// temporary directory (in /dev/shm when there is one: memory, no disk) and loads from there.
// A violated promise calls fuzz_fail(), which aborts: libFuzzer saves the input as a crash.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define fuzz_fail(...) do { fprintf(stderr, "fuzz check failed (%s:%d): ", __FILE__, __LINE__); \
                            fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); abort(); } while (0)
#define FUZZ_CHECK(cond, ...) do { if (!(cond)) fuzz_fail(__VA_ARGS__); } while (0)

static char fuzz_dir_[256];
static char *fuzz_names_[16];
static int fuzz_n_names_;

static inline void fuzz_cleanup_(void) {
    char p[512];
    for (int i = 0; i < fuzz_n_names_; i++) {
        snprintf(p, sizeof p, "%s/%s", fuzz_dir_, fuzz_names_[i]);
        unlink(p);
        free(fuzz_names_[i]);
    }
    fuzz_n_names_ = 0;
    if (fuzz_dir_[0]) rmdir(fuzz_dir_);
}

// The private directory (created on first use, removed at exit).
static inline const char *fuzz_dir(void) {
    if (fuzz_dir_[0]) return fuzz_dir_;
    struct stat sb;
    const char *base = stat("/dev/shm", &sb) == 0 && access("/dev/shm", W_OK) == 0 ? "/dev/shm" : NULL;
    if (!base) base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(fuzz_dir_, sizeof fuzz_dir_, "%s/scratchllama-fuzz-XXXXXX", base);
    if (!mkdtemp(fuzz_dir_)) { perror("fuzz: mkdtemp"); exit(2); }
    atexit(fuzz_cleanup_);
    return fuzz_dir_;
}

// Writes n bytes to <dir>/name and returns the path (static buffer per name slot).
static inline const char *fuzz_write(const char *name, const void *data, size_t n) {
    static char paths[16][512];
    int slot = -1;
    for (int i = 0; i < fuzz_n_names_; i++)
        if (strcmp(fuzz_names_[i], name) == 0) slot = i;
    if (slot < 0) {
        if (fuzz_n_names_ == 16) { fprintf(stderr, "fuzz: too many files\n"); exit(2); }
        slot = fuzz_n_names_;
        fuzz_names_[fuzz_n_names_++] = strdup(name);
    }
    snprintf(paths[slot], sizeof paths[slot], "%s/%s", fuzz_dir(), name);
    int fd = open(paths[slot], O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) { perror(paths[slot]); exit(2); }
    const char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) { perror(paths[slot]); exit(2); }
        p += w; n -= (size_t)w;
    }
    close(fd);
    return paths[slot];
}

// Removes <dir>/name if it exists (a part that is absent from this input).
static inline void fuzz_remove(const char *name) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", fuzz_dir(), name);
    unlink(p);
}

// Splits the input at each FUZZ_SEP into at most max parts; returns how many there are.
// Multi-file targets (a config.json beside its safetensors) read their files this way; the
// separator is in each target's dictionary so libFuzzer can add and remove parts.
#define FUZZ_SEP "\n@@@@\n"
static inline int fuzz_split(const uint8_t *data, size_t size, const uint8_t **parts, size_t *lens, int max) {
    const size_t k = sizeof FUZZ_SEP - 1;
    int n = 0;
    size_t start = 0;
    for (size_t i = 0; n < max - 1 && i + k <= size; i++)
        if (memcmp(data + i, FUZZ_SEP, k) == 0) {
            parts[n] = data + start; lens[n] = i - start; n++;
            start = i + k;
            i = start - 1;
        }
    parts[n] = data + start; lens[n] = size - start; n++;
    for (int j = n; j < max; j++) { parts[j] = NULL; lens[j] = 0; }
    return n;
}

// The error message a loader wrote must be one non-empty line (what programs print).
// FUZZ_VERBOSE=1 prints it (to see which seeds load and which are refused, and why).
static inline void fuzz_check_message(const char *err) {
    if (getenv("FUZZ_VERBOSE")) fprintf(stderr, "  refused: %s\n", err);
    FUZZ_CHECK(err[0] != '\0', "a loader failed without a message");
    FUZZ_CHECK(strchr(err, '\n') == NULL, "message is not one line: %s", err);
}

// Read a whole file (for the replay main and the corpus generator).
static inline uint8_t *fuzz_read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *buf = NULL;
    size_t cap = 0;
    *n = 0;
    for (;;) {
        if (*n + 65536 > cap) { cap = 2 * cap + 65536; buf = realloc(buf, cap); }
        size_t got = fread(buf + *n, 1, 65536, f);
        *n += got;
        if (got < 65536) break;
    }
    fclose(f);
    return buf;
}
