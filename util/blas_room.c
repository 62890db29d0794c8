// util/blas_room.c — see blas_room.h.
#include "util/blas_room.h"
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

// OpenBLAS's BUFFER_SIZE (128 MB on x86-64) plus the page it adds; one per thread and one more
#define BLAS_BUFFER (128ull * 1024 * 1024 + 8192)
// what else starts with the threads: each one's stack beside the main thread (8 MB by default),
// and some slack. (Measured: bin/infer on the test fixture with 2 threads runs at ulimit -v
// 450000 and hangs at 400000; this asks for about 460000.)
#define THREAD_STACK (8ull * 1024 * 1024)
#define SLACK (16ull * 1024 * 1024)

static const char *prog_name = "scratchllama";
// Weak: NULL in a program the linker left OpenBLAS out of (--as-needed drops it from those that
// call no BLAS function: bin/tokenize, bin/prepare, bin/bpe-train), which then need no room.
extern int openblas_get_num_threads(void) __attribute__((weak));
static int start_threads;   // the threads the check before main allowed for

unsigned long long blas_room_needed(int threads) {
    if (threads < 1) threads = 1;
    return (unsigned long long)(threads + 1) * BLAS_BUFFER + (unsigned long long)(threads - 1) * THREAD_STACK + SLACK;
}

// bytes mapped now (the first field of /proc/self/statm, in pages)
static unsigned long long mapped_now(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long pages = 0;
    if (f) {
        if (fscanf(f, "%llu", &pages) != 1) pages = 0;
        fclose(f);
    }
    return pages * (unsigned long long)sysconf(_SC_PAGESIZE);
}

void blas_room_check(int threads) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return;
    // after the start, the buffers of start_threads are mapped already: only more threads add
    unsigned long long limit = rl.rlim_cur, used = mapped_now(), need = blas_room_needed(threads);
    if (start_threads) {
        if (threads <= start_threads) return;
        need -= blas_room_needed(start_threads);
    }
    if (used + need <= limit) return;
    fprintf(stderr, "%s: the address-space limit (ulimit -v %llu) leaves %llu MB, but OpenBLAS maps %llu MB %sof "
            "buffers for %d thread%s (it would hang retrying): raise the limit to at least %llu KB, or use fewer "
            "threads\n", prog_name, limit / 1024, limit > used ? (limit - used) >> 20 : 0,
            need >> 20, start_threads ? "more " : "", threads, threads == 1 ? "" : "s", (used + need + 1023) / 1024);
    exit(1);
}

// the first number of an OMP_NUM_THREADS-style value ("4" or "4,2"), or 0
static int env_threads(char **envp, const char *name) {
    size_t n = strlen(name);
    for (char **e = envp; e && *e; e++)
        if (!strncmp(*e, name, n) && (*e)[n] == '=') {
            int v = atoi(*e + n + 1);
            return v > 0 ? v : 0;
        }
    return 0;
}

// Runs before the shared libraries' constructors (OpenBLAS's among them): glibc's own
// program_invocation_short_name and getenv may not be set up yet, so argv and envp are used.
static void preinit(int argc, char **argv, char **envp) {
    if (!openblas_get_num_threads) return;
    if (argc > 0 && argv[0]) {
        const char *slash = strrchr(argv[0], '/');
        prog_name = slash ? slash + 1 : argv[0];
    }
    int n = env_threads(envp, "OMP_NUM_THREADS");
    if (!n) {
        cpu_set_t set;
        n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
    }
    int ob = env_threads(envp, "OPENBLAS_NUM_THREADS");
    if (ob && ob < n) n = ob;
    blas_room_check(n);
    start_threads = n;
}

__attribute__((section(".preinit_array"), used)) static void (*const preinit_entry)(int, char **, char **) = preinit;
