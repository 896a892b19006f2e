/*
 * jute.c — see jute.h.
 */
#include "jute.h"

#include <stdlib.h>
#include <string.h>

/* ---------------- reading ---------------- */

struct kbytes jr_buffer(struct kr *r)
{
    /* jute buffers and Kafka's classic bytes share the encoding. */
    return kr_bytes(r, false);
}

struct kstr jr_string(struct kr *r)
{
    struct kbytes b = kr_bytes(r, false);
    struct kstr s = { (const char *)b.p, b.len };
    if (r->err) {
        s.p = "";
        s.len = 0;
    }
    return s;
}

char *jr_string_dup(struct kr *r)
{
    struct kstr s = jr_string(r);
    if (r->err || s.len < 0)
        return NULL;
    char *d = kstr_dup(s);
    if (!d)
        kr_fail(r, WIRE_ENOMEM);
    return d;
}

int32_t jr_vec_len(struct kr *r, size_t min_elem)
{
    return kr_array_len(r, false, min_elem);
}

struct zstat jr_stat(struct kr *r)
{
    struct zstat st;
    st.czxid = kr_i64(r);
    st.mzxid = kr_i64(r);
    st.ctime = kr_i64(r);
    st.mtime = kr_i64(r);
    st.version = kr_i32(r);
    st.cversion = kr_i32(r);
    st.aversion = kr_i32(r);
    st.ephemeral_owner = kr_i64(r);
    st.data_length = kr_i32(r);
    st.num_children = kr_i32(r);
    st.pzxid = kr_i64(r);
    return st;
}

/* An ACL scheme or id; clients (kazoo) send "" as a null string, which the
 * Java server reads as null and judges later (fixupACL), so null is "". */
static char *acl_string(struct kr *r)
{
    struct kstr s = jr_string(r);
    if (r->err)
        return NULL;
    char *d = s.len < 0 ? strdup("") : kstr_dup(s);
    if (!d)
        kr_fail(r, WIRE_ENOMEM);
    return d;
}

int jr_acl_list(struct kr *r, struct zacl_list *out)
{
    out->n = 0;
    out->v = NULL;
    /* An ACL is at least perms + two string lengths. */
    int32_t n = jr_vec_len(r, 12);
    if (r->err)
        return -1;
    if (n <= 0)
        return 0;
    out->v = calloc((size_t)n, sizeof *out->v);
    if (!out->v) {
        kr_fail(r, WIRE_ENOMEM);
        return -1;
    }
    for (int32_t i = 0; i < n && !r->err; i++) {
        out->v[i].perms = kr_i32(r);
        out->v[i].scheme = acl_string(r);
        out->v[i].id = acl_string(r);
        out->n = i + 1;
    }
    if (r->err) {
        zacl_list_free(out);
        return -1;
    }
    return 0;
}

/* ---------------- writing ---------------- */

void jw_string(struct kw *w, const char *s, size_t n)
{
    kw_i32(w, (int32_t)n);
    kw_raw(w, s, n);
}

void jw_cstring(struct kw *w, const char *s)
{
    if (!s)
        kw_i32(w, -1);
    else
        jw_string(w, s, strlen(s));
}

void jw_buffer(struct kw *w, const void *p, int32_t n)
{
    if (n < 0) {
        kw_i32(w, -1);
        return;
    }
    kw_i32(w, n);
    kw_raw(w, p, (size_t)n);
}

void jw_stat(struct kw *w, const struct zstat *st)
{
    kw_i64(w, st->czxid);
    kw_i64(w, st->mzxid);
    kw_i64(w, st->ctime);
    kw_i64(w, st->mtime);
    kw_i32(w, st->version);
    kw_i32(w, st->cversion);
    kw_i32(w, st->aversion);
    kw_i64(w, st->ephemeral_owner);
    kw_i32(w, st->data_length);
    kw_i32(w, st->num_children);
    kw_i64(w, st->pzxid);
}

void jw_acl_list(struct kw *w, const struct zacl_list *acl)
{
    kw_i32(w, acl->n);
    for (int32_t i = 0; i < acl->n; i++) {
        kw_i32(w, acl->v[i].perms);
        jw_cstring(w, acl->v[i].scheme);
        jw_cstring(w, acl->v[i].id);
    }
}

void jw_reply_header(struct kw *w, int32_t xid, int64_t zxid, int32_t err)
{
    kw_i32(w, xid);
    kw_i64(w, zxid);
    kw_i32(w, err);
}

/* ---------------- ACL lists ---------------- */

void zacl_list_free(struct zacl_list *l)
{
    for (int32_t i = 0; i < l->n; i++) {
        free(l->v[i].scheme);
        free(l->v[i].id);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

int zacl_list_add(struct zacl_list *l, int32_t perms, const char *scheme, const char *id)
{
    struct zacl *nv = realloc(l->v, ((size_t)l->n + 1) * sizeof *nv);
    if (!nv)
        return -1;
    l->v = nv;
    struct zacl *a = &l->v[l->n];
    a->perms = perms;
    a->scheme = strdup(scheme);
    a->id = strdup(id);
    if (!a->scheme || !a->id) {
        free(a->scheme);
        free(a->id);
        return -1;
    }
    l->n++;
    return 0;
}

int zacl_list_copy(struct zacl_list *dst, const struct zacl_list *src)
{
    dst->n = 0;
    dst->v = NULL;
    for (int32_t i = 0; i < src->n; i++) {
        if (zacl_list_add(dst, src->v[i].perms, src->v[i].scheme, src->v[i].id) != 0) {
            zacl_list_free(dst);
            return -1;
        }
    }
    return 0;
}

bool zacl_list_eq(const struct zacl_list *a, const struct zacl_list *b)
{
    if (a->n != b->n)
        return false;
    for (int32_t i = 0; i < a->n; i++) {
        if (a->v[i].perms != b->v[i].perms || strcmp(a->v[i].scheme, b->v[i].scheme) != 0 ||
            strcmp(a->v[i].id, b->v[i].id) != 0)
            return false;
    }
    return true;
}

int zacl_list_open(struct zacl_list *out)
{
    out->n = 0;
    out->v = NULL;
    return zacl_list_add(out, ZPERM_ALL, "world", "anyone");
}

/* ---------------- paths ---------------- */

/* Decodes one UTF-8 sequence; returns its length or 0 if malformed. */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t len;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        len = 2;
        *cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3;
        *cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4;
        *cp = c & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        *cp = (*cp << 6) | (s[i] & 0x3f);
    }
    return len;
}

/* Java's rule works on UTF-16 units: code points above U+FFFF are surrogate
 * pairs (U+D800..U+DFFF), which the rule rejects, so they are rejected here. */
static bool cp_forbidden(uint32_t c)
{
    return (c >= 0x01 && c <= 0x1f) || (c >= 0x7f && c <= 0x9f) ||
           (c >= 0xd800 && c <= 0xf8ff) || (c >= 0xfff0);
}

bool zk_path_valid(const char *path, size_t n)
{
    const unsigned char *s = (const unsigned char *)path;
    if (n == 0 || s[0] != '/')
        return false;
    if (n == 1)
        return true;
    if (s[n - 1] == '/')
        return false;
    for (size_t i = 1; i < n;) {
        unsigned char c = s[i];
        if (c == 0)
            return false;
        if (c == '/' && s[i - 1] == '/')
            return false;
        if (c == '.' && s[i - 1] == '/') {
            /* "." or ".." as a whole segment */
            size_t j = i + 1;
            if (j < n && s[j] == '.')
                j++;
            if (j == n || s[j] == '/')
                return false;
        }
        uint32_t cp;
        size_t len = utf8_next(s + i, n - i, &cp);
        if (len == 0 || cp_forbidden(cp))
            return false;
        i += len;
    }
    return true;
}

const char *zk_err_name(int err)
{
    switch (err) {
    case ZOK: return "OK";
    case ZSYSTEMERROR: return "SYSTEMERROR";
    case ZRUNTIMEINCONSISTENCY: return "RUNTIMEINCONSISTENCY";
    case ZCONNECTIONLOSS: return "CONNECTIONLOSS";
    case ZOPERATIONTIMEOUT: return "OPERATIONTIMEOUT";
    case ZMARSHALLINGERROR: return "MARSHALLINGERROR";
    case ZUNIMPLEMENTED: return "UNIMPLEMENTED";
    case ZBADARGUMENTS: return "BADARGUMENTS";
    case ZNONODE: return "NONODE";
    case ZNOAUTH: return "NOAUTH";
    case ZBADVERSION: return "BADVERSION";
    case ZNOCHILDRENFOREPHEMERALS: return "NOCHILDRENFOREPHEMERALS";
    case ZNODEEXISTS: return "NODEEXISTS";
    case ZNOTEMPTY: return "NOTEMPTY";
    case ZSESSIONEXPIRED: return "SESSIONEXPIRED";
    case ZINVALIDACL: return "INVALIDACL";
    case ZAUTHFAILED: return "AUTHFAILED";
    case ZNOWATCHER: return "NOWATCHER";
    default: return "ERROR";
    }
}
