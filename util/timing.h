// util/timing.h — wall-clock seconds for timing a step, a load, a token.
#pragma once
#include <time.h>

// Seconds on the monotonic clock (not the date: it never jumps back when the clock is set).
static inline double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}
