// tests/tok_fixture.c — see tok_fixture.h.
#include "tests/tok_fixture.h"
#include <string.h>

size_t unb64(const char *s, unsigned char *out) {
    static const char *A = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (; *s && *s != '='; s++) {
        acc = acc << 6 | (uint32_t)(strchr(A, *s) - A);
        bits += 6;
        if (bits >= 8) { bits -= 8; out[o++] = (unsigned char)(acc >> bits); }
    }
    return o;
}

uint64_t fnv_bytes(const void *p, size_t n) {
    const unsigned char *b = p;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) { h ^= b[i]; h *= 0x100000001b3ull; }
    return h;
}

uint64_t fnv_ids(const int *ids, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 4; k++) { h ^= ((uint32_t)ids[i] >> (8 * k)) & 0xff; h *= 0x100000001b3ull; }
    return h;
}

long first_diff(const int *ids, size_t n, const cJSON *arr, size_t offset_in_ids, int whole) {
    size_t m = (size_t)cJSON_GetArraySize(arr);
    size_t i = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, arr) {
        if (offset_in_ids + i >= n || ids[offset_in_ids + i] != x->valueint) return (long)i;
        i++;
    }
    return (!whole || offset_in_ids + m == n) ? -1 : (long)m;
}
