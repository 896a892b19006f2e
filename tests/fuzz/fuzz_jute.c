/*
 * fuzz_jute.c — libFuzzer target for the metastore's jute decoders: the
 * first byte picks what the rest is fed to: a request body of one opcode
 * (zreq_decode), an ACL vector, a Stat, or a whole txn applied to a fresh
 * db (the txn log / multi decoder recovery runs on every start).
 */
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "jute.h"
#include "ops.h"

static const int32_t ops[] = {
    ZOP_CREATE, ZOP_CREATE2, ZOP_CREATECONTAINER, ZOP_CREATETTL, ZOP_DELETE, ZOP_EXISTS,
    ZOP_GETDATA, ZOP_SETDATA, ZOP_GETACL, ZOP_SETACL, ZOP_GETCHILDREN, ZOP_GETCHILDREN2,
    ZOP_SYNC, ZOP_CHECK, ZOP_GETALLCHILDRENNUMBER, ZOP_GETEPHEMERALS, ZOP_ADDWATCH,
    ZOP_REMOVEWATCHES, ZOP_CHECKWATCHES,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    struct kr r;
    kr_init(&r, data + 1, size - 1);
    switch (sel % 4) {
    case 0: {
        struct zreq q;
        (void)zreq_decode(ops[(sel / 4) % (sizeof ops / sizeof ops[0])], &r, &q);
        zreq_free(&q);
        break;
    }
    case 1: {
        struct zacl_list acl;
        if (jr_acl_list(&r, &acl) == 0)
            zacl_list_free(&acl);
        break;
    }
    case 2:
        (void)jr_stat(&r);
        break;
    default: {
        struct ms_db db;
        if (db_init(&db) == 0)
            (void)db_apply(&db, data + 1, size - 1, NULL);
        db_free(&db);
    }
    }
    return 0;
}
