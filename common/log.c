/*
 * log.c — see log.h.
 *
 * The level is an atomic so worker threads may read it while main changes
 * it; nothing else is shared, the line is built on the stack.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static _Atomic int cur_level = KLOG_LEVEL_INFO;

static const char *const level_names[] = { "ERROR", "WARN", "INFO", "DEBUG" };

void klog_set_level(int level)
{
    if (level < KLOG_LEVEL_ERROR)
        level = KLOG_LEVEL_ERROR;
    if (level > KLOG_LEVEL_DEBUG)
        level = KLOG_LEVEL_DEBUG;
    atomic_store_explicit(&cur_level, level, memory_order_relaxed);
}

int klog_get_level(void)
{
    return atomic_load_explicit(&cur_level, memory_order_relaxed);
}

int klog_level_parse(const char *name)
{
    for (int i = KLOG_LEVEL_ERROR; i <= KLOG_LEVEL_DEBUG; i++)
        if (strcasecmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" into out (at least 25 bytes). */
static void iso_now(char *out, size_t n)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t k = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + k, n - k, ".%03ldZ", ts.tv_nsec / 1000000L);
}

void klog(int level, const char *fmt, ...)
{
    if (level > klog_get_level())
        return;
    if (level < KLOG_LEVEL_ERROR)
        level = KLOG_LEVEL_ERROR;
    int saved_errno = errno; /* callers may log between a failure and strerror */
    char line[4096];
    char ts[32];
    iso_now(ts, sizeof ts);
    int k = snprintf(line, sizeof line, "%s %-5s ", ts, level_names[level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + k, sizeof line - (size_t)k, fmt, ap);
    va_end(ap);
    size_t len = (size_t)k + (m > 0 ? (size_t)m : 0);
    if (len > sizeof line - 2) { /* cut: leave room for "...\n" */
        len = sizeof line - 5;
        line[len++] = '.';
        line[len++] = '.';
        line[len++] = '.';
    }
    line[len++] = '\n';
    for (size_t off = 0; off < len;) {
        ssize_t w = write(STDERR_FILENO, line + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    errno = saved_errno;
}
