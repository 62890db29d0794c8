// data/hf_vocab.h — a Hugging Face tokenizer.json's byte-level BPE vocabulary as tiktoken ranks.
//
// Byte-level BPE tokenizers (GPT-2, Llama 3) store each token in tokenizer.json as a string of
// printable stand-ins, one per byte: GPT-2's bytes_to_unicode maps the 188 printable bytes
// ('!'..'~', '¡'..'¬', '®'..'ÿ') to themselves and the other 68 to U+0100.. in byte order
// (space -> 'Ġ' U+0120, newline -> 'Ċ' U+010A). Mapping each string back to bytes and taking its
// id as its rank gives the tiktoken rank file of the same encoding: Meta's Llama 3
// tokenizer.model is exactly this derivation of its tokenizer.json (ids 0..127999).
#pragma once
#include <stdio.h>
#include <stddef.h>

// Writes the rank file ("base64(bytes) rank" per line, rank = id, ids 0..n-1 in order) of the
// tokenizer.json at json_path to out. Needs model.type "BPE" whose vocabulary ids run 0..n-1
// without gaps and whose strings are all byte-level (every character one of the 256 stand-ins).
// Returns the number of ranks written, or -1 with a one-line reason in err.
long hf_bytelevel_write_ranks(const char *json_path, FILE *out, char *err, size_t errlen);

// The byte a byte-level stand-in code point stands for, or -1 if cp is none of the 256.
int hf_bytelevel_byte(unsigned cp);
// One code point from s (NUL-terminated valid UTF-8, as cJSON gives strings); advances *i.
unsigned hf_utf8_next(const unsigned char *s, size_t *i);
