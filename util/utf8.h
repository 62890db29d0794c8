// util/utf8.h — UTF-8 checks for text that crosses into the tokenizers.
#pragma once
#include <stddef.h>

// 1 when s[0..n) is valid UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
int utf8_valid(const char *s, size_t n);

// How many bytes of s[0..n) (n >= 1) form one valid UTF-8 character at its start, or 0 when they
// do not; then *bad gets the length of the invalid stretch to replace: the lead byte plus the
// continuation bytes that still fit it (1 to 3), as Rust's String::from_utf8_lossy counts them.
size_t utf8_char_len(const unsigned char *s, size_t n, size_t *bad);
