// util/atomic_file.h — write a file so that a crash or kill never leaves a half-written one.
//
// The bytes go to a temporary file in the same directory ("<path>.tmp.<pid>"); commit then
// fflush()es, fsync()s, renames it over <path> (rename is atomic within one file system) and
// fsync()s the directory so the rename itself is on disk. Until the rename, readers see the old
// file; after it, the complete new one. Used for checkpoints, training state, token shards, logs
// and rank files.
//
// A symlink at <path> is followed: the file it names is replaced, and the link stays. A
// character device (/dev/null, /dev/full, a terminal) or a FIFO at the path is written through
// instead (a rename would put a regular file in its place); a FIFO nobody reads is an error, not
// a hang. A directory, socket or block device there is refused.
#pragma once
#include <stdio.h>
#include <stddef.h>

typedef struct {
    FILE *fp;          // write through this
    char *path;        // final name (the end of a chain of symlinks)
    char *tmp;         // temporary name in the same directory; NULL when written through
} AtomicFile;

// Opens the temporary file. 0 on success; -1 with a one-line reason in err.
int atomic_open(AtomicFile *af, const char *path, char *err, size_t errlen);
// fwrite n bytes; -1 (reason in err) on a short write such as a full disk.
int atomic_write(AtomicFile *af, const void *p, size_t n, char *err, size_t errlen);
// flush + fsync + rename + fsync(dir). On failure the temp file is removed, the old file stays.
int atomic_commit(AtomicFile *af, char *err, size_t errlen);
// Gives up: closes and removes the temporary file.
void atomic_abort(AtomicFile *af);
// All of a file at once: open, write the n bytes, commit (or abort). 0, or -1 with err.
int atomic_write_file(const char *path, const void *p, size_t n, char *err, size_t errlen);
// fsync the directory holding path (so a rename or unlink there is durable).
int fsync_parent_dir(const char *path);
