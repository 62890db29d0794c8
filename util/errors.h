// util/errors.h — how a loader reports bad input: one line of text in the caller's buffer.
//
// Loaders take (char *err, size_t errlen) and, on bad input, return -1 through fail() (or NULL
// through fail_null() where they return a pointer); the program prints err and exits 1.
// Messages quote names and strings from the file itself (a JSON key may hold "\n"), so control
// characters become '?': the message stays on one line.
// Programs (bin/*) end on bad input or usage with die(): "<program>: message" on stderr, exit 1.
#pragma once
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Makes a message safe to print on one terminal line, in place: control characters (C0, DEL, and
// the C1 range U+0080..U+009F, whose 0x9B is a terminal's CSI) and bytes that are not valid
// UTF-8 (a raw 0x9B among them) each become one '?'; valid UTF-8 text is kept as it is.
static inline void sanitize_line(char *s) {
    unsigned char *r = (unsigned char *)s, *w = r;
    while (*r) {
        unsigned c = *r;
        if (c < 0x80) { *w++ = c < 0x20 || c == 0x7f ? '?' : c; r++; continue; }
        size_t n = c >= 0xc2 && c <= 0xdf ? 2 : (c & 0xf0) == 0xe0 ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
        size_t k = 1;
        while (k < n && (r[k] & 0xc0) == 0x80) k++;
        if (n == 0 || k < n) { *w++ = '?'; r++; continue; }            // not UTF-8: byte by byte
        if (c == 0xc2 && r[1] < 0xa0) { *w++ = '?'; r += 2; continue; }  // U+0080..U+009F
        for (size_t i = 0; i < n; i++) *w++ = *r++;
    }
    *w = '\0';
}

static inline void vfail(char *err, size_t errlen, const char *fmt, va_list ap) {
    if (!err || !errlen) return;
    vsnprintf(err, errlen, fmt, ap);
    sanitize_line(err);
}

static inline int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static inline int fail(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfail(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static inline void *fail_null(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static inline void *fail_null(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfail(err, errlen, fmt, ap);
    va_end(ap);
    return NULL;
}

// The program's name is glibc's program_invocation_short_name (argv[0] without its directory:
// "train" for bin/train). stdout is flushed first, so the error comes after any progress lines.
static inline void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static inline void die(const char *fmt, ...) {
    fflush(stdout);
    char buf[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);   // (file names from the command line land here too)
    va_end(ap);
    sanitize_line(buf);
    fprintf(stderr, "%s: %s\n", program_invocation_short_name, buf);
    exit(1);
}

// For a program whose data goes to stdout: a failed write (a full disk, > /dev/full) ends it with
// "<program>: write error on stdout: ..." and exit 1, not a silent exit 0. Call after each
// flush of the data and before exit 0 (stdio's buffer hides errors until it is flushed).
static inline void flush_stdout_or_die(void) {
    if (fflush(stdout) != 0 || ferror(stdout)) {
        int e = errno;
        clearerr(stdout);
        die("write error on stdout: %s", strerror(e ? e : EIO));
    }
}

// A flag's value in a program's getopt loop: the whole string must parse and lie in [lo, hi],
// else one line and exit 1 ("prepare: --seed: expected an integer in [0, ...], got "abc"").
// flag is the name without its dashes.
static inline long flag_long(const char *flag, const char *s, long lo, long hi) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        die("--%s: expected an integer in [%ld, %ld], got \"%s\"", flag, lo, hi, s);
    return v;
}
// 1 when all of s is one number (stored in *v); nan and out-of-range values fail the callers' tests
static inline int parse_double(const char *s, double *v) {
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return !errno && end != s && !*end;
}
static inline double flag_double(const char *flag, const char *s, double lo, double hi) {
    double v;
    if (!parse_double(s, &v) || !(v >= lo && v <= hi))
        die("--%s: expected a number in [%g, %g], got \"%s\"", flag, lo, hi, s);
    return v;
}
// the same for (lo, hi]: a share that must not be empty
static inline double flag_double_above(const char *flag, const char *s, double lo, double hi) {
    double v;
    if (!parse_double(s, &v) || !(v > lo && v <= hi))
        die("--%s: expected a number in (%g, %g], got \"%s\"", flag, lo, hi, s);
    return v;
}
