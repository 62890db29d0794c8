// bench/bench.h — the helpers the bench programs share: a monotonic clock, the median of a set of
// repetitions (every number the bench reports is a median), and the memory read that measures the
// bandwidth limit (bench-limits, and bench-gemv beside decode).
#ifndef BENCH_BENCH_H
#define BENCH_BENCH_H
#include <stdlib.h>
#include <time.h>
#include <omp.h>

static inline double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static inline int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// sorts v in place
static inline double median(double *v, int n) {
    qsort(v, n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
// Sum of a[0..n): each OpenMP thread reads its contiguous share of the array as S equal parts
// side by side (64 floats of each part in turn), so S sequential streams per thread are in
// flight. One stream per thread need not be this machine's read limit, and the decode gemv
// reads four (model/matmul.c): in one bench run 8 streams read 28.3 GB/s against 21.1 for one;
// in others the four counts came within a few percent of each other.
// 64 independent partial sums (8 vectors of 8): the adds never wait on each other's latency, so
// the loop is limited by loads, not by the add chain.
static inline double read_streams(const float *a, size_t n, int S) {
    double s = 0;
#pragma omp parallel reduction(+ : s)
    {
        int nt = omp_get_num_threads(), t = omp_get_thread_num();
        size_t lo = n * t / nt / 64 * 64, hi = t == nt - 1 ? n : n * (t + 1) / nt / 64 * 64;
        size_t part = (hi - lo) / S / 64 * 64;
        float acc[64] = {0};
        for (size_t i = 0; i < part; i += 64)
            for (int k = 0; k < S; k++) {
                const float *p = a + lo + k * part + i;
                for (int j = 0; j < 64; j++) acc[j] += p[j];
            }
        for (size_t i = lo + S * part; i < hi; i++) acc[i % 64] += a[i];   // the rest
        for (int j = 0; j < 64; j++) s += acc[j];
    }
    return s;
}

// The read limit: read_streams over a[0..n) with 1, 2, 4 and 8 streams per thread, each the
// median of reps timed passes after one untimed; gbs_by[0..3] gets each count's GB/s. Returns
// the fastest GB/s and its stream count in *streams; *sum collects the sums (so the reads
// cannot be optimized away).
static const int read_stream_counts[4] = {1, 2, 4, 8};
static inline double read_fastest(const float *a, size_t n, int reps, double gbs_by[4], int *streams,
                                  double *sum) {
    double t[64];
    int best = 0;
    if (reps > 64) reps = 64;
    for (int si = 0; si < 4; si++) {
        for (int r = -1; r < reps; r++) {
            double t0 = now_s();
            *sum += read_streams(a, n, read_stream_counts[si]);
            double dt = now_s() - t0;
            if (r >= 0) t[r] = dt;
        }
        gbs_by[si] = 4.0 * n / median(t, reps) * 1e-9;
        if (gbs_by[si] > gbs_by[best]) best = si;
    }
    *streams = read_stream_counts[best];
    return gbs_by[best];
}
#endif
