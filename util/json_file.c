// util/json_file.c — see json_file.h.
#include "util/json_file.h"

#include <stdlib.h>
#include <string.h>

#include "util/atomic_file.h"
#include "util/errors.h"
#include "util/read_file.h"

static void *json_malloc(size_t n) {
    void *p = malloc(n);
    if (!p) die("out of memory (JSON, %zu bytes)", n);
    return p;
}

__attribute__((constructor)) static void json_hooks(void) {
    cJSON_Hooks h = {json_malloc, free};
    cJSON_InitHooks(&h);
}

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

int write_json_file(const char *path, const cJSON *j, char *err, size_t errlen) {
    char *text = cJSON_Print(j);
    if (!text) return fail(err, errlen, "%s: out of memory", path);
    size_t n = strlen(text);
    text[n] = '\n';   // over the NUL: the file ends with a newline
    int rc = atomic_write_file(path, text, n + 1, err, errlen);
    free(text);
    return rc;
}
