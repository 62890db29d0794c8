// util/utf8.c — see utf8.h.
#include "util/utf8.h"

// Well-formed sequences (Unicode Table 3-7): the lead byte fixes the length and the range of
// the second byte (E0, ED, F0, F4 narrow it: no overlongs, no surrogates, nothing past U+10FFFF);
// any further byte is 80..BF.
size_t utf8_char_len(const unsigned char *s, size_t n, size_t *bad) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t need;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) need = 2;
    else if (c >= 0xE0 && c <= 0xEF) { need = 3; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
    else if (c >= 0xF0 && c <= 0xF4) { need = 4; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
    else { *bad = 1; return 0; }
    size_t k = 1;
    for (; k < need && k < n; k++) {
        unsigned b = s[k];
        if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) break;
    }
    if (k == need) return need;
    *bad = k;
    return 0;
}

int utf8_valid(const char *str, size_t n) {
    const unsigned char *s = (const unsigned char *)str;
    for (size_t i = 0; i < n;) {
        size_t bad, l = utf8_char_len(s + i, n - i, &bad);
        if (!l) return 0;
        i += l;
    }
    return 1;
}
