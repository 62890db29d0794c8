// tests/gradcheck.h — central finite differences against a hand-written backward.
//
// The scalar objective is f = sum_i out_i * R_i for a fixed random R, accumulated in double, so
// df/dout = R: the backward is run with dout = R. For each checked input entry x_j,
//   numeric_j = (f(x_j + eps) - f(x_j - eps)) / (2 eps).
// The error reported for a tensor is max_j |analytic_j - numeric_j| / max_j |numeric_j|: the
// error relative to the tensor's gradient scale (an entry-wise relative error is meaningless
// where a gradient is ~0, e.g. masked attention entries).
// Step and tolerance: the forward runs in float32, so f carries round-off of ~6e-8 relative per
// output, which the difference amplifies by 1/(2 eps); the truncation error is O(eps^2 f''').
// Measured on these ops, the round-off dominates (the error scales as 1/eps: attention's dk
// showed 1.9e-3 at eps 3e-4, 1.8e-4 at 3e-3, <5e-5 at 1e-2), so eps = 1e-2. tol = 1e-3 is then
// 20x the worst error measured, and far below the O(1) error of a wrong sign or missing term.
#pragma once
#include "util/rng.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "tests/test.h"

static float gc_eps = 1e-2f;   // the step; a test may change it
#define GC_TOL 1e-3

static uint64_t gc_rng_state = 0x1234567ull;
static inline float gc_uniform(void) {   // uniform in [-1, 1)
    return (float)((rng_next(&gc_rng_state) >> 40) * (2.0 / 16777216.0) - 1.0);
}
static inline void gc_fill(float *x, size_t n, float scale) {
    for (size_t i = 0; i < n; i++) x[i] = scale * gc_uniform();
}
static inline float *gc_rand(size_t n, float scale) {
    float *x = malloc(n * sizeof(float));
    gc_fill(x, n, scale);
    return x;
}

// f = sum out*R in double
static inline double gc_dot(const float *out, const float *R, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)out[i] * R[i];
    return s;
}

// Compare analytic gradient `grad` of input x (n entries) with finite differences of
// objective(), which recomputes the forward from the current x. Checks every entry when
// n <= max_checks, else max_checks entries spread over x. Returns the error.
static inline double gc_check(const char *what, float *x, const float *grad, size_t n,
                              double (*objective)(void), double tol, int max_checks) {
    double max_err = 0.0, max_num = 0.0;
    size_t stride = n <= (size_t)max_checks ? 1 : n / max_checks;
    for (size_t j = 0; j < n; j += stride) {
        float saved = x[j];
        float xp = saved + gc_eps, xm = saved - gc_eps;   // the step float32 really takes
        x[j] = xp; double fp = objective();
        x[j] = xm; double fm = objective();
        x[j] = saved;
        double num = (fp - fm) / ((double)xp - xm);
        double err = fabs(num - grad[j]);
        if (err > max_err) max_err = err;
        if (fabs(num) > max_num) max_num = fabs(num);
    }
    objective();   // leave the forward state as it was
    double rel = max_err / (max_num > 0 ? max_num : 1.0);
    CHECK(rel <= tol && max_num > 0, "%s: max err / max |grad| %.2e (tol %.0e, grad scale %.2e)",
          what, rel, tol, max_num);
    return rel;
}
