/*
 * acl.h — authentication ids and ACL checks (ZooKeeper's auth providers).
 *
 * Schemes: world (id "anyone"), ip (address or address/bits), digest
 * ("user:base64(sha1(user:password))"), sasl (the authenticated name),
 * super (bypasses every check), and "auth" in requests, which stands for
 * every authenticated id of the caller.
 */
#ifndef KAVKA_MS_ACL_H
#define KAVKA_MS_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jute.h"
#include "compiler.h"

struct zid {
    char *scheme;
    char *id;
};

struct zid_list {
    struct zid *v;
    size_t n;
};

int zid_list_add(struct zid_list *l, const char *scheme, const char *id);
bool zid_list_has(const struct zid_list *l, const char *scheme, const char *id);
void zid_list_free(struct zid_list *l);

/* "user:base64(sha1("user:password"))" for "user:password"; malloc'd. */
char *acl_digest(const char *user_password, size_t len) KV_MUST_CHECK;

/* Does `acl` grant `perm` to a caller with these auth ids? */
bool acl_check(const struct zacl_list *acl, int32_t perm, const struct zid_list *ids);

/* ZooKeeper's fixupACL: validate a requested ACL, expand "auth" into the
 * caller's authenticated ids and drop duplicates. ZOK or ZINVALIDACL. */
int acl_fixup(const struct zacl_list *in, const struct zid_list *ids, struct zacl_list *out);

#endif
