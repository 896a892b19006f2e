/*
 * clock.h — the two clocks, in milliseconds.
 *
 * clock_wall_ms() is the time of day (record timestamps, expiry times that
 * are stored or sent); clock_mono_ms() only moves forward and is what
 * durations, deadlines and timeouts are measured on, so that a step of the
 * system clock cannot fire or stall them all at once.
 */
#ifndef KAVKA_CLOCK_H
#define KAVKA_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t clock_ms_of(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int64_t clock_wall_ms(void)
{
    return clock_ms_of(CLOCK_REALTIME);
}

static inline int64_t clock_mono_ms(void)
{
    return clock_ms_of(CLOCK_MONOTONIC);
}

#endif
