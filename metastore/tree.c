/*
 * tree.c — see tree.h.
 */
#include "tree.h"

#include <stdlib.h>
#include <string.h>

enum undo_kind { UNDO_CREATE, UNDO_DELETE, UNDO_SETDATA, UNDO_SETACL };

/* What is needed to put one mutation back. */
struct tree_undo {
    enum undo_kind kind;
    char *path;                /* CREATE/SETDATA/SETACL: the node */
    struct znode *node;        /* DELETE: the detached node, kept alive */
    int32_t p_cversion;        /* CREATE/DELETE: parent stat before */
    int64_t p_pzxid;
    uint8_t *data;             /* SETDATA: old data + stat */
    int32_t dlen;
    struct zstat st;
    struct zacl_list acl;      /* SETACL: old acl + aversion */
};

/* ---------------- hash table ---------------- */

static uint64_t hash_path(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static int ht_grow(struct tree *t)
{
    size_t nb = t->nbuckets ? t->nbuckets * 2 : 64;
    struct znode **b = calloc(nb, sizeof *b);
    if (!b)
        return -1;
    for (size_t i = 0; i < t->nbuckets; i++) {
        struct znode *n = t->buckets[i];
        while (n) {
            struct znode *next = n->hnext;
            size_t k = hash_path(n->path, n->plen) & (nb - 1);
            n->hnext = b[k];
            b[k] = n;
            n = next;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = nb;
    return 0;
}

static int ht_insert(struct tree *t, struct znode *n)
{
    if (t->count + 1 > t->nbuckets && ht_grow(t) != 0)
        return -1;
    size_t k = hash_path(n->path, n->plen) & (t->nbuckets - 1);
    n->hnext = t->buckets[k];
    t->buckets[k] = n;
    t->count++;
    return 0;
}

static void ht_remove(struct tree *t, struct znode *n)
{
    size_t k = hash_path(n->path, n->plen) & (t->nbuckets - 1);
    for (struct znode **pp = &t->buckets[k]; *pp; pp = &(*pp)->hnext) {
        if (*pp == n) {
            *pp = n->hnext;
            t->count--;
            return;
        }
    }
}

struct znode *tree_get(const struct tree *t, const char *path, size_t len)
{
    if (!t->nbuckets)
        return NULL;
    size_t k = hash_path(path, len) & (t->nbuckets - 1);
    for (struct znode *n = t->buckets[k]; n; n = n->hnext)
        if (n->plen == len && memcmp(n->path, path, len) == 0)
            return n;
    return NULL;
}

/* ---------------- nodes ---------------- */

size_t zk_parent_len(const char *path, size_t len)
{
    size_t i = len;
    while (i > 0 && path[i - 1] != '/')
        i--;
    /* i is just past the last '/'; the parent is path[0..i-1) or "/" */
    return i <= 1 ? 1 : i - 1;
}

static void znode_free(struct znode *n)
{
    free(n->path);
    free(n->data);
    zacl_list_free(&n->acl);
    free(n);
}

static struct znode *znode_new(const char *path, const void *data, int32_t dlen,
                               const struct zacl_list *acl)
{
    struct znode *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->plen = strlen(path);
    n->path = strdup(path);
    n->dlen = dlen;
    if (dlen > 0) {
        n->data = malloc((size_t)dlen);
        if (n->data)
            memcpy(n->data, data, (size_t)dlen);
    }
    if (!n->path || (dlen > 0 && !n->data) || zacl_list_copy(&n->acl, acl) != 0) {
        znode_free(n);
        return NULL;
    }
    n->name = strrchr(n->path, '/') + 1;
    return n;
}

static void link_child(struct znode *p, struct znode *c)
{
    c->parent = p;
    c->next_sib = NULL;
    c->prev_sib = p->child_tail;
    if (p->child_tail)
        p->child_tail->next_sib = c;
    else
        p->child_head = c;
    p->child_tail = c;
    p->nchildren++;
}

static void unlink_child(struct znode *p, struct znode *c)
{
    if (c->prev_sib)
        c->prev_sib->next_sib = c->next_sib;
    else
        p->child_head = c->next_sib;
    if (c->next_sib)
        c->next_sib->prev_sib = c->prev_sib;
    else
        p->child_tail = c->prev_sib;
    c->next_sib = c->prev_sib = NULL;
    p->nchildren--;
}

void znode_stat(const struct znode *n, struct zstat *out)
{
    *out = n->st;
    out->data_length = n->dlen > 0 ? n->dlen : 0;
    out->num_children = n->nchildren;
    /* DataNode.copyStat: the stored cversion counts child creates only;
     * clients see creates + deletes, i.e. 2 * creates - children. */
    out->cversion = n->st.cversion * 2 - n->nchildren;
}

/* ---------------- events and undo ---------------- */

static void add_event(struct tree *t, int type, const char *path, size_t len)
{
    if (t->nevents == t->capevents) {
        size_t cap = t->capevents ? t->capevents * 2 : 8;
        struct tree_event *e = realloc(t->events, cap * sizeof *e);
        if (!e)
            return;  /* a lost event under OOM; the change itself stands */
        t->events = e;
        t->capevents = cap;
    }
    char *p = malloc(len + 1);
    if (!p)
        return;
    memcpy(p, path, len);
    p[len] = 0;
    t->events[t->nevents].type = type;
    t->events[t->nevents].path = p;
    t->nevents++;
}

void tree_clear_events(struct tree *t)
{
    for (size_t i = 0; i < t->nevents; i++)
        free(t->events[i].path);
    t->nevents = 0;
}

static struct tree_undo *push_undo(struct tree *t, enum undo_kind kind)
{
    if (!t->recording)
        return NULL;
    if (t->nundo == t->capundo) {
        size_t cap = t->capundo ? t->capundo * 2 : 8;
        struct tree_undo *u = realloc(t->undo, cap * sizeof *u);
        if (!u)
            return NULL;
        t->undo = u;
        t->capundo = cap;
    }
    struct tree_undo *u = &t->undo[t->nundo++];
    memset(u, 0, sizeof *u);
    u->kind = kind;
    return u;
}

/* Whether an undo record could be made; mutations refuse to run (SYSTEMERROR)
 * rather than become impossible to roll back. */
#define UNDO_OR_FAIL(u, t, kind)                       \
    struct tree_undo *u = push_undo(t, kind);          \
    if ((t)->recording && !(u))                        \
        return ZSYSTEMERROR;

/* ---------------- mutations ---------------- */

int tree_create(struct tree *t, const char *path, const void *data, int32_t dlen,
                const struct zacl_list *acl, int64_t owner, int64_t zxid, int64_t time)
{
    size_t len = strlen(path);
    if (len <= 1)
        return ZNODEEXISTS;  /* "/" always exists */
    size_t plen = zk_parent_len(path, len);
    struct znode *p = tree_get(t, path, plen);
    if (!p)
        return ZNONODE;
    /* Ephemerals cannot have children; containers and TTL nodes can. */
    if (p->st.ephemeral_owner != 0 && p->st.ephemeral_owner != ZK_CONTAINER_OWNER &&
        (p->st.ephemeral_owner & ZK_TTL_MASK) != ZK_TTL_MASK)
        return ZNOCHILDRENFOREPHEMERALS;
    if (tree_get(t, path, len))
        return ZNODEEXISTS;
    struct znode *n = znode_new(path, data, dlen, acl);
    if (!n)
        return ZSYSTEMERROR;
    UNDO_OR_FAIL(u, t, UNDO_CREATE);
    if (ht_insert(t, n) != 0) {
        if (u)
            t->nundo--;
        znode_free(n);
        return ZSYSTEMERROR;
    }
    if (u) {
        u->path = strdup(path);
        u->p_cversion = p->st.cversion;
        u->p_pzxid = p->st.pzxid;
    }
    n->st.czxid = n->st.mzxid = n->st.pzxid = zxid;
    n->st.ctime = n->st.mtime = time;
    n->st.ephemeral_owner = owner;
    link_child(p, n);
    p->st.cversion++;
    p->st.pzxid = zxid;
    add_event(t, ZEV_CREATED, path, len);
    add_event(t, ZEV_CHILDCHANGED, p->path, p->plen);
    return ZOK;
}

int tree_delete(struct tree *t, const char *path, int64_t zxid)
{
    size_t len = strlen(path);
    struct znode *n = tree_get(t, path, len);
    if (!n || n == t->root)
        return n ? ZBADARGUMENTS : ZNONODE;
    if (n->nchildren > 0)
        return ZNOTEMPTY;
    struct znode *p = n->parent;
    UNDO_OR_FAIL(u, t, UNDO_DELETE);
    if (u) {
        u->node = n;
        u->p_cversion = p->st.cversion;
        u->p_pzxid = p->st.pzxid;
    }
    ht_remove(t, n);
    unlink_child(p, n);
    /* A delete leaves the stored cversion alone (see znode_stat). */
    if (zxid > p->st.pzxid)
        p->st.pzxid = zxid;
    add_event(t, ZEV_DELETED, path, len);
    add_event(t, ZEV_CHILDCHANGED, p->path, p->plen);
    if (!u)
        znode_free(n);
    return ZOK;
}

int tree_set_data(struct tree *t, const char *path, const void *data, int32_t dlen,
                  int64_t zxid, int64_t time)
{
    size_t len = strlen(path);
    struct znode *n = tree_get(t, path, len);
    if (!n)
        return ZNONODE;
    uint8_t *nd = NULL;
    if (dlen > 0) {
        nd = malloc((size_t)dlen);
        if (!nd)
            return ZSYSTEMERROR;
        memcpy(nd, data, (size_t)dlen);
    }
    UNDO_OR_FAIL(u, t, UNDO_SETDATA);
    if (u) {
        u->path = strdup(path);
        u->data = n->data;
        u->dlen = n->dlen;
        u->st = n->st;
    } else {
        free(n->data);
    }
    n->data = nd;
    n->dlen = dlen;
    n->st.mzxid = zxid;
    n->st.mtime = time;
    n->st.version++;
    add_event(t, ZEV_DATACHANGED, path, len);
    return ZOK;
}

int tree_set_acl(struct tree *t, const char *path, const struct zacl_list *acl)
{
    struct znode *n = tree_getc(t, path);
    if (!n)
        return ZNONODE;
    struct zacl_list copy;
    if (zacl_list_copy(&copy, acl) != 0)
        return ZSYSTEMERROR;
    UNDO_OR_FAIL(u, t, UNDO_SETACL);
    if (u) {
        u->path = strdup(path);
        u->acl = n->acl;
        u->st = n->st;
    } else {
        zacl_list_free(&n->acl);
    }
    n->acl = copy;
    n->st.aversion++;
    return ZOK;
}

int tree_insert_raw(struct tree *t, const char *path, const void *data, int32_t dlen,
                    const struct zacl_list *acl, const struct zstat *st)
{
    size_t len = strlen(path);
    if (len == 1 && path[0] == '/') {
        struct znode *r = t->root;
        struct zacl_list copy;
        uint8_t *nd = NULL;
        if (zacl_list_copy(&copy, acl) != 0)
            return -1;
        if (dlen > 0 && !(nd = malloc((size_t)dlen))) {
            zacl_list_free(&copy);
            return -1;
        }
        if (dlen > 0)
            memcpy(nd, data, (size_t)dlen);
        free(r->data);
        zacl_list_free(&r->acl);
        r->data = nd;
        r->dlen = dlen;
        r->acl = copy;
        r->st = *st;
        return 0;
    }
    struct znode *p = tree_get(t, path, zk_parent_len(path, len));
    if (!p || tree_get(t, path, len))
        return -1;
    struct znode *n = znode_new(path, data, dlen, acl);
    if (!n)
        return -1;
    if (ht_insert(t, n) != 0) {
        znode_free(n);
        return -1;
    }
    n->st = *st;
    link_child(p, n);
    return 0;
}

/* ---------------- undo ---------------- */

void tree_begin(struct tree *t)
{
    t->recording = true;
    t->nundo = 0;
}

static void undo_release(struct tree_undo *u)
{
    free(u->path);
    if (u->kind == UNDO_DELETE)
        znode_free(u->node);
    if (u->kind == UNDO_SETDATA)
        free(u->data);
    if (u->kind == UNDO_SETACL)
        zacl_list_free(&u->acl);
}

void tree_commit(struct tree *t)
{
    for (size_t i = 0; i < t->nundo; i++)
        undo_release(&t->undo[i]);
    t->nundo = 0;
    t->recording = false;
}

static void undo_one(struct tree *t, struct tree_undo *u)
{
    struct znode *n;
    switch (u->kind) {
    case UNDO_CREATE:
        n = u->path ? tree_getc(t, u->path) : NULL;
        if (n) {
            struct znode *p = n->parent;
            ht_remove(t, n);
            unlink_child(p, n);
            p->st.cversion = u->p_cversion;
            p->st.pzxid = u->p_pzxid;
            znode_free(n);
        }
        break;
    case UNDO_DELETE:
        n = u->node;
        struct znode *p = tree_get(t, n->path, zk_parent_len(n->path, n->plen));
        if (p && ht_insert(t, n) == 0) {
            link_child(p, n);
            p->st.cversion = u->p_cversion;
            p->st.pzxid = u->p_pzxid;
            u->node = NULL;
        }
        if (u->node) {  /* could not reinsert: drop it rather than leak */
            znode_free(u->node);
            u->node = NULL;
        }
        u->kind = UNDO_CREATE;  /* nothing left to free but path */
        break;
    case UNDO_SETDATA:
        n = u->path ? tree_getc(t, u->path) : NULL;
        if (n) {
            free(n->data);
            n->data = u->data;
            n->dlen = u->dlen;
            n->st = u->st;
            u->data = NULL;
        }
        break;
    case UNDO_SETACL:
        n = u->path ? tree_getc(t, u->path) : NULL;
        if (n) {
            zacl_list_free(&n->acl);
            n->acl = u->acl;
            n->st = u->st;
            u->acl.n = 0;
            u->acl.v = NULL;
        }
        break;
    }
}

void tree_rollback(struct tree *t)
{
    for (size_t i = t->nundo; i-- > 0;) {
        undo_one(t, &t->undo[i]);
        undo_release(&t->undo[i]);
    }
    t->nundo = 0;
    t->recording = false;
    tree_clear_events(t);
}

/* ---------------- lifecycle and walking ---------------- */

int tree_init_bare(struct tree *t)
{
    memset(t, 0, sizeof *t);
    struct zacl_list open;
    if (zacl_list_open(&open) != 0)
        return -1;
    t->root = znode_new("/", "", 0, &open);
    zacl_list_free(&open);
    if (!t->root || ht_insert(t, t->root) != 0)
        return -1;
    return 0;
}

int tree_init(struct tree *t)
{
    if (tree_init_bare(t) != 0)
        return -1;
    struct zacl_list open, readonly = { 0, NULL };
    struct zstat zero;
    memset(&zero, 0, sizeof zero);
    int rc = zacl_list_open(&open);
    rc |= zacl_list_add(&readonly, ZPERM_READ, "world", "anyone");
    if (rc == 0) {
        rc |= tree_insert_raw(t, "/zookeeper", "", 0, &open, &zero);
        rc |= tree_insert_raw(t, "/zookeeper/quota", "", 0, &open, &zero);
        rc |= tree_insert_raw(t, "/zookeeper/config", "", 0, &readonly, &zero);
    }
    zacl_list_free(&open);
    zacl_list_free(&readonly);
    return rc ? -1 : 0;
}

void tree_free(struct tree *t)
{
    if (t->recording)
        tree_commit(t);
    for (size_t i = 0; i < t->nbuckets; i++) {
        struct znode *n = t->buckets[i];
        while (n) {
            struct znode *next = n->hnext;
            znode_free(n);
            n = next;
        }
    }
    free(t->buckets);
    tree_clear_events(t);
    free(t->events);
    free(t->undo);
    memset(t, 0, sizeof *t);
}

int tree_walk(struct tree *t, int (*fn)(struct znode *n, void *arg), void *arg)
{
    /* Iterative pre-order walk over the sibling links. */
    struct znode *n = t->root;
    while (n) {
        int rc = fn(n, arg);
        if (rc)
            return rc;
        if (n->child_head) {
            n = n->child_head;
            continue;
        }
        while (n && !n->next_sib)
            n = n->parent;
        if (n)
            n = n->next_sib;
    }
    return 0;
}

int32_t tree_count_descendants(const struct znode *top)
{
    int32_t count = 0;
    const struct znode *n = top->child_head;
    while (n) {
        count++;
        if (n->child_head) {
            n = n->child_head;
            continue;
        }
        while (n != top && !n->next_sib)
            n = n->parent;
        if (n == top)
            break;
        n = n->next_sib;
    }
    return count;
}
