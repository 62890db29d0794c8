// util/blas_core.c — see blas_core.h.
#include "util/blas_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Weak: NULL in a program the linker left OpenBLAS out of.
extern char *openblas_get_corename(void) __attribute__((weak));

const char *blas_core_name(void) {
    return openblas_get_corename ? openblas_get_corename() : "none";
}

// OpenBLAS cores whose sgemm uses 256-bit FMA or wider; any other core on a CPU with AVX2 + FMA
// leaves most of the CPU's rate unused.
static int core_has_fma(const char *core) {
    static const char *fast[] = {"Haswell", "SkylakeX", "Cooperlake", "SapphireRapids", "Zen", "Excavator",
                                 "Steamroller", "Piledriver", "Neoversen1", "Neoversen2", "Neoversev1"};
    for (size_t i = 0; i < sizeof fast / sizeof fast[0]; i++)
        if (!strcmp(core, fast[i])) return 1;
    return 0;
}

void blas_core_advice(char *buf, int size, const char *core, int avx2_fma, int avx512, const char *coretype_env) {
    buf[0] = '\0';
    if (coretype_env && *coretype_env) return;   // the user chose; the core is reported elsewhere
    if (!avx2_fma || !strcmp(core, "none") || core_has_fma(core)) return;
    const char *better = avx512 ? "SkylakeX" : "Haswell";
    snprintf(buf, size, "OpenBLAS does not know this CPU and runs its %s kernels, which use no AVX2/FMA "
             "(OPENBLAS_CORETYPE is unset): matrix products run several times slower than they can; "
             "OPENBLAS_CORETYPE=%s in the environment selects faster ones", core, better);
}

void blas_core_note(FILE *f, const char *prefix) {
    static int said;
    if (said) return;
    said = 1;
    int avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                 __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    char advice[400];
    blas_core_advice(advice, sizeof advice, blas_core_name(), avx2_fma, avx512, getenv("OPENBLAS_CORETYPE"));
    if (advice[0]) fprintf(f, "%s%s\n", prefix, advice);
}
