// util/parallel.h — OpenMP's thread queries, or one thread when built without OpenMP
// (scripts/fuzz.sh builds the library that way).
#pragma once
#ifdef _OPENMP
#include <omp.h>
#else
static inline int omp_in_parallel(void) { return 0; }
static inline int omp_get_num_threads(void) { return 1; }
static inline int omp_get_max_threads(void) { return 1; }
static inline int omp_get_thread_num(void) { return 0; }
#endif
