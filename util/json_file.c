// util/json_file.c — see json_file.h.
#include "util/json_file.h"

#include <stdlib.h>

#include "util/errors.h"
#include "util/read_file.h"

cJSON *read_json_object(const char *path, char *err, size_t errlen) {
    size_t len;
    char *text = read_file_all(path, &len, err, errlen);
    if (!text) return NULL;
    cJSON *j = cJSON_ParseWithLength(text, len);   // (NULL also when cJSON runs out of memory)
    free(text);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return fail_null(err, errlen, "%s: malformed JSON (or not a JSON object)", path);
    }
    return j;
}
