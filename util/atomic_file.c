// util/atomic_file.c — see atomic_file.h.
#include "util/atomic_file.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// Temp files open now: a program that exits before their commit (die() on a later error)
// removes them at exit instead of leaving "<path>.tmp.<pid>" behind. A kill leaves them;
// bin/train removes those of dead processes from its checkpoint directory.
static char *pending[16];

static void remove_pending(void) {
    for (int i = 0; i < 16; i++)
        if (pending[i]) unlink(pending[i]);   // (the name stays reachable for leak checkers)
}

static void track(const char *tmp, int on) {
    static int registered;
    if (!registered) { atexit(remove_pending); registered = 1; }
    for (int i = 0; i < 16; i++) {
        if (on && !pending[i]) { pending[i] = (char *)tmp; return; }
        if (!on && pending[i] == tmp) { pending[i] = NULL; return; }
    }
}

static void free_names(AtomicFile *af) {
    if (af->tmp) track(af->tmp, 0);
    free(af->path); free(af->tmp);
    af->path = af->tmp = NULL;
    af->fp = NULL;
}

// The file a write to path lands in: path itself, or the end of its chain of symlinks (a link's
// relative target is relative to the link's directory). The target may not exist yet. NULL: out
// of memory, or a loop (ELOOP in errno).
static char *follow_links(const char *path) {
    char *p = strdup(path);
    for (int hops = 0; p; hops++) {
        struct stat st;
        if (lstat(p, &st) != 0 || !S_ISLNK(st.st_mode)) return p;
        if (hops == 40) { free(p); errno = ELOOP; return NULL; }
        char target[4096];
        ssize_t n = readlink(p, target, sizeof target - 1);
        if (n < 0) return p;
        target[n] = '\0';
        char *q;
        const char *slash = strrchr(p, '/');
        if (target[0] == '/' || !slash) q = strdup(target);
        else if (asprintf(&q, "%.*s/%s", (int)(slash - p), p, target) < 0) q = NULL;
        free(p);
        p = q;
    }
    return NULL;
}

// What is at the path decides how it is written: nothing, or a regular file, is replaced
// atomically; a character device (/dev/null, a terminal) or a FIFO is written through, as a
// shell's > does (renaming a temp file over it would put a regular file in its place); a
// directory, a socket or a block device is refused.
static int open_through(AtomicFile *af, const struct stat *st, char *err, size_t errlen) {
    if (!S_ISCHR(st->st_mode) && !S_ISFIFO(st->st_mode)) {
        snprintf(err, errlen, "%s: %s", af->path, S_ISDIR(st->st_mode) ? "is a directory" :
                 "not a regular file, character device or FIFO: refusing to write over it");
        return -1;
    }
    // O_NONBLOCK: a FIFO nobody reads fails at once (ENXIO) instead of blocking in open()
    int fd = open(af->path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot write: %s", af->path,
                 errno == ENXIO ? "a FIFO with no reader" : strerror(errno));
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    af->fp = fdopen(fd, "wb");
    if (!af->fp) { snprintf(err, errlen, "%s: out of memory", af->path); close(fd); return -1; }
    return 0;
}

int atomic_open(AtomicFile *af, const char *path, char *err, size_t errlen) {
    memset(af, 0, sizeof *af);
    af->path = follow_links(path);
    if (!af->path) {
        snprintf(err, errlen, "%s: %s", path, errno == ELOOP ? strerror(ELOOP) : "out of memory");
        return -1;
    }
    struct stat st;
    if (stat(af->path, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (open_through(af, &st, err, errlen) == 0) return 0;
        free_names(af);
        return -1;
    }
    size_t n = strlen(af->path) + 32;
    af->tmp = malloc(n);
    if (!af->tmp) { snprintf(err, errlen, "%s: out of memory", path); free_names(af); return -1; }
    snprintf(af->tmp, n, "%s.tmp.%ld", af->path, (long)getpid());
    af->fp = fopen(af->tmp, "wb");
    if (!af->fp) {
        snprintf(err, errlen, "%s: cannot create: %s", af->path, strerror(errno));
        free_names(af);
        return -1;
    }
    track(af->tmp, 1);
    return 0;
}

int atomic_write(AtomicFile *af, const void *p, size_t n, char *err, size_t errlen) {
    if (n && fwrite(p, 1, n, af->fp) != n) {
        snprintf(err, errlen, "%s: write failed: %s", af->tmp ? af->tmp : af->path, strerror(errno));
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
    if (!af->tmp) {   // written through (a device or a FIFO): nothing to sync or rename
        int bad = fflush(af->fp) != 0 || ferror(af->fp);
        int e = errno;
        if (fclose(af->fp) != 0 && !bad) { bad = 1; e = errno; }
        af->fp = NULL;
        if (bad) snprintf(err, errlen, "%s: write failed: %s", af->path, strerror(e));
        free_names(af);
        return bad ? -1 : 0;
    }
    // Each step can fail on a full disk: fflush pushes stdio's buffer, fsync forces the data
    // to the device (a rename of unsynced data can survive a crash as an empty file).
    if (fflush(af->fp) != 0 || ferror(af->fp) || fsync(fileno(af->fp)) != 0) {
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

int atomic_write_file(const char *path, const void *p, size_t n, char *err, size_t errlen) {
    AtomicFile af;
    if (atomic_open(&af, path, err, errlen)) return -1;
    if (atomic_write(&af, p, n, err, errlen)) { atomic_abort(&af); return -1; }
    return atomic_commit(&af, err, errlen);
}

void atomic_abort(AtomicFile *af) {
    if (af->fp) fclose(af->fp);
    if (af->tmp) unlink(af->tmp);
    free_names(af);
}
