/*
 * jute.h — ZooKeeper's wire encoding (jute) on top of common/wire.h, and the
 * protocol constants (opcodes, error codes, permissions, event types).
 *
 * jute types: int = int32, long = int64, boolean = 1 byte, buffer = int32
 * length (-1 null) + bytes, ustring = int32 length + UTF-8 bytes, vector =
 * int32 count (-1 null) + elements; all big-endian. Facts from
 * zookeeper.jute and ZooDefs / KeeperException.
 */
#ifndef KAVKA_JUTE_H
#define KAVKA_JUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"
#include "compiler.h"

/* ZooDefs.OpCode */
enum zk_op {
    ZOP_NOTIFICATION = 0,
    ZOP_CREATE = 1,
    ZOP_DELETE = 2,
    ZOP_EXISTS = 3,
    ZOP_GETDATA = 4,
    ZOP_SETDATA = 5,
    ZOP_GETACL = 6,
    ZOP_SETACL = 7,
    ZOP_GETCHILDREN = 8,
    ZOP_SYNC = 9,
    ZOP_PING = 11,
    ZOP_GETCHILDREN2 = 12,
    ZOP_CHECK = 13,
    ZOP_MULTI = 14,
    ZOP_CREATE2 = 15,
    ZOP_RECONFIG = 16,
    ZOP_CHECKWATCHES = 17,
    ZOP_REMOVEWATCHES = 18,
    ZOP_CREATECONTAINER = 19,
    ZOP_DELETECONTAINER = 20,
    ZOP_CREATETTL = 21,
    ZOP_MULTIREAD = 22,
    ZOP_AUTH = 100,
    ZOP_SETWATCHES = 101,
    ZOP_SASL = 102,
    ZOP_GETEPHEMERALS = 103,
    ZOP_GETALLCHILDRENNUMBER = 104,
    ZOP_SETWATCHES2 = 105,
    ZOP_ADDWATCH = 106,
    ZOP_WHOAMI = 107,
    ZOP_CREATESESSION = -10,
    ZOP_CLOSESESSION = -11,
    ZOP_ERROR = -1,
};

/* KeeperException.Code */
enum zk_err {
    ZOK = 0,
    ZSYSTEMERROR = -1,
    ZRUNTIMEINCONSISTENCY = -2,
    ZDATAINCONSISTENCY = -3,
    ZCONNECTIONLOSS = -4,
    ZMARSHALLINGERROR = -5,
    ZUNIMPLEMENTED = -6,
    ZOPERATIONTIMEOUT = -7,
    ZBADARGUMENTS = -8,
    ZUNKNOWNSESSION = -12,
    ZAPIERROR = -100,
    ZNONODE = -101,
    ZNOAUTH = -102,
    ZBADVERSION = -103,
    ZNOCHILDRENFOREPHEMERALS = -108,
    ZNODEEXISTS = -110,
    ZNOTEMPTY = -111,
    ZSESSIONEXPIRED = -112,
    ZINVALIDCALLBACK = -113,
    ZINVALIDACL = -114,
    ZAUTHFAILED = -115,
    ZSESSIONMOVED = -118,
    ZNOTREADONLY = -119,
    ZNOWATCHER = -121,
    ZSESSIONCLOSEDREQUIRESASLAUTH = -124,
};

/* Reserved xids (ClientCnxn). */
enum {
    ZXID_NOTIFICATION = -1,
    ZXID_PING = -2,
    ZXID_AUTH = -4,
    ZXID_SETWATCHES = -8,
};

/* ZooDefs.Perms */
enum {
    ZPERM_READ = 1,
    ZPERM_WRITE = 2,
    ZPERM_CREATE = 4,
    ZPERM_DELETE = 8,
    ZPERM_ADMIN = 16,
    ZPERM_ALL = 31,
};

/* Watcher.Event.EventType and KeeperState */
enum {
    ZEV_NONE = -1,
    ZEV_CREATED = 1,
    ZEV_DELETED = 2,
    ZEV_DATACHANGED = 3,
    ZEV_CHILDCHANGED = 4,
    ZSTATE_SYNCCONNECTED = 3,
};

/* CreateMode flags */
enum {
    ZMODE_PERSISTENT = 0,
    ZMODE_EPHEMERAL = 1,
    ZMODE_PERSISTENT_SEQ = 2,
    ZMODE_EPHEMERAL_SEQ = 3,
    ZMODE_CONTAINER = 4,
    ZMODE_TTL = 5,
    ZMODE_TTL_SEQ = 6,
};

/* EphemeralType: special ephemeralOwner values. */
#define ZK_CONTAINER_OWNER ((int64_t)INT64_MIN)
#define ZK_TTL_MASK ((int64_t)0xff00000000000000ULL)
#define ZK_TTL_MAX ((int64_t)0x0000ffffffffffffLL)

/* Stat, field for field. */
struct zstat {
    int64_t czxid, mzxid, ctime, mtime;
    int32_t version, cversion, aversion;
    int64_t ephemeral_owner;
    int32_t data_length, num_children;
    int64_t pzxid;
};

/* One ACL entry; strings are NUL-terminated and owned by whoever holds the
 * acl list (zacl_list_free). */
struct zacl {
    int32_t perms;
    char *scheme;
    char *id;
};
struct zacl_list {
    int32_t n;
    struct zacl *v;
};

/* ---- reading ---- */
/* ustring and buffer: int32 length (-1 null), bounded by the frame. */
struct kstr jr_string(struct kr *r);
struct kbytes jr_buffer(struct kr *r);
/* NUL-terminated copy of a ustring (malloc'd, caller frees); NULL on error
 * (r->err set) or null string. */
char *jr_string_dup(struct kr *r) KV_MUST_CHECK;
/* Vector count: -1 null; counts beyond the bytes left are errors. */
int32_t jr_vec_len(struct kr *r, size_t min_elem);
struct zstat jr_stat(struct kr *r);
/* Decode vector<ACL> into out (owned by caller: zacl_list_free). Returns 0
 * or -1 (r->err set, out empty). */
int jr_acl_list(struct kr *r, struct zacl_list *out);

/* ---- writing ---- */
void jw_string(struct kw *w, const char *s, size_t n);
void jw_cstring(struct kw *w, const char *s);  /* NULL writes -1 */
void jw_buffer(struct kw *w, const void *p, int32_t n);  /* n < 0: null */
void jw_stat(struct kw *w, const struct zstat *st);
void jw_acl_list(struct kw *w, const struct zacl_list *acl);
/* ReplyHeader */
void jw_reply_header(struct kw *w, int32_t xid, int64_t zxid, int32_t err);

/* ---- ACL lists ---- */
void zacl_list_free(struct zacl_list *l);
int zacl_list_copy(struct zacl_list *dst, const struct zacl_list *src);
bool zacl_list_eq(const struct zacl_list *a, const struct zacl_list *b);
/* world:anyone with ALL perms (OPEN_ACL_UNSAFE). */
int zacl_list_open(struct zacl_list *out);
int zacl_list_add(struct zacl_list *l, int32_t perms, const char *scheme, const char *id);

/* Validate a znode path as PathUtils.validatePath does. */
bool zk_path_valid(const char *path, size_t n);
/* Human-readable name of an error code (for logs). */
const char *zk_err_name(int err);

#endif
