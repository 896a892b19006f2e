/*
 * test_config_behaviour.c — behaviour of honoured broker keys whose effect
 * takes longer than a test can wait for on a running broker: the key goes
 * through broker_config_load() and topics_open()/topics_create(), as in the
 * broker, and the partition log is driven with an explicit clock. The other
 * honoured keys are checked on a real broker (tests/integration/
 * test_config_behaviour.py, which lists the test of every honoured key).
 */
#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../broker/log/log.h" /* not common/log.h (logging) */
#include "config.h"
#include "kafka_errors.h"
#include "record_batch.h"
#include "topics.h"

#define T0 1700000000000LL
#define HOUR_MS 3600000LL

static char tmpdir[64];
static struct broker_config cfg;
static struct topics topics;
static bool opened;

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(p);
}

static void setup(void)
{
    strcpy(tmpdir, "/tmp/kavka-cfgbeh-XXXXXX");
    cr_assert(mkdtemp(tmpdir));
    opened = false;
}

static void teardown(void)
{
    if (opened) {
        topics_close(&topics);
        broker_config_free(&cfg);
    }
    nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(config_behaviour, .init = setup, .fini = teardown);

/* Load the configuration with `extra` (NULL-terminated "key=value"s) and
 * a log dir in tmpdir, open the topics and create topic "t" (1 partition);
 * returns its partition log. */
static struct plog *open_topic(char *const *extra)
{
    char logdirs[128], err[256], *ov[16];
    int n = 0;
    snprintf(logdirs, sizeof logdirs, "log.dirs=%s/logs", tmpdir);
    ov[n++] = logdirs;
    for (; extra && *extra && n < 15; extra++)
        ov[n++] = *extra;
    cr_assert_eq(broker_config_load(&cfg, NULL, n, ov, err, sizeof err), 0, "%s", err);
    cr_assert_eq(mkdir(cfg.log_dirs, 0755), 0);
    cr_assert_eq(topics_open(&topics, &cfg), 0);
    opened = true;
    struct topic *t = NULL;
    cr_assert_eq(topics_create(&topics, kstr_c("t"), 1, 1, NULL, 0, false, &t, err, sizeof err),
                 KERR_NONE, "%s", err);
    cr_assert_not_null(t);
    cr_assert_not_null(t->parts[0].log);
    return t->parts[0].log;
}

/* Append one batch of one small record, its timestamp `now`, at `now`. */
static void append_at(struct plog *l, int64_t now)
{
    struct kw w;
    kw_init(&w, NULL);
    struct rb_builder b;
    rb_builder_init(&b, &w, 0, now, 0, -1, -1, -1);
    uint8_t v[] = "value";
    rb_builder_add(&b, now, (struct kbytes){ NULL, -1 }, (struct kbytes){ v, 5 }, NULL, 0);
    cr_assert_eq(rb_builder_finish(&b), 0);
    struct plog_append_result r;
    cr_assert_eq(plog_append(l, w.buf, w.len, now, &r), KERR_NONE);
    kw_free(&w);
}

/* log.roll.hours: a segment rolls once it is that many hours old (by the
 * broker's clock), not before. The default (168 h) would not roll here. */
Test(config_behaviour, log_roll_hours_rolls_the_segment)
{
    struct plog *l = open_topic((char *const[]){ "log.roll.hours=2", NULL });
    append_at(l, T0);
    append_at(l, T0 + 2 * HOUR_MS - 1);
    cr_assert_eq(plog_segment_count(l), 1, "rolled before log.roll.hours");
    append_at(l, T0 + 2 * HOUR_MS);
    cr_assert_eq(plog_segment_count(l), 2, "no roll after log.roll.hours");
    append_at(l, T0 + 3 * HOUR_MS);
    cr_assert_eq(plog_segment_count(l), 2, "the new segment's clock starts at its first append");
    cr_assert_eq(plog_end_offset(l), 4);
}
