/*
 * fileio.c — see fileio.h.
 */
#include "fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

fio_fault_fn fio_fault_hook;

/* The test hook's verdict: 0, or the errno to fail with (see fileio.h). */
static int fault(enum fio_op op, int fd, const char *path, size_t *len)
{
    size_t dummy = 0;
    return fio_fault_hook ? fio_fault_hook(op, fd, path, len ? len : &dummy) : 0;
}

int fio_write_full(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        size_t part = len;
        int fe = fault(FIO_OP_WRITE, fd, NULL, &part);
        if (fe) {
            if (part > 0 && part < len) {
                ssize_t k = write(fd, p, part);  /* the injected partial write */
                (void)k;
            }
            errno = fe;
            return -1;
        }
        ssize_t k = write(fd, p, len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        if (k == 0) {  /* a regular file only says 0 when it cannot grow */
            errno = ENOSPC;
            return -1;
        }
        p += k;
        len -= (size_t)k;
    }
    return 0;
}

int fio_append(int fd, off_t at, const void *buf, size_t len)
{
    const char *p = buf;
    size_t done = 0;
    while (done < len) {
        size_t part = len - done;
        int fe = fault(FIO_OP_WRITE, fd, NULL, &part);
        ssize_t k;
        if (fe) {
            if (part > 0 && part < len - done) {
                k = pwrite(fd, p + done, part, at + (off_t)done);  /* injected partial write */
                (void)k;
            }
            errno = fe;
            k = -1;
        } else {
            k = pwrite(fd, p + done, len - done, at + (off_t)done);
        }
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            int e = k < 0 ? errno : ENOSPC;
            /* Cut the torn part off now: the next append goes to `at`, and a
             * reader or a restart must never find half a record there. */
            int rc = fio_truncate(fd, at) == 0 ? -1 : FIO_TORN;
            errno = e;
            return rc;
        }
        done += (size_t)k;
    }
    return 0;
}

ssize_t fio_pread_full(int fd, void *buf, size_t len, off_t off)
{
    char *p = buf;
    size_t done = 0;
    while (done < len) {
        ssize_t k = pread(fd, p + done, len - done, off + (off_t)done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        if (k == 0)
            break;
        done += (size_t)k;
    }
    return (ssize_t)done;
}

int fio_datasync(int fd)
{
    int fe = fault(FIO_OP_SYNC, fd, NULL, NULL);
    if (fe) {
        errno = fe;
        return -1;
    }
    return fdatasync(fd);  /* once: see fileio.h on why never twice */
}

int fio_fsync(int fd)
{
    int fe = fault(FIO_OP_SYNC, fd, NULL, NULL);
    if (fe) {
        errno = fe;
        return -1;
    }
    return fsync(fd);
}

int fio_truncate(int fd, off_t size)
{
    int fe = fault(FIO_OP_TRUNCATE, fd, NULL, NULL);
    if (fe) {
        errno = fe;
        return -1;
    }
    int rc;
    do
        rc = ftruncate(fd, size);
    while (rc != 0 && errno == EINTR);
    return rc;
}

int fio_sync_dir(const char *dir)
{
    int fe = fault(FIO_OP_SYNC, -1, dir, NULL);
    if (fe) {
        errno = fe;
        return -1;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

int fio_sync_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return fio_sync_dir(".");
    if (slash == path)
        return fio_sync_dir("/");
    char *dir = strndup(path, (size_t)(slash - path));
    if (!dir) {
        errno = ENOMEM;
        return -1;
    }
    int rc = fio_sync_dir(dir);
    int e = errno;
    free(dir);
    errno = e;
    return rc;
}

int fio_replace(const char *path, const void *data, size_t len, int mode)
{
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 5);
    if (!tmp) {
        errno = ENOMEM;
        return -1;
    }
    memcpy(tmp, path, pl);
    memcpy(tmp + pl, ".tmp", 5);
    int rc = -1, e = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd >= 0) {
        if (fio_write_full(fd, data, len) == 0 && fio_fsync(fd) == 0)
            rc = 0;
        e = errno;
        if (close(fd) != 0 && rc == 0) {
            rc = -1;
            e = errno;
        }
    } else {
        e = errno;
    }
    if (rc == 0 && fio_rename(tmp, path) != 0) {
        rc = -1;
        e = errno;
    }
    /* After the rename the new file is in place but its directory entry may
     * not be durable: report the failure, so the caller does not acknowledge
     * what a power loss could still undo. */
    if (rc == 0 && fio_sync_parent(path) != 0) {
        rc = -1;
        e = errno;
    }
    if (rc != 0)
        unlink(tmp);
    free(tmp);
    errno = e;
    return rc;
}

int fio_replace_json(const char *path, struct json_t *root, int mode)
{
    char *text = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
    if (!text) {
        errno = ENOMEM;
        return -1;
    }
    int rc = fio_replace(path, text, strlen(text), mode);
    int e = errno;
    free(text);
    errno = e;
    return rc;
}

int fio_probe_dir(const char *dir)
{
    size_t dl = strlen(dir);
    char *path = malloc(dl + 32);
    if (!path) {
        errno = ENOMEM;
        return -1;
    }
    snprintf(path, dl + 32, "%s/.kavka-probe-%ld", dir, (long)getpid());
    int rc = -1, e = 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        if (fio_write_full(fd, "probe\n", 6) == 0 && fio_fsync(fd) == 0)
            rc = 0;
        e = errno;
        close(fd);
        if (unlink(path) != 0 && rc == 0) {
            rc = -1;
            e = errno;
        }
        if (rc == 0 && fio_sync_dir(dir) != 0) {
            rc = -1;
            e = errno;
        }
    } else {
        e = errno;
    }
    free(path);
    errno = e;
    return rc;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

ssize_t fio_list_numbered(const char *dir, const char *prefix, const char *suffix, int base,
                          uint64_t **out)
{
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    size_t n = 0, cap = 0, pl = strlen(prefix), sl = strlen(suffix);
    uint64_t *v = NULL;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        const char *s = e->d_name;
        size_t len = strlen(s);
        if (len <= pl + sl || strncmp(s, prefix, pl) != 0 || strcmp(s + len - sl, suffix) != 0)
            continue;
        char *end;
        errno = 0;
        unsigned long long x = strtoull(s + pl, &end, base);
        /* strtoull would take a sign or spaces: the number must start the middle */
        int digit = (s[pl] >= '0' && s[pl] <= '9') ||
                    (base == 16 && (s[pl] | 32) >= 'a' && (s[pl] | 32) <= 'f');
        if (errno != 0 || end != s + len - sl || !digit)
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            uint64_t *nv = realloc(v, nc * sizeof *v);
            if (!nv) {
                free(v);
                closedir(d);
                errno = ENOMEM;
                return -1;
            }
            v = nv;
            cap = nc;
        }
        v[n++] = x;
        errno = 0;
    }
    int e2 = errno;
    closedir(d);
    if (e2 != 0) {
        free(v);
        errno = e2;
        return -1;
    }
    if (n)
        qsort(v, n, sizeof *v, cmp_u64);
    *out = v;
    return (ssize_t)n;
}

/* Added for the metastore's snapshot writer (it streams the file itself, so
 * it cannot use fio_replace, but its rename goes through the hook too). */
int fio_rename(const char *from, const char *to)
{
    int fe = fault(FIO_OP_RENAME, -1, to, NULL);
    if (fe) {
        errno = fe;
        return -1;
    }
    return rename(from, to);
}
