// tests/tok_fixture.h — reading the tokenizer fixtures (tools/make_tiktoken_fixtures.py,
// tools/make_tokenizer_json_fixtures.py): base64 text, FNV-1a 64 of ids, id lists in JSON.
#pragma once
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

// The fixture's own base64 (kept apart from the loaders', so one bug cannot hide the other).
// out needs room for 3/4 of strlen(s) bytes.
size_t unb64(const char *s, unsigned char *out);
// FNV-1a 64 over the ids as little-endian int32, as in the generators.
uint64_t fnv_ids(const int *ids, size_t n);
// FNV-1a 64 over bytes.
uint64_t fnv_bytes(const void *p, size_t n);
// Compares ids[offset..] with a JSON array; returns the first differing index, or -1 if equal.
// whole: ids must also end where the array ends (else the array is a slice of ids).
long first_diff(const int *ids, size_t n, const cJSON *arr, size_t offset_in_ids, int whole);
