// util/blas_core.h — which kernels OpenBLAS runs here, said where it matters.
//
// OpenBLAS's DYNAMIC_ARCH build picks its kernels from cpuid at load. A CPU newer than the
// OpenBLAS release may not be in its tables; it then falls back to an old generic core (Debian's
// 0.3.21 runs "Prescott", SSE3 kernels, on some AVX-512 Xeons) and every sgemm runs several times
// slower than the CPU can (measured on one such 2-core Xeon at the tiny training step's shapes:
// 37 GFLOP/s as Prescott, 259 with OPENBLAS_CORETYPE=SkylakeX). OPENBLAS_CORETYPE belongs to the
// user's environment: no program here sets it. bin/train and bin/infer name the core and, when
// OpenBLAS chose an old one by itself on a CPU with AVX2, say once which setting would be faster.
#pragma once
#include <stdio.h>

// OpenBLAS's core name ("Haswell", "SkylakeX", ...), or "none" in a program without OpenBLAS.
const char *blas_core_name(void);
// The advice line for a core name, the CPU's features and OPENBLAS_CORETYPE (NULL when unset),
// written into buf: empty when there is nothing to say. Pure, for tests.
void blas_core_advice(char *buf, int size, const char *core, int avx2_fma, int avx512, const char *coretype_env);
// Writes "<prefix><advice>\n" to f once when there is advice for this process (bin/train puts it
// in its stdout log beside the model line; bin/infer on stderr before its stats line).
void blas_core_note(FILE *f, const char *prefix);
