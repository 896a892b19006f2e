/*
 * listeners.c — what each listener binds and what it advertises.
 *
 * advertised.listeners entries are matched to listeners by name, as Kafka
 * does; a listener without one advertises its bind address, or this
 * host's name when it binds all interfaces.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "config.h"
#include "sasl.h"
#include "tls.h"

int broker_listeners(const struct broker_config *c, struct blistener **out, int *n,
                     char *err, size_t errlen)
{
    struct blistener *v = calloc((size_t)c->nlisteners + 1, sizeof *v);
    if (!v) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char hostname[256] = "localhost";
    gethostname(hostname, sizeof hostname - 1);
    for (int i = 0; i < c->nlisteners; i++) {
        const struct listener *l = &c->listener_list[i];
        const struct listener *a = NULL;
        for (int j = 0; j < c->nadvertised; j++)
            if (strcmp(c->advertised_list[j].name, l->name) == 0)
                a = &c->advertised_list[j];
        v[i].name = strdup(l->name);
        v[i].protocol = strdup(security_protocol_name(l->protocol));
        v[i].host = strdup(l->host);
        v[i].port = l->port;
        const char *ah = a ? a->host : l->host;
        if (!ah[0] || strcmp(ah, "0.0.0.0") == 0 || strcmp(ah, "::") == 0)
            ah = hostname;
        v[i].adv_host = strdup(ah);
        v[i].adv_port = a ? a->port : l->port;
    }
    /* Security: SASL mechanisms and users (sasl.c), TLS contexts (tls.c). */
    for (int i = 0; i < c->nlisteners; i++) {
        if (sasl_listener_init(c, &v[i], err, errlen) != 0 ||
            tls_listener_init(c, &v[i], err, errlen) != 0) {
            broker_listeners_free(v, c->nlisteners);
            return -1;
        }
    }
    if (sasl_check_inter_broker(c, v, c->nlisteners, err, errlen) != 0) {
        broker_listeners_free(v, c->nlisteners);
        return -1;
    }
    *out = v;
    *n = c->nlisteners;
    return 0;
}

void broker_listeners_free(struct blistener *v, int n)
{
    for (int i = 0; i < n; i++) {
        sasl_listener_free(&v[i]);
        tls_listener_free(&v[i]);
        free(v[i].name);
        free(v[i].protocol);
        free(v[i].host);
        free(v[i].adv_host);
    }
    free(v);
}
