// util/stb_image_write_impl.c — the one translation unit that compiles stb_image_write's
// implementation (Debian's libstb-dev ships it header-only). Everyone else just includes
// <stb/stb_image_write.h>.
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
