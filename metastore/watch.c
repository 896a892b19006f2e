/*
 * watch.c — see watch.h.
 */
#include "watch.h"

#include <stdlib.h>
#include <string.h>

static uint64_t hash_str(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

int watch_table_init(struct watch_table *t)
{
    memset(t, 0, sizeof *t);
    t->nbuckets = 256;
    t->buckets = calloc(t->nbuckets, sizeof *t->buckets);
    return t->buckets ? 0 : -1;
}

static void wp_free(struct watch_path *wp)
{
    free(wp->path);
    free(wp->v);
    free(wp);
}

void watch_table_free(struct watch_table *t)
{
    for (size_t i = 0; i < t->nbuckets; i++) {
        struct watch_path *wp = t->buckets[i];
        while (wp) {
            struct watch_path *next = wp->next;
            wp_free(wp);
            wp = next;
        }
    }
    free(t->buckets);
    memset(t, 0, sizeof *t);
}

static struct watch_path **find(const struct watch_table *t, const char *path, size_t len)
{
    size_t k = hash_str(path, len) & (t->nbuckets - 1);
    struct watch_path **pp = &t->buckets[k];
    while (*pp && !(strlen((*pp)->path) == len && memcmp((*pp)->path, path, len) == 0))
        pp = &(*pp)->next;
    return pp;
}

static void grow(struct watch_table *t)
{
    size_t nb = t->nbuckets * 2;
    struct watch_path **b = calloc(nb, sizeof *b);
    if (!b)
        return;  /* keep the smaller table: slower, still correct */
    for (size_t i = 0; i < t->nbuckets; i++) {
        struct watch_path *wp = t->buckets[i];
        while (wp) {
            struct watch_path *next = wp->next;
            size_t k = hash_str(wp->path, strlen(wp->path)) & (nb - 1);
            wp->next = b[k];
            b[k] = wp;
            wp = next;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = nb;
}

int watch_add(struct watch_table *t, const char *path, void *who, uint8_t mode)
{
    if (t->npaths + 1 > t->nbuckets)
        grow(t);
    struct watch_path **pp = find(t, path, strlen(path));
    struct watch_path *wp = *pp;
    if (!wp) {
        wp = calloc(1, sizeof *wp);
        if (!wp || !(wp->path = strdup(path))) {
            free(wp);
            return -1;
        }
        *pp = wp;
        t->npaths++;
    }
    for (size_t i = 0; i < wp->n; i++) {
        if (wp->v[i].who == who) {
            if ((mode & WMODE_RECURSIVE) && !(wp->v[i].modes & WMODE_RECURSIVE))
                t->nrecursive++;
            wp->v[i].modes |= mode;
            return 0;
        }
    }
    if (wp->n == wp->cap) {
        size_t cap = wp->cap ? wp->cap * 2 : 4;
        struct watch_ent *v = realloc(wp->v, cap * sizeof *v);
        if (!v)
            return -1;
        wp->v = v;
        wp->cap = cap;
    }
    wp->v[wp->n].who = who;
    wp->v[wp->n].modes = mode;
    wp->n++;
    if (mode & WMODE_RECURSIVE)
        t->nrecursive++;
    return 0;
}

static void drop_path_if_empty(struct watch_table *t, struct watch_path **pp)
{
    struct watch_path *wp = *pp;
    if (wp->n == 0) {
        *pp = wp->next;
        wp_free(wp);
        t->npaths--;
    }
}

/* Clear `modes` of entry i; removes the entry when no mode is left. */
static void clear_modes(struct watch_table *t, struct watch_path *wp, size_t i, uint8_t modes)
{
    if ((wp->v[i].modes & modes & WMODE_RECURSIVE))
        t->nrecursive--;
    wp->v[i].modes &= (uint8_t)~modes;
    if (wp->v[i].modes == 0)
        wp->v[i] = wp->v[--wp->n];
}

static int set_add(struct watch_set *s, void *who)
{
    if (watch_set_has(s, who))
        return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        void **v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = who;
    return 0;
}

int watch_trigger(struct watch_table *t, const char *path, struct watch_set *out,
                  const struct watch_set *suppress)
{
    size_t len = strlen(path);
    bool exact = true;
    for (;;) {
        struct watch_path **pp = find(t, path, len);
        if (*pp) {
            struct watch_path *wp = *pp;
            for (size_t i = 0; i < wp->n;) {
                void *who = wp->v[i].who;
                uint8_t m = wp->v[i].modes;
                bool fire = exact || (m & WMODE_RECURSIVE);
                if (fire && !(suppress && watch_set_has(suppress, who)) && set_add(out, who) != 0)
                    return -1;
                size_t before = wp->n;
                if (exact && (m & WMODE_STANDARD))
                    clear_modes(t, wp, i, WMODE_STANDARD);
                if (wp->n == before)
                    i++;
            }
            drop_path_if_empty(t, pp);
        }
        if (len <= 1 || t->nrecursive == 0)
            break;
        /* next ancestor */
        size_t i = len;
        while (i > 0 && path[i - 1] != '/')
            i--;
        len = i <= 1 ? 1 : i - 1;
        exact = false;
    }
    return 0;
}

bool watch_remove(struct watch_table *t, const char *path, void *who, uint8_t modes)
{
    struct watch_path **pp = find(t, path, strlen(path));
    if (!*pp)
        return false;
    struct watch_path *wp = *pp;
    bool found = false;
    for (size_t i = 0; i < wp->n; i++) {
        if (wp->v[i].who == who && (wp->v[i].modes & modes)) {
            clear_modes(t, wp, i, modes);
            found = true;
            break;
        }
    }
    drop_path_if_empty(t, pp);
    return found;
}

bool watch_has(const struct watch_table *t, const char *path, const void *who, uint8_t modes)
{
    struct watch_path **pp = find(t, path, strlen(path));
    if (!*pp)
        return false;
    for (size_t i = 0; i < (*pp)->n; i++)
        if ((*pp)->v[i].who == who && ((*pp)->v[i].modes & modes))
            return true;
    return false;
}

void watch_remove_all(struct watch_table *t, const void *who)
{
    for (size_t b = 0; b < t->nbuckets; b++) {
        struct watch_path **pp = &t->buckets[b];
        while (*pp) {
            struct watch_path *wp = *pp;
            for (size_t i = 0; i < wp->n;) {
                if (wp->v[i].who == who)
                    clear_modes(t, wp, i, 0xff);
                else
                    i++;
            }
            if (wp->n == 0)
                drop_path_if_empty(t, pp);
            else
                pp = &wp->next;
        }
    }
}

size_t watch_count(const struct watch_table *t, const void *who)
{
    size_t n = 0;
    for (size_t b = 0; b < t->nbuckets; b++)
        for (struct watch_path *wp = t->buckets[b]; wp; wp = wp->next)
            for (size_t i = 0; i < wp->n; i++)
                if (!who || wp->v[i].who == who)
                    n++;
    return n;
}

void watch_foreach(const struct watch_table *t,
                   void (*fn)(const char *path, void *who, uint8_t modes, void *arg), void *arg)
{
    for (size_t b = 0; b < t->nbuckets; b++)
        for (struct watch_path *wp = t->buckets[b]; wp; wp = wp->next)
            for (size_t i = 0; i < wp->n; i++)
                fn(wp->path, wp->v[i].who, wp->v[i].modes, arg);
}

void watch_set_free(struct watch_set *s)
{
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

bool watch_set_has(const struct watch_set *s, const void *who)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] == who)
            return true;
    return false;
}
