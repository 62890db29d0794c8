// util/json_file.h — a whole JSON file (config.json, tokenizer.json, tokenizer_config.json, a
// Kascade schedule) parsed with cJSON, with one-line errors.
#pragma once
#include <cjson/cJSON.h>
#include <stddef.h>

// The JSON object in path (the caller cJSON_Delete()s it), or NULL with "path: reason" in err:
// read_file_all's reasons (util/read_file.h: missing, not a regular file, out of memory), or
// "malformed JSON (or not a JSON object)".
cJSON *read_json_object(const char *path, char *err, size_t errlen);
