/*
 * compiler.h — attributes shared by both daemons.
 *
 * KV_MUST_CHECK marks a fallible function whose result must be looked at:
 * an I/O or sync call that can fail (a dropped fsync error loses data
 * silently), an append that may not have happened, a function returning
 * memory it allocated.  The build has -Werror, so an ignored result does not
 * compile.  Where ignoring is genuinely right (best effort on a path that
 * already failed), write `if (f(...) != 0) { ... }` with a comment saying
 * why, rather than a bare (void) cast, which GCC does not accept anyway.
 */
#ifndef KAVKA_COMPILER_H
#define KAVKA_COMPILER_H

#define KV_MUST_CHECK __attribute__((warn_unused_result))

#endif
