/*
 * watch.h — watch tables (ZooKeeper's WatchManager).
 *
 * The server keeps two tables, as ZooKeeper does: data watches (getData,
 * exists, addWatch) and child watches (getChildren, addWatch PERSISTENT).
 * A watcher is a connection; each (path, watcher) has a set of modes:
 * STANDARD (one-shot, removed when it fires), PERSISTENT and
 * PERSISTENT_RECURSIVE (which also fires for every descendant; it is only
 * ever put in the data table, so it never sees NodeChildrenChanged).
 */
#ifndef KAVKA_MS_WATCH_H
#define KAVKA_MS_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    WMODE_STANDARD = 1,
    WMODE_PERSISTENT = 2,
    WMODE_RECURSIVE = 4,
};

struct watch_ent {
    void *who;        /* the connection */
    uint8_t modes;
};

struct watch_path {
    struct watch_path *next;
    char *path;
    struct watch_ent *v;
    size_t n, cap;
};

struct watch_table {
    struct watch_path **buckets;
    size_t nbuckets;
    size_t npaths;
    size_t nrecursive;  /* lets triggers skip the ancestor walk */
};

/* A set of watchers chosen by one trigger. */
struct watch_set {
    void **v;
    size_t n, cap;
};

int watch_table_init(struct watch_table *t);
void watch_table_free(struct watch_table *t);

int watch_add(struct watch_table *t, const char *path, void *who, uint8_t mode);
/* Fire: collect the watchers of path (and recursive ones on its ancestors)
 * into out, skipping those already in `suppress`; one-shot modes are
 * removed. */
int watch_trigger(struct watch_table *t, const char *path, struct watch_set *out,
                  const struct watch_set *suppress);
/* Remove the given modes of who on path; true if any was there. */
bool watch_remove(struct watch_table *t, const char *path, void *who, uint8_t modes);
bool watch_has(const struct watch_table *t, const char *path, const void *who, uint8_t modes);
/* Drop every watch of who (connection closed). */
void watch_remove_all(struct watch_table *t, const void *who);
/* Counts for 4lw: watches total, and watches of who (NULL = all). */
size_t watch_count(const struct watch_table *t, const void *who);

/* Visit every (path, who) pair. */
void watch_foreach(const struct watch_table *t,
                   void (*fn)(const char *path, void *who, uint8_t modes, void *arg), void *arg);

void watch_set_free(struct watch_set *s);
bool watch_set_has(const struct watch_set *s, const void *who);

#endif
