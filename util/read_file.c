// util/read_file.c — see read_file.h.
#include "util/read_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/errors.h"
#include "util/files.h"

char *read_file_all(const char *path, size_t *len, char *err, size_t errlen) {
    const char *why;
    int fd = open_regular(path, &why);   // (data/files.h: a FIFO neither blocks nor passes)
    if (fd < 0) return fail_null(err, errlen, "%s: cannot open: %s", path, why);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return fail_null(err, errlen, "%s: %s", path, strerror(e));
    }
    size_t cap = (size_t)st.st_size, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) { close(fd); return fail_null(err, errlen, "%s: out of memory (%zu bytes)", path, cap); }
    for (;;) {
        if (n == cap) {   // the file grew while we read it: keep going
            char *nb = cap < ((size_t)1 << 40) ? realloc(buf, 2 * cap + 2) : NULL;
            if (!nb) { free(buf); close(fd); return fail_null(err, errlen, "%s: out of memory", path); }
            buf = nb;
            cap = 2 * cap + 1;
        }
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return fail_null(err, errlen, "%s: read error: %s", path, strerror(e));
        }
        if (got == 0) break;
        n += (size_t)got;
    }
    close(fd);
    buf[n] = '\0';
    *len = n;
    return buf;
}
