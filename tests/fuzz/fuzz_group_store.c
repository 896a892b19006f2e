/*
 * fuzz_group_store.c — libFuzzer target for the group coordinator's log
 * replay (broker/group_store.c): the input is written as
 * <log dir>/__consumer_offsets/groups.log and opened with gstore_open(), the
 * store's public entry point, which replays every record (a torn or corrupt
 * tail is cut off). The replay callback reads every byte of every string and
 * blob it is handed, so a view past the file image shows up under ASan.
 *
 * Input: byte 0 bit 0 asks for the records' CRCs to be fixed up first
 * (framing [u32 length][u32 crc32c][payload], walked as far as it holds),
 * since a mutated record would otherwise almost never get past its CRC;
 * the rest is the file.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "group_store.h"
#include "klog.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char logdir[64], file[128];

static void remove_logdir(void)
{
    char dir[96];
    snprintf(dir, sizeof dir, "%s/__consumer_offsets", logdir);
    unlink(file);
    rmdir(dir);
    rmdir(logdir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    klog_set_level(KLOG_LEVEL_ERROR);
    snprintf(logdir, sizeof logdir, "%s/kavka-fuzz-gs-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(logdir))
        abort();
    char dir[96];
    snprintf(dir, sizeof dir, "%s/__consumer_offsets", logdir);
    if (mkdir(dir, 0755) != 0)
        abort();
    snprintf(file, sizeof file, "%s/groups.log", dir);
    atexit(remove_logdir);
    return 0;
}

static unsigned touch(const void *p, int32_t n)
{
    unsigned sum = 0;
    for (int32_t i = 0; p && i < n; i++)
        sum += ((const uint8_t *)p)[i];
    return sum;
}

static void replayed(void *arg, const struct gs_rec *r)
{
    unsigned *sum = arg;
    *sum += touch(r->group.p, r->group.len) + touch(r->topic.p, r->topic.len) +
            touch(r->metadata.p, r->metadata.len) + touch(r->protocol_type.p, r->protocol_type.len) +
            touch(r->protocol.p, r->protocol.len) + touch(r->leader.p, r->leader.len);
    if (r->nmembers < 0 || (r->nmembers > 0 && !r->members))
        abort();
    for (int32_t i = 0; i < r->nmembers; i++) {
        const struct gs_member *m = &r->members[i];
        *sum += touch(m->member_id.p, m->member_id.len) +
                touch(m->instance_id.p, m->instance_id.len) +
                touch(m->client_id.p, m->client_id.len) +
                touch(m->client_host.p, m->client_host.len) +
                touch(m->subscription.p, m->subscription.len) +
                touch(m->assignment.p, m->assignment.len);
    }
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void fix_crcs(uint8_t *p, size_t n)
{
    size_t at = 0;
    while (n - at >= 8) {
        uint32_t len = be32(p + at);
        if (len > n - at - 8)
            break;
        uint32_t crc = crc32c(0, p + at + 8, len);
        p[at + 4] = (uint8_t)(crc >> 24);
        p[at + 5] = (uint8_t)(crc >> 16);
        p[at + 6] = (uint8_t)(crc >> 8);
        p[at + 7] = (uint8_t)crc;
        at += 8 + (size_t)len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t insize)
{
    if (insize < 1)
        return 0;
    size_t size = insize - 1;
    uint8_t *data = malloc(size ? size : 1);
    if (!data)
        return 0;
    memcpy(data, in + 1, size);
    if (in[0] & 1)
        fix_crcs(data, size);
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        abort();
    size_t off = 0;
    while (off < size) {
        ssize_t n = write(fd, data + off, size - off);
        if (n <= 0)
            abort();
        off += (size_t)n;
    }
    close(fd);
    struct gstore s;
    unsigned sum = 0;
    if (gstore_open(&s, logdir, replayed, &sum) == 0) {
        /* A torn tail is cut, never grown. */
        struct stat st;
        if (stat(file, &st) != 0 || st.st_size > (off_t)size)
            abort();
        gstore_close(&s);
    }
    free(data);
    return 0;
}
