// util/atomic_file.c — see atomic_file.h.
#include "util/atomic_file.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void free_names(AtomicFile *af) {
    free(af->path); free(af->tmp);
    af->path = af->tmp = NULL;
    af->fp = NULL;
}

int atomic_open(AtomicFile *af, const char *path, char *err, size_t errlen) {
    memset(af, 0, sizeof *af);
    size_t n = strlen(path) + 32;
    af->path = strdup(path);
    af->tmp = malloc(n);
    if (!af->path || !af->tmp) { snprintf(err, errlen, "%s: out of memory", path); free_names(af); return -1; }
    snprintf(af->tmp, n, "%s.tmp.%ld", path, (long)getpid());
    af->fp = fopen(af->tmp, "wb");
    if (!af->fp) {
        snprintf(err, errlen, "%s: cannot create: %s", af->tmp, strerror(errno));
        free_names(af);
        return -1;
    }
    return 0;
}

int atomic_write(AtomicFile *af, const void *p, size_t n, char *err, size_t errlen) {
    if (n && fwrite(p, 1, n, af->fp) != n) {
        snprintf(err, errlen, "%s: write failed: %s", af->tmp, strerror(errno));
        return -1;
    }
    return 0;
}

int fsync_parent_dir(const char *path) {
    char *dir = strdup(path);
    if (!dir) return -1;
    char *slash = strrchr(dir, '/');
    if (slash == dir) slash[1] = '\0';         // "/file" -> "/"
    else if (slash) *slash = '\0';
    else strcpy(dir, ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    free(dir);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int atomic_commit(AtomicFile *af, char *err, size_t errlen) {
    // Each step can fail on a full disk: fflush pushes stdio's buffer, fsync forces the data
    // to the device (a rename of unsynced data can survive a crash as an empty file).
    if (fflush(af->fp) != 0 || fsync(fileno(af->fp)) != 0) {
        snprintf(err, errlen, "%s: write failed: %s", af->tmp, strerror(errno));
        atomic_abort(af);
        return -1;
    }
    if (fclose(af->fp) != 0) {
        af->fp = NULL;
        snprintf(err, errlen, "%s: close failed: %s", af->tmp, strerror(errno));
        atomic_abort(af);
        return -1;
    }
    af->fp = NULL;
    if (rename(af->tmp, af->path) != 0) {
        snprintf(err, errlen, "%s: rename to %s failed: %s", af->tmp, af->path, strerror(errno));
        atomic_abort(af);
        return -1;
    }
    fsync_parent_dir(af->path);
    free_names(af);
    return 0;
}

void atomic_abort(AtomicFile *af) {
    if (af->fp) fclose(af->fp);
    if (af->tmp) unlink(af->tmp);
    free_names(af);
}
