/*
 * sasl_users.h — the SASL users: `user_<name>="password"` options of a JAAS
 * file's Server section (the login module class named there is not
 * checked), for the mechanisms (sasl.c, digest_md5.c).
 */
#ifndef KAVKA_MS_SASL_USERS_H
#define KAVKA_MS_SASL_USERS_H

struct sasl_users;

/* Load `user_<name>="password"` entries of the Server section. 0 or -1. */
int sasl_users_load(struct sasl_users **out, const char *jaas_path);
void sasl_users_free(struct sasl_users *u);
/* Password of a user, or NULL. */
const char *sasl_users_get(const struct sasl_users *u, const char *name);

#endif
