// util/json_file.h — a whole JSON file (config.json, tokenizer.json, tokenizer_config.json, a
// Kascade schedule) parsed with cJSON, with one-line errors.
#pragma once
#include <cjson/cJSON.h>
#include <stddef.h>

// cJSON's allocations go through a malloc that ends the program with "<program>: out of memory
// (JSON, N bytes)" when it fails (installed when this file is linked in): cJSON itself answers a
// failed allocation with a NULL that its builders (cJSON_Add*) drop, leaving a key out of an
// object without a word.

// The JSON object in path (the caller cJSON_Delete()s it), or NULL with "path: reason" in err:
// read_file_all's reasons (util/read_file.h: missing, not a regular file, out of memory), or
// "malformed JSON (or not a JSON object)".
cJSON *read_json_object(const char *path, char *err, size_t errlen);

// Writes j as formatted JSON and a newline to path, atomically (util/atomic_file.h). 0, or -1
// with "path: reason" in err.
int write_json_file(const char *path, const cJSON *j, char *err, size_t errlen);
