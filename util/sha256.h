// util/sha256.h — SHA-256 (FIPS 180-4), to record which tokenizer file a checkpoint was trained
// with. None of our Debian dependencies offers a hash, so this is the small standard one.
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t h[8];
    uint64_t len;        // bytes hashed so far
    uint8_t buf[64];
    size_t nbuf;
} Sha256;

void sha256_init(Sha256 *s);
void sha256_update(Sha256 *s, const void *data, size_t n);
void sha256_final(Sha256 *s, uint8_t out[32]);
// Feeds a whole file into s. 0 on success, -1 if unreadable (not a regular file, a read error).
int sha256_update_file(Sha256 *s, const char *path);
// sha256_final as 64 lowercase hex digits + NUL.
void sha256_final_hex(Sha256 *s, char hex[65]);
// The hash of a whole file as 64 lowercase hex digits + NUL. 0 on success, -1 if unreadable.
int sha256_file_hex(const char *path, char hex[65]);
