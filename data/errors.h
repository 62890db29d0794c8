// data/errors.h — how a loader reports bad input: one line of text in the caller's buffer.
//
// Loaders take (char *err, size_t errlen) and, on bad input, return -1 through fail() (or NULL
// through fail_null() where they return a pointer); the program prints err and exits 1.
// Messages quote names and strings from the file itself (a JSON key may hold "\n"), so control
// characters become '?': the message stays on one line.
#pragma once
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

static inline void vfail(char *err, size_t errlen, const char *fmt, va_list ap) {
    if (!err || !errlen) return;
    vsnprintf(err, errlen, fmt, ap);
    for (char *c = err; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = '?';
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
