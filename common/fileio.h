/*
 * fileio.h — the one file-I/O layer of both daemons, with one rule for
 * failures (docs/storage.md, "Failure model"):
 *
 *  - a failed or partial append is truncated back before anything else is
 *    written to the file (fio_append), so a file never holds a torn record
 *    in front of a good one;
 *  - a failed fsync/fdatasync is never retried: after a writeback error the
 *    kernel may drop the dirty pages and mark them clean ("fsyncgate"), so a
 *    second call can report success for data that is gone.  What the sync
 *    covered is lost; the caller goes fail-stop (the broker takes the
 *    partition offline, the metastore exits non-zero);
 *  - small files are replaced whole: temp file, fsync, rename, directory
 *    fsync (fio_replace), so a crash leaves the old file or the new one.
 *
 * Every function returns 0 (or a count) on success and -1 with errno set on
 * failure, except where it says otherwise.
 */
#ifndef KAVKA_FILEIO_H
#define KAVKA_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "compiler.h"

#define FIO_WARN KV_MUST_CHECK

/* fio_append: the truncate back after a failed append failed as well; the
 * file's tail is unknown and nothing more may be written to it. */
#define FIO_TORN (-2)

/* Writes all of buf at the file's current offset (retries EINTR and short
 * writes).  No truncation: for files written once and then synced. */
int fio_write_full(int fd, const void *buf, size_t len) FIO_WARN;

/* Writes all of buf at offset `at`.  On failure the file is truncated back to
 * `at` (its size before the append) and -1 returned with the write's errno;
 * FIO_TORN when that truncate failed too. */
int fio_append(int fd, off_t at, const void *buf, size_t len) FIO_WARN;

/* Reads len bytes at off; returns the count read (short only at end of file)
 * or -1. */
ssize_t fio_pread_full(int fd, void *buf, size_t len, off_t off) FIO_WARN;

/* One fdatasync / fsync, never retried (see above). */
int fio_datasync(int fd) FIO_WARN;
int fio_fsync(int fd) FIO_WARN;

/* fsync a directory (after creating, renaming or removing entries), or the
 * directory that holds path. */
int fio_sync_dir(const char *dir) FIO_WARN;
int fio_sync_parent(const char *path) FIO_WARN;

/* Replaces path whole and durably (see above); the temp file never stays
 * behind. */
int fio_replace(const char *path, const void *data, size_t len, int mode) FIO_WARN;

/* The JSON text of root (indented, keys sorted), written by fio_replace.
 * root is not consumed. */
struct json_t;
int fio_replace_json(const char *path, struct json_t *root, int mode) FIO_WARN;

/* The numbers N of the files "<prefix>N<suffix>" in dir (N in base 10 or 16,
 * the whole middle part), sorted ascending, in a malloc'd array the caller
 * frees.  Other names are ignored.  Returns the count, or -1. */
ssize_t fio_list_numbered(const char *dir, const char *prefix, const char *suffix, int base,
                          uint64_t **out) FIO_WARN;

/* ftruncate, retried on EINTR (the cut-back of a failed write). */
int fio_truncate(int fd, off_t size) FIO_WARN;

/* Is dir still usable for writing?  Creates, writes, fsyncs and removes a
 * small probe file in it and fsyncs the directory: 0 if all of that worked.
 * How the broker tells one partition's failure from a dead log dir. */
int fio_probe_dir(const char *dir) FIO_WARN;

/*
 * Fault injection for unit tests (no LD_PRELOAD needed): when set, the hook
 * is asked before every write (FIO_OP_WRITE, *len = the bytes about to be
 * written), fsync/fdatasync (FIO_OP_SYNC, of a file or, with fd -1 and path
 * set, of a directory), rename (FIO_OP_RENAME, path = the target) and
 * truncate (FIO_OP_TRUNCATE) this layer makes.  fd is the file's descriptor
 * (-1 if none), path its name when known (NULL otherwise: tests can read
 * /proc/self/fd).  Returning 0 lets the call go on; returning an errno value
 * fails it with that errno, after writing only *len bytes if the hook
 * lowered it (a partial write).  NULL (the default) costs one branch.
 */
enum fio_op { FIO_OP_WRITE, FIO_OP_SYNC, FIO_OP_RENAME, FIO_OP_TRUNCATE };
typedef int (*fio_fault_fn)(enum fio_op op, int fd, const char *path, size_t *len);
extern fio_fault_fn fio_fault_hook;

/* rename(2) through this layer (and its fault hook); the caller fsyncs the
 * directory. */
int fio_rename(const char *from, const char *to) FIO_WARN;

/* Old names, kept for the callers that replace small files. */
#define fsync_dir fio_sync_dir
#define atomic_write_file fio_replace
#define atomic_write_json fio_replace_json

#endif
