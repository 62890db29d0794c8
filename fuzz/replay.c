// fuzz/replay.c — the main of bin/fuzz/<target>: feeds files to the target's
// LLVMFuzzerTestOneInput without libFuzzer, so gcc builds it and `make test` replays the
// committed corpus and every regression input (tests/fuzz_replay_test.sh).
//
//   bin/fuzz/<target> FILE_OR_DIR...      each file, or every file in each directory, in turn
//
// Prints "replayed N inputs" on success. A failed check aborts (like under libFuzzer), so a
// regression shows up as a signal and the name of the input on stderr.
#include "fuzz/fuzz.h"
#include <dirent.h>

static int replay_one(const char *path) {
    size_t n;
    uint8_t *data = fuzz_read_file(path, &n);
    if (!data) { fprintf(stderr, "replay: %s: cannot read\n", path); return -1; }
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, n);
    // the harness may keep pointers only during the call; a copy of exactly n bytes lets
    // AddressSanitizer (SAN=1) see an over-read just as libFuzzer's copy does
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, data, n);
    free(data);
    LLVMFuzzerTestOneInput(copy, n);
    free(copy);
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]); return 1; }
    long count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) != 0) { fprintf(stderr, "replay: %s: missing\n", argv[i]); return 1; }
        if (!S_ISDIR(sb.st_mode)) {
            if (replay_one(argv[i])) return 1;
            count++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (!d) { fprintf(stderr, "replay: %s: cannot list\n", argv[i]); return 1; }
        char **names = NULL;
        size_t n = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') continue; // ., .., .gitkeep
            names = realloc(names, (n + 1) * sizeof *names);
            names[n++] = strdup(e->d_name);
        }
        closedir(d);
        qsort(names, n, sizeof *names, cmp_str); // the same order every time
        for (size_t k = 0; k < n; k++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], names[k]);
            if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
                if (replay_one(path)) return 1;
                count++;
            }
            free(names[k]);
        }
        free(names);
    }
    printf("replayed %ld inputs\n", count);
    return 0;
}
