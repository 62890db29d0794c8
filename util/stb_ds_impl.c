// util/stb_ds_impl.c — the one translation unit that compiles stb_ds's implementation
// (Debian's libstb-dev ships it header-only). Everyone else just includes <stb/stb_ds.h>.
#define STB_DS_IMPLEMENTATION
#include <stb/stb_ds.h>
