/*
 * atomic_file.h — small files replaced whole and durably: written to
 * `<path>.tmp`, fsynced, renamed over `path`, and the directory fsynced, so
 * a crash leaves either the old file or the new one, never a torn one (the
 * broker's metadata files, the metastore's snapshots).
 */
#ifndef KAVKA_ATOMIC_FILE_H
#define KAVKA_ATOMIC_FILE_H

#include <stddef.h>

/* fsync a directory (after creating, renaming or removing entries). */
int fsync_dir(const char *dir);

/* 0, or -1 with errno set; the temp file never stays behind. */
int atomic_write_file(const char *path, const void *data, size_t len, int mode);

/* The JSON text of root (indented, keys sorted), written as above. root is
 * not consumed. */
struct json_t;
int atomic_write_json(const char *path, struct json_t *root, int mode);

#endif
