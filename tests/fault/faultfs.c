/*
 * faultfs.c — an LD_PRELOAD shim that makes a daemon's file I/O fail on
 * demand and records what reached stable storage (tests/fault/, see
 * docs/storage.md "Fault-injection tests").
 *
 *   FAULTFS_PATH=substr   only regular files (and directories, for fsync)
 *                         whose path contains substr are counted and may
 *                         fail; unset: no fault is ever injected
 *   FAULTFS_OP=a,b        ops that fail: write (write/pwrite/writev),
 *                         fsync (fsync/fdatasync), rename (rename/renameat)
 *   FAULTFS_AFTER=N       the first N matching calls succeed (default 0)
 *   FAULTFS_COUNT=M       only M calls fail (default: every later one)
 *   FAULTFS_ERRNO=EIO|ENOSPC          (default EIO)
 *   FAULTFS_MODE=fail|partial         partial: a failing write writes half
 *                         its bytes and returns that short count; the next
 *                         write on that fd then fails with the errno
 *   FAULTFS_EVENTS=file   one line "fault OP PATH" per injected fault
 *   FAULTFS_SYNCLOG=file  the power-loss record read by powercut.py:
 *                         create PATH | mkdir PATH | sync PATH SIZE |
 *                         syncfail PATH SIZE | dirsync DIR | dirsyncfail DIR |
 *                         rename OLD NEW | unlink PATH | trunc PATH SIZE
 *                         (every regular file and directory of the process,
 *                         FAULTFS_PATH or not: powercut.py picks its tree)
 *
 * Lines go to their file with one O_APPEND write() each, so the lines of a
 * daemon and a forked child never interleave.  No malloc and no stdio after
 * start-up: buffers live on the stack and counters are atomics, so a call
 * from any thread (or a forked child) cannot deadlock on a lock the shim
 * holds.  A forked child counts FAULTFS_AFTER/COUNT on its own from the
 * parent's numbers at the fork.  Writes to sockets, pipes and terminals are
 * never failed nor looked at: only fds that fstat() calls regular files (or
 * directories, for fsync) are.  With none of the variables set every call
 * goes straight through.
 */

/* meson builds with _FILE_OFFSET_BITS=64, which would turn our `open` into a
 * second definition of open64: define both names as themselves. */
#undef _FILE_OFFSET_BITS
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define OP_WRITE 1u
#define OP_FSYNC 2u
#define OP_RENAME 4u

/* Room for "rename OLD NEW\n" with two full paths. */
#define LINE_MAX_ (2 * PATH_MAX + 64)
#define MAX_FDS 65536

static struct {
    const char *path;    /* FAULTFS_PATH, NULL: no faults */
    unsigned ops;
    long after, count;   /* count < 0: unlimited */
    int err;
    bool partial;
    const char *events, *synclog;
} cfg = { .count = -1, .err = EIO };

static long matched, injected;              /* atomics */
static unsigned char partial_pending[MAX_FDS];  /* fd had a partial write */

static ssize_t (*r_write)(int, const void *, size_t);
static ssize_t (*r_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*r_pwrite64)(int, const void *, size_t, off64_t);
static ssize_t (*r_writev)(int, const struct iovec *, int);
static int (*r_fsync)(int);
static int (*r_fdatasync)(int);
static int (*r_rename)(const char *, const char *);
static int (*r_renameat)(int, const char *, int, const char *);
static int (*r_open)(const char *, int, ...);
static int (*r_open64)(const char *, int, ...);
static int (*r_openat)(int, const char *, int, ...);
static int (*r_openat64)(int, const char *, int, ...);
static int (*r_unlink)(const char *);
static int (*r_unlinkat)(int, const char *, int);
static int (*r_ftruncate)(int, off_t);
static int (*r_ftruncate64)(int, off64_t);
static int (*r_mkdir)(const char *, mode_t);
static int (*r_mkdirat)(int, const char *, mode_t);

static bool resolved;

static void resolve(void)
{
#define R(name) r_##name = dlsym(RTLD_NEXT, #name)
    R(write); R(pwrite); R(pwrite64); R(writev); R(fsync); R(fdatasync); R(rename);
    R(renameat); R(open); R(open64); R(openat); R(openat64); R(unlink); R(unlinkat);
    R(ftruncate); R(ftruncate64); R(mkdir); R(mkdirat);
#undef R
    resolved = true;
}

/* Resolved in the constructor; the check covers a call made by another
 * library's constructor that runs before ours. */
#define REAL(name) ((resolved ? (void)0 : resolve()), r_##name)

static void die(const char *msg)
{
    /* A misconfigured test must fail loudly, not run without its faults. */
    ssize_t k = REAL(write)(2, msg, strlen(msg));
    (void)k;
    _exit(97);
}

static long env_long(const char *name, long dflt)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return dflt;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < 0)
        die("faultfs: bad number in FAULTFS_AFTER/FAULTFS_COUNT\n");
    return v;
}

__attribute__((constructor)) static void faultfs_init(void)
{
    if (!resolved)
        resolve();
    const char *p = getenv("FAULTFS_PATH");
    cfg.path = p && *p ? p : NULL;
    const char *ops = getenv("FAULTFS_OP");
    for (const char *t = ops; t && *t;) {
        size_t n = strcspn(t, ",");
        if (n == 5 && !strncmp(t, "write", 5))
            cfg.ops |= OP_WRITE;
        else if (n == 5 && !strncmp(t, "fsync", 5))
            cfg.ops |= OP_FSYNC;
        else if (n == 6 && !strncmp(t, "rename", 6))
            cfg.ops |= OP_RENAME;
        else if (n)
            die("faultfs: FAULTFS_OP takes write, fsync, rename\n");
        t += n + (t[n] == ',');
    }
    cfg.after = env_long("FAULTFS_AFTER", 0);
    cfg.count = env_long("FAULTFS_COUNT", -1);
    const char *e = getenv("FAULTFS_ERRNO");
    if (e && *e && strcmp(e, "EIO") != 0) {
        if (strcmp(e, "ENOSPC") != 0)
            die("faultfs: FAULTFS_ERRNO is EIO or ENOSPC\n");
        cfg.err = ENOSPC;
    }
    const char *m = getenv("FAULTFS_MODE");
    if (m && *m && strcmp(m, "fail") != 0) {
        if (strcmp(m, "partial") != 0)
            die("faultfs: FAULTFS_MODE is fail or partial\n");
        cfg.partial = true;
    }
    const char *ev = getenv("FAULTFS_EVENTS"), *sl = getenv("FAULTFS_SYNCLOG");
    cfg.events = ev && *ev ? ev : NULL;
    cfg.synclog = sl && *sl ? sl : NULL;
}

/* ---------------- small async-signal-safe helpers ---------------- */

struct line {
    char b[LINE_MAX_];
    size_t n;
    bool overflow;
};

static void put(struct line *l, const char *s)
{
    size_t k = strlen(s);
    if (l->n + k >= sizeof l->b) {
        l->overflow = true;
        return;
    }
    memcpy(l->b + l->n, s, k);
    l->n += k;
}

static void put_num(struct line *l, long long v)
{
    char d[24], *q = d + sizeof d;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    *--q = 0;
    do
        *--q = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    if (v < 0)
        *--q = '-';
    put(l, q);
}

/* Appends the line with one write; errno is the caller's afterwards. */
static void emit(const char *file, struct line *l)
{
    if (!file || l->overflow)
        return;
    int saved = errno;
    l->b[l->n++] = '\n';
    int fd = REAL(open)(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
        ssize_t k = REAL(write)(fd, l->b, l->n);
        (void)k;
        close(fd);
    }
    errno = saved;
}

static void record(const char *file, const char *what, const char *a, const char *b,
                   long long num, bool has_num)
{
    struct line l = { .n = 0 };
    put(&l, what);
    put(&l, " ");
    put(&l, a);
    if (b) {
        put(&l, " ");
        put(&l, b);
    }
    if (has_num) {
        put(&l, " ");
        put_num(&l, num);
    }
    emit(file, &l);
}

/* The path behind an fd; "" when there is none. */
static void fd_path(int fd, char *buf, size_t cap)
{
    int saved = errno;
    char link[40] = "/proc/self/fd/", d[16], *q = d + sizeof d;
    unsigned u = (unsigned)fd;
    *--q = 0;
    do
        *--q = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    strcat(link, q);
    ssize_t k = readlink(link, buf, cap - 1);
    buf[k > 0 ? k : 0] = 0;
    errno = saved;
}

/* An absolute form of (dirfd, path), not canonicalised: the tests hand the
 * daemons absolute, symlink-free directories. */
static void abs_path(int dirfd, const char *path, char *buf, size_t cap)
{
    buf[0] = 0;
    if (!path)
        return;
    if (path[0] == '/' || dirfd != AT_FDCWD) {
        if (path[0] == '/') {
            size_t k = strlen(path);
            if (k < cap)
                memcpy(buf, path, k + 1);
            return;
        }
        fd_path(dirfd, buf, cap);
    } else {
        int saved = errno;
        ssize_t k = readlink("/proc/self/cwd", buf, cap - 1);
        buf[k > 0 ? k : 0] = 0;
        errno = saved;
    }
    size_t n = strlen(buf), k = strlen(path);
    if (n && n + 1 + k < cap) {
        buf[n] = '/';
        memcpy(buf + n + 1, path, k + 1);
    } else {
        buf[0] = 0;
    }
}

/* 1 regular file, 2 directory, 0 anything else. */
static int fd_kind(int fd)
{
    int saved = errno;
    struct stat st;
    int r = fstat(fd, &st) != 0 ? 0 : S_ISREG(st.st_mode) ? 1 : S_ISDIR(st.st_mode) ? 2 : 0;
    errno = saved;
    return r;
}

static long long fd_size(int fd)
{
    int saved = errno;
    struct stat st;
    long long r = fstat(fd, &st) == 0 ? (long long)st.st_size : -1;
    errno = saved;
    return r;
}

/* ---------------- the fault decision ---------------- */

enum verdict { PASS, FAIL, PARTIAL };

static const char *op_name(unsigned op)
{
    return op == OP_WRITE ? "write" : op == OP_FSYNC ? "fsync" : "rename";
}

/* Counts a matching call and says whether it fails (and logs the fault). */
static enum verdict decide(unsigned op, const char *path)
{
    if (!cfg.path || !(cfg.ops & op) || !path[0] || !strstr(path, cfg.path))
        return PASS;
    long nth = __atomic_add_fetch(&matched, 1, __ATOMIC_SEQ_CST);
    if (nth <= cfg.after)
        return PASS;
    if (cfg.count >= 0 && __atomic_add_fetch(&injected, 1, __ATOMIC_SEQ_CST) > cfg.count)
        return PASS;
    bool partial = cfg.partial && op == OP_WRITE;
    record(cfg.events, "fault", partial ? "write-partial" : op_name(op), path, 0, false);
    return partial ? PARTIAL : FAIL;
}

/* For write ops on fd: only regular files are ever looked at. */
static enum verdict decide_fd_write(int fd)
{
    if (!cfg.path || !(cfg.ops & OP_WRITE) || fd_kind(fd) != 1)
        return PASS;
    char path[PATH_MAX];
    fd_path(fd, path, sizeof path);
    if (fd >= 0 && fd < MAX_FDS && partial_pending[fd] && path[0] && strstr(path, cfg.path)) {
        /* The second half of a partial fault: the disk is still full. */
        partial_pending[fd] = 0;
        record(cfg.events, "fault", "write", path, 0, false);
        return FAIL;
    }
    enum verdict v = decide(OP_WRITE, path);
    if (v == PARTIAL && fd >= 0 && fd < MAX_FDS)
        partial_pending[fd] = 1;
    return v;
}

/* ---------------- writes ---------------- */

ssize_t write(int fd, const void *buf, size_t n)
{
    enum verdict v = decide_fd_write(fd);
    if (v == FAIL || (v == PARTIAL && n < 2)) {
        errno = cfg.err;
        return -1;
    }
    return REAL(write)(fd, buf, v == PARTIAL ? n / 2 : n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    enum verdict v = decide_fd_write(fd);
    if (v == FAIL || (v == PARTIAL && n < 2)) {
        errno = cfg.err;
        return -1;
    }
    return REAL(pwrite)(fd, buf, v == PARTIAL ? n / 2 : n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
    enum verdict v = decide_fd_write(fd);
    if (v == FAIL || (v == PARTIAL && n < 2)) {
        errno = cfg.err;
        return -1;
    }
    return REAL(pwrite64)(fd, buf, v == PARTIAL ? n / 2 : n, off);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    enum verdict v = decide_fd_write(fd);
    if (v == PASS)
        return REAL(writev)(fd, iov, cnt);
    size_t total = 0;
    for (int i = 0; i < cnt; i++)
        total += iov[i].iov_len;
    if (v == FAIL || total < 2 || cnt <= 0 || cnt > IOV_MAX) {
        errno = cfg.err;
        return -1;
    }
    /* Half of the bytes: the leading iovecs, the last one cut short. */
    struct iovec half[cnt];
    size_t want = total / 2;
    int k = 0;
    for (; k < cnt && want > 0; k++) {
        half[k] = iov[k];
        if (half[k].iov_len > want)
            half[k].iov_len = want;
        want -= half[k].iov_len;
    }
    return REAL(writev)(fd, half, k);
}

/* ---------------- syncs ---------------- */

/* A failed sync is recorded too ("syncfail PATH SIZE"): after a writeback
 * error the kernel may drop the dirty pages, so powercut.py counts nothing
 * written after the last good sync of that file as durable, whatever a later
 * sync says. */
static int after_sync(int fd, int rc)
{
    if (cfg.synclog) {
        char path[PATH_MAX];
        int kind = fd_kind(fd);
        if (kind) {
            fd_path(fd, path, sizeof path);
            if (path[0] == '/') {
                if (kind == 1)
                    record(cfg.synclog, rc == 0 ? "sync" : "syncfail", path, NULL, fd_size(fd),
                           true);
                else if (rc == 0)
                    record(cfg.synclog, "dirsync", path, NULL, 0, false);
                else
                    record(cfg.synclog, "dirsyncfail", path, NULL, 0, false);
            }
        }
    }
    return rc;
}

static enum verdict decide_sync(int fd)
{
    if (!cfg.path || !(cfg.ops & OP_FSYNC) || fd_kind(fd) == 0)
        return PASS;
    char path[PATH_MAX];
    fd_path(fd, path, sizeof path);
    return decide(OP_FSYNC, path);
}

static int failed_sync(int fd)
{
    after_sync(fd, -1);
    errno = cfg.err;
    return -1;
}

int fsync(int fd)
{
    if (decide_sync(fd) != PASS)
        return failed_sync(fd);
    return after_sync(fd, REAL(fsync)(fd));
}

int fdatasync(int fd)
{
    if (decide_sync(fd) != PASS)
        return failed_sync(fd);
    return after_sync(fd, REAL(fdatasync)(fd));
}

/* ---------------- names ---------------- */

static int renamed(int rc, const char *from, const char *to)
{
    if (rc == 0 && cfg.synclog && from[0] && to[0])
        record(cfg.synclog, "rename", from, to, 0, false);
    return rc;
}

static bool rename_fails(const char *from, const char *to)
{
    if (!cfg.path || !(cfg.ops & OP_RENAME))
        return false;
    /* Either name may be the one the test means. */
    return decide(OP_RENAME, strstr(from, cfg.path) ? from : to) != PASS;
}

/* Whether rename/renameat need to look at the names at all. */
static bool names_matter(void)
{
    return cfg.synclog || (cfg.path && (cfg.ops & OP_RENAME));
}

int rename(const char *oldp, const char *newp)
{
    if (!names_matter())
        return REAL(rename)(oldp, newp);
    char from[PATH_MAX], to[PATH_MAX];
    abs_path(AT_FDCWD, oldp, from, sizeof from);
    abs_path(AT_FDCWD, newp, to, sizeof to);
    if (rename_fails(from, to)) {
        errno = cfg.err;
        return -1;
    }
    return renamed(REAL(rename)(oldp, newp), from, to);
}

int renameat(int olddir, const char *oldp, int newdir, const char *newp)
{
    if (!names_matter())
        return REAL(renameat)(olddir, oldp, newdir, newp);
    char from[PATH_MAX], to[PATH_MAX];
    abs_path(olddir, oldp, from, sizeof from);
    abs_path(newdir, newp, to, sizeof to);
    if (rename_fails(from, to)) {
        errno = cfg.err;
        return -1;
    }
    return renamed(REAL(renameat)(olddir, oldp, newdir, newp), from, to);
}

static int unlinked(int rc, int dirfd, const char *p)
{
    if (rc == 0 && cfg.synclog) {
        char path[PATH_MAX];
        abs_path(dirfd, p, path, sizeof path);
        if (path[0])
            record(cfg.synclog, "unlink", path, NULL, 0, false);
    }
    return rc;
}

int unlink(const char *p)
{
    return unlinked(REAL(unlink)(p), AT_FDCWD, p);
}

int unlinkat(int dirfd, const char *p, int flags)
{
    /* Directories (AT_REMOVEDIR) are logged as unlink too: the entry goes. */
    if (!cfg.synclog)
        return REAL(unlinkat)(dirfd, p, flags);
    char path[PATH_MAX];
    abs_path(dirfd, p, path, sizeof path);  /* before: dirfd may name it */
    int rc = REAL(unlinkat)(dirfd, p, flags);
    if (rc == 0 && path[0])
        record(cfg.synclog, "unlink", path, NULL, 0, false);
    return rc;
}

static int made_dir(int rc, int dirfd, const char *p)
{
    if (rc == 0 && cfg.synclog) {
        char path[PATH_MAX];
        abs_path(dirfd, p, path, sizeof path);
        if (path[0])
            record(cfg.synclog, "mkdir", path, NULL, 0, false);
    }
    return rc;
}

int mkdir(const char *p, mode_t mode)
{
    return made_dir(REAL(mkdir)(p, mode), AT_FDCWD, p);
}

int mkdirat(int dirfd, const char *p, mode_t mode)
{
    return made_dir(REAL(mkdirat)(dirfd, p, mode), dirfd, p);
}

static int truncated(int fd, int rc, long long size)
{
    if (rc == 0 && cfg.synclog && fd_kind(fd) == 1) {
        char path[PATH_MAX];
        fd_path(fd, path, sizeof path);
        if (path[0] == '/')
            record(cfg.synclog, "trunc", path, NULL, size, true);
    }
    return rc;
}

int ftruncate(int fd, off_t size)
{
    return truncated(fd, REAL(ftruncate)(fd, size), size);
}

int ftruncate64(int fd, off64_t size)
{
    return truncated(fd, REAL(ftruncate64)(fd, size), size);
}

/* ---------------- opens: which ones create a file ---------------- */

/* Before the open: does the name exist already? (Only asked when it matters.) */
static int existed_before(int dirfd, const char *p, int flags)
{
    if (!cfg.synclog || !(flags & (O_CREAT | O_TRUNC)))
        return -1;
    if ((flags & O_CREAT) && (flags & O_EXCL))
        return 0;
    int saved = errno;
    int r = faccessat(dirfd, p, F_OK, AT_EACCESS) == 0;
    errno = saved;
    return r;
}

static int opened(int fd, int flags, int existed)
{
    if (fd < 0)
        return fd;
    if (fd < MAX_FDS)
        partial_pending[fd] = 0;  /* a new file behind a reused fd number */
    if (existed < 0 || fd_kind(fd) != 1)
        return fd;
    char path[PATH_MAX];
    fd_path(fd, path, sizeof path);
    if (path[0] != '/')
        return fd;
    if (!existed && (flags & O_CREAT))
        record(cfg.synclog, "create", path, NULL, 0, false);
    else if (existed && (flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY)
        record(cfg.synclog, "trunc", path, NULL, 0, true);
    return fd;
}

static mode_t mode_arg(int flags, va_list ap)
{
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *p, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    int existed = existed_before(AT_FDCWD, p, flags);
    return opened(REAL(open)(p, flags, mode), flags, existed);
}

int open64(const char *p, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    int existed = existed_before(AT_FDCWD, p, flags);
    return opened(REAL(open64)(p, flags, mode), flags, existed);
}

int openat(int dirfd, const char *p, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    int existed = existed_before(dirfd, p, flags);
    return opened(REAL(openat)(dirfd, p, flags, mode), flags, existed);
}

int openat64(int dirfd, const char *p, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    int existed = existed_before(dirfd, p, flags);
    return opened(REAL(openat64)(dirfd, p, flags, mode), flags, existed);
}
