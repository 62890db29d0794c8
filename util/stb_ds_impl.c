// util/stb_ds_impl.c — the one translation unit that compiles stb_ds's implementation
// (Debian's libstb-dev ships it header-only). Everyone else just includes <stb/stb_ds.h>.
//
// stb_ds does not check its allocations: a failed grow of an array (arrput, arrsetlen) or of a
// hash table (hmput) writes through NULL. Every allocation it makes goes through STBDS_REALLOC,
// so that is where running out of memory becomes one line ("<program>: out of memory (...)")
// and exit 1 instead of a segfault. (STBDS_FREE stays free(): the arrfree macro in callers,
// compiled without these defines, calls free() too.)
#include <stddef.h>
#include <stdlib.h>
static void *stbds_realloc_or_die(void *p, size_t size);
#define STBDS_REALLOC(context, ptr, size) stbds_realloc_or_die(ptr, size)
#define STBDS_FREE(context, ptr) free(ptr)
#define STB_DS_IMPLEMENTATION
#include <stb/stb_ds.h>
#include "util/errors.h"

static void *stbds_realloc_or_die(void *p, size_t size) {
    void *q = realloc(p, size);
    if (!q && size) die("out of memory (growing a table to %zu bytes)", size);
    return q;
}
