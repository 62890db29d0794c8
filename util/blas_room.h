// util/blas_room.h — fail fast, with one line, when OpenBLAS's buffers cannot fit in the
// address-space limit (ulimit -v).
//
// OpenBLAS (the OpenMP build we link) maps a 128 MB buffer per thread, plus one: at load, in its
// constructor (before main), and at the first BLAS call. When such a mmap fails it retries
// forever, so under a tight `ulimit -v` even `bin/train --help` used to spin and never print
// anything. Every program links util/blas_room.c, whose .preinit_array entry runs before any
// shared library's constructor: it compares the room the limit leaves with what OpenBLAS will
// map for the threads the environment asks for (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, else the
// CPUs this process may run on), and exits 1 with a message when it does not fit. Programs call
// blas_room_check again when --threads asks for more threads.
#pragma once

// The address space OpenBLAS maps for n threads (bytes).
unsigned long long blas_room_needed(int threads);
// Exits 1 with "<program>: ..." on stderr when the RLIMIT_AS left does not hold what OpenBLAS
// maps for `threads` threads (after the start: for the threads beyond those it started with);
// returns otherwise (also when there is no limit).
void blas_room_check(int threads);
