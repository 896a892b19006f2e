/*
 * log.h — minimal leveled logging to stderr.
 *
 * One line per call: "2024-05-01T12:34:56.789Z WARN  message\n" (UTC, ms).
 * Each line is written with a single write(2), so lines from different
 * threads do not interleave. Messages over ~4 KiB are cut and end in "...".
 *
 * The broker also has a broker/log.h (the partition log), so code includes
 * this header as "klog.h", a wrapper with an unambiguous name.
 */
#ifndef KAVKA_KLOG_H
#define KAVKA_KLOG_H

enum klog_level {
    KLOG_LEVEL_ERROR = 0,
    KLOG_LEVEL_WARN = 1,
    KLOG_LEVEL_INFO = 2,
    KLOG_LEVEL_DEBUG = 3,
};

/* Log at `level` if it is enabled (level <= the current level). */
void klog(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Messages above `level` are dropped. The default is KLOG_LEVEL_INFO. */
void klog_set_level(int level);
int klog_get_level(void);

/* "error", "warn", "info", "debug" (any case) -> level; -1 if unknown. */
int klog_level_parse(const char *name);

#define KLOG_ERROR(...) klog(KLOG_LEVEL_ERROR, __VA_ARGS__)
#define KLOG_WARN(...) klog(KLOG_LEVEL_WARN, __VA_ARGS__)
#define KLOG_INFO(...) klog(KLOG_LEVEL_INFO, __VA_ARGS__)
#define KLOG_DEBUG(...) klog(KLOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
