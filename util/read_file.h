// util/read_file.h — a whole regular file into memory, with one-line errors.
#pragma once
#include <stddef.h>

// Reads all of path into a malloc'd buffer with a NUL after the last byte (*len excludes it).
// Anything but a regular file (a FIFO, a device such as /dev/zero, a directory) is refused, so
// a wrong path can neither block nor grow memory without bound. Returns NULL with "path: reason"
// in err on failure.
char *read_file_all(const char *path, size_t *len, char *err, size_t errlen);
