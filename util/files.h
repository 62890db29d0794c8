// util/files.h — open an input file only if it is a regular file.
//
// A FIFO given as a model, config or rank file would block in open() until some writer came
// (forever, usually), and a device such as /dev/zero never ends: a loader reading it grows its
// buffer without bound. So inputs are opened non-blocking (a FIFO's open returns at once), checked
// with fstat, and refused unless regular ("not a regular file"); then reads block as usual.
#pragma once
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// A read-only descriptor of path, or -1 with the reason in *why (strerror's text, or "not a
// regular file").
static inline int open_regular(const char *path, const char **why) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) { *why = strerror(errno); return -1; }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        *why = "not a regular file";
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

// The same as a stdio stream ("rb").
static inline FILE *fopen_regular(const char *path, const char **why) {
    int fd = open_regular(path, why);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "rb");
    if (!f) { *why = strerror(errno); close(fd); }
    return f;
}
