/*
 * tree.h — the znode tree (ZooKeeper's DataTree).
 *
 * Nodes live in one hash table keyed by full path; each node also links to
 * its parent and its children (a doubly linked sibling list, so deletes are
 * O(1)). Mutations keep Stat exactly as ZooKeeper does:
 *   create:  node czxid = mzxid = pzxid = zxid, ctime = mtime = time;
 *            parent cversion += 1, parent pzxid = zxid
 *   delete:  parent pzxid = zxid (the stored cversion counts creates only:
 *            it is the sequential suffix; the Stat a client sees has
 *            cversion = 2 * creates - numChildren, as DataNode.copyStat)
 *   setData: mzxid = zxid, mtime = time, version += 1
 *   setACL:  aversion += 1
 * numChildren and dataLength are derived when a Stat is read.
 *
 * Every successful mutation appends the watch events it causes to
 * t->events (NodeCreated/NodeDeleted/NodeDataChanged on the node,
 * NodeChildrenChanged on the parent); the caller delivers or drops them.
 *
 * Between tree_begin() and tree_commit()/tree_rollback() mutations are
 * recorded so a failed multi can be undone exactly (stats included).
 */
#ifndef KAVKA_MS_TREE_H
#define KAVKA_MS_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jute.h"

struct znode {
    char *path;            /* owned; full path, NUL-terminated */
    size_t plen;
    const char *name;      /* last component (points into path) */
    struct znode *parent;
    struct znode *child_head, *child_tail;
    struct znode *next_sib, *prev_sib;
    struct znode *hnext;   /* hash chain */
    uint8_t *data;         /* owned; NULL when dlen <= 0 */
    int32_t dlen;          /* -1: null data */
    int32_t nchildren;
    struct zstat st;       /* data_length / num_children not maintained */
    struct zacl_list acl;  /* owned */
};

struct tree_event {
    int type;              /* ZEV_* */
    char *path;            /* owned */
};

struct tree_undo;

struct tree {
    struct znode **buckets;
    size_t nbuckets;
    size_t count;
    struct znode *root;
    struct tree_event *events;
    size_t nevents, capevents;
    struct tree_undo *undo;
    size_t nundo, capundo;
    bool recording;
};

/* An empty tree: "/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"
 * as ZooKeeper has them (zero stats; config is world-readable only).
 * Returns 0 or -1 (out of memory). */
int tree_init(struct tree *t);
/* Only the root (snapshot loading fills the rest with tree_insert_raw). */
int tree_init_bare(struct tree *t);
void tree_free(struct tree *t);

struct znode *tree_get(const struct tree *t, const char *path, size_t len);
static inline struct znode *tree_getc(const struct tree *t, const char *path)
{
    return tree_get(t, path, __builtin_strlen(path));
}

/* Stat with the derived fields filled in. */
void znode_stat(const struct znode *n, struct zstat *out);

/* Length of the parent part of path ("/a/b" -> 2, "/a" -> 1 meaning "/"). */
size_t zk_parent_len(const char *path, size_t len);

/* Mutations. Return ZOK or the ZooKeeper error (NONODE, NODEEXISTS,
 * NOCHILDRENFOREPHEMERALS, NOTEMPTY). `acl` is copied. */
int tree_create(struct tree *t, const char *path, const void *data, int32_t dlen,
                const struct zacl_list *acl, int64_t owner, int64_t zxid, int64_t time);
int tree_delete(struct tree *t, const char *path, int64_t zxid);
int tree_set_data(struct tree *t, const char *path, const void *data, int32_t dlen,
                  int64_t zxid, int64_t time);
int tree_set_acl(struct tree *t, const char *path, const struct zacl_list *acl);

/* Insert a node with a given stat, without touching its parent's stat
 * (snapshot loading). The parent must exist. "/" updates the root. */
int tree_insert_raw(struct tree *t, const char *path, const void *data, int32_t dlen,
                    const struct zacl_list *acl, const struct zstat *st);

/* Undo support for multi. */
void tree_begin(struct tree *t);
void tree_commit(struct tree *t);
void tree_rollback(struct tree *t);

/* Drop pending events (replay, failed ops). */
void tree_clear_events(struct tree *t);

/* Visit every node, parents before children. Stop when fn returns non-zero
 * and return that value. */
int tree_walk(struct tree *t, int (*fn)(struct znode *n, void *arg), void *arg);
/* Number of nodes below n (all depths). */
int32_t tree_count_descendants(const struct znode *n);

#endif
