/*
 * main.c — kavka-console's configuration and start (docs/console.md).
 *
 *   kavka-console [console.properties]
 *
 * Keys of the properties file, each overridden by Kafka UI's environment
 * variable when that is set (so the console starts from a kafka-ui service's
 * variables unchanged):
 *
 *   console.host (127.0.0.1), console.port (8080)       SERVER_PORT
 *   console.users = name:password,...                   AUTH_TYPE=LOGIN_FORM,
 *                                                       SPRING_SECURITY_USER_NAME,
 *                                                       SPRING_SECURITY_USER_PASSWORD
 *   console.cluster.name (kavka)                        KAFKA_CLUSTERS_0_NAME
 *   console.bootstrap.servers                           KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS
 *   console.security.protocol, console.sasl.mechanism,  KAFKA_CLUSTERS_0_PROPERTIES_<KEY>
 *   console.sasl.jaas.config, console.request.timeout.ms,  (KEY: the Kafka client key in
 *   console.client.id                                    capitals, '.' as '_')
 *   console.cookie.secure (false): mark cookies Secure (behind a TLS proxy)
 *   console.session.timeout.s (28800)
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "client.h"
#include "console.h"

extern char **environ;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("kavka-console: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        die("out of memory");
    return d;
}

/* The environment variable when set and not empty, else the file's key. */
static const char *setting(const struct props *file, const char *env, const char *key)
{
    const char *v = env ? getenv(env) : NULL;
    if (v && *v)
        return v;
    return key ? props_get(file, key) : NULL;
}

static void add_user(struct console_cfg *c, const char *name, const char *password)
{
    if (!*name || !*password)
        die("a console user needs a name and a password");
    c->users = realloc(c->users, sizeof *c->users * (size_t)(c->nusers + 1));
    if (!c->users)
        die("out of memory");
    struct console_user *u = &c->users[c->nusers++];
    u->name = xstrdup(name);
    unsigned int hl = 0;
    if (!EVP_Digest(password, strlen(password), u->pw_sha256, &hl, EVP_sha256(), NULL) || hl != 32)
        die("SHA-256 is not available");
}

/* name:password,name:password (a password may contain ':' but not ','). */
static void parse_users(struct console_cfg *c, const char *list)
{
    char *copy = xstrdup(list), *save = NULL;
    for (char *e = strtok_r(copy, ",", &save); e; e = strtok_r(NULL, ",", &save)) {
        while (*e == ' ')
            e++;
        char *colon = strchr(e, ':');
        if (!colon)
            die("console.users: an entry has no ':' between name and password");
        *colon = 0;
        add_user(c, e, colon + 1);
    }
    OPENSSL_cleanse(copy, strlen(list));
    free(copy);
}

static int set_client(struct console_cfg *c, const char *key, const char *value)
{
    return props_set(&c->client, key, value);
}

static void load(struct console_cfg *c, const char *path)
{
    struct props file = { 0 };
    char err[512];
    if (path && props_parse_file(&file, path, err, sizeof err) != 0)
        die("%s", err);
    memset(c, 0, sizeof *c);

    const char *host = setting(&file, NULL, "console.host");
    c->listen_host = xstrdup(host ? host : "127.0.0.1");
    const char *port = setting(&file, "SERVER_PORT", "console.port");
    c->port = port ? atoi(port) : 8080;
    if (c->port <= 0 || c->port > 65535)
        die("invalid port %s", port);
    const char *name = setting(&file, "KAFKA_CLUSTERS_0_NAME", "console.cluster.name");
    c->cluster_name = xstrdup(name ? name : "kavka");
    const char *bs = setting(&file, "KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS", "console.bootstrap.servers");
    if (!bs || !*bs)
        die("no brokers: set console.bootstrap.servers or KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS");
    c->bootstrap = xstrdup(bs);

    /* Client properties: console.<kafka key> from the file, then every
     * KAFKA_CLUSTERS_0_PROPERTIES_<KEY> from the environment. */
    static const char *const client_keys[] = { "security.protocol", "sasl.mechanism",
                                               "sasl.jaas.config", "request.timeout.ms",
                                               "client.id", NULL };
    for (int i = 0; client_keys[i]; i++) {
        char k[128];
        snprintf(k, sizeof k, "console.%s", client_keys[i]);
        const char *v = props_get(&file, k);
        if (v && set_client(c, client_keys[i], v) != 0)
            die("out of memory");
    }
    static const char prefix[] = "KAFKA_CLUSTERS_0_PROPERTIES_";
    for (char **e = environ; *e; e++) {
        if (strncmp(*e, prefix, sizeof prefix - 1) != 0)
            continue;
        const char *eq = strchr(*e, '=');
        if (!eq)
            continue;
        char key[256];
        size_t n = (size_t)(eq - *e) - (sizeof prefix - 1);
        if (n == 0 || n >= sizeof key)
            continue;
        for (size_t i = 0; i < n; i++) {
            char ch = (*e)[sizeof prefix - 1 + i];
            key[i] = ch == '_' ? '.' : (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
        }
        key[n] = 0;
        if (set_client(c, key, eq + 1) != 0)
            die("out of memory");
    }
    if (!props_get(&c->client, "request.timeout.ms") &&
        set_client(c, "request.timeout.ms", "10000") != 0)
        die("out of memory");
    if (!props_get(&c->client, "client.id") && set_client(c, "client.id", "kavka-console") != 0)
        die("out of memory");

    /* Users: console.users, and Kafka UI's single login-form user. */
    const char *auth = getenv("AUTH_TYPE");
    if (auth && *auth && strcasecmp(auth, "LOGIN_FORM") != 0)
        die("AUTH_TYPE=%s is not supported: kavka-console always asks for a login "
            "(LOGIN_FORM)", auth);
    const char *users = props_get(&file, "console.users");
    if (users)
        parse_users(c, users);
    const char *su = getenv("SPRING_SECURITY_USER_NAME"), *sp = getenv("SPRING_SECURITY_USER_PASSWORD");
    if (su && *su) {
        if (!sp || !*sp)
            die("SPRING_SECURITY_USER_NAME is set without SPRING_SECURITY_USER_PASSWORD");
        add_user(c, su, sp);
    }
    if (c->nusers == 0)
        die("no users: set console.users=name:password,... or AUTH_TYPE=LOGIN_FORM with "
            "SPRING_SECURITY_USER_NAME and SPRING_SECURITY_USER_PASSWORD");
    const char *sec = props_get(&file, "console.cookie.secure");
    c->secure_cookie = sec && strcasecmp(sec, "true") == 0;
    const char *ttl = props_get(&file, "console.session.timeout.s");
    c->session_ttl_s = ttl ? atoi(ttl) : 8 * 3600;
    if (c->session_ttl_s <= 0)
        die("invalid console.session.timeout.s %s", ttl);
    props_free(&file);
}

int main(int argc, char **argv)
{
    if (argc > 2 || (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))) {
        fprintf(stderr, "usage: kavka-console [console.properties]\n"
                        "(see docs/console.md for the keys and environment variables)\n");
        return argc == 2 ? 0 : 1;
    }
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("kavka-console %s\n", KAVKA_VERSION);
        return 0;
    }
    cli_tool_name = "kavka-console";
    struct console_cfg c;
    load(&c, argc == 2 ? argv[1] : NULL);
    /* Check the client settings now (kc_init exits with Kafka's wording on a
     * bad security.protocol, mechanism or JAAS line); it does not connect. */
    struct kclient kc;
    kc_init(&kc, "kavka-console", c.bootstrap, &c.client);
    kc_close(&kc);
    signal(SIGPIPE, SIG_IGN);
    return console_serve(&c);
}
