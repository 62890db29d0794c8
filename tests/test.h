// tests/test.h — the smallest test harness that says what it checked.
//
// Every check prints one line, "OK" or "FAIL", what was checked and the worst error seen
// against its tolerance, e.g.
//     OK   rmsnorm_backward dinp: max rel err 3.1e-07 (tol 1e-05)
// and test_summary() ends the program with "RESULT <passed> <failed>", which tests/run.sh adds up.
#pragma once
#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <math.h>

static int test_passed_ = 0, test_failed_ = 0;

// CHECK(cond, fmt, ...): count and print one check.
static inline void test_check_(int ok, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("%s ", ok ? "OK  " : "FAIL");
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    va_end(ap);
    if (ok) test_passed_++; else test_failed_++;
}
#define CHECK(cond, ...) test_check_(!!(cond), __VA_ARGS__)

// Where scripts/fetch_tokenizers.sh puts the tokenizer files (make test runs it first);
// TOKENIZER_DIR overrides, as for the script.
static inline const char *test_tokenizer_dir(void) {
    const char *s = getenv("TOKENIZER_DIR");
    return s && *s ? s : "data/tokenizers";
}

// The bundled corpus (tests run from the repository root).
#define TEST_CORPUS "data/tinyshakespeare.txt"

// Where the programs under test are: bin/, or bin-san/ for `make test SAN=1` (env BIN).
static inline const char *test_bin_dir(void) {
    const char *s = getenv("BIN");
    return s && *s ? s : "bin";
}

static inline int test_summary(void) {
    printf("RESULT %d %d\n", test_passed_, test_failed_);
    return test_failed_ ? 1 : 0;
}
