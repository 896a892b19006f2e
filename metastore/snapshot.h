/*
 * snapshot.h — full snapshots of the db and recovery.
 *
 * File "snapshot.<zxid, 16 hex digits>" in dataDir, streamed to
 * "snapshot.<zxid>.tmp", fsynced, renamed, and the directory fsynced (a crash
 * leaves the old set, perhaps with a stray temp file that startup removes,
 * or the new file whole):
 *
 *   "KVMSSNP1"; long zxid;
 *   int nsessions; nsessions x { long id; int timeout; buffer passwd }
 *   int nnodes;    nnodes x { ustring path; buffer data; vector<ACL> acl;
 *                             long czxid, mzxid, ctime, mtime; int version,
 *                             cversion, aversion; long ephemeralOwner, pzxid }
 *   u32 crc32c of everything before it
 *
 * Nodes are written parents first, so loading inserts them in file order.
 *
 * The running server takes snapshots in a forked child (snapshot_start): the
 * child sees the tree as it was at fork time (copy-on-write), writes the file
 * and _exit()s, while the parent keeps serving.
 */
#ifndef KAVKA_MS_SNAPSHOT_H
#define KAVKA_MS_SNAPSHOT_H

#include <sys/types.h>

#include "db.h"
#include "compiler.h"

#define SNAP_MAGIC "KVMSSNP1"

/* Write the db as snapshot.<db->last_zxid> in dir (see above); the temp file
 * never stays behind. 0 or -1 with errno; logs nothing (the child calls it). */
int snapshot_write_file(struct ms_db *db, const char *dir) KV_MUST_CHECK;
/* The same, logging a failure. */
int snapshot_write(struct ms_db *db, const char *dir) KV_MUST_CHECK;

/* Fork a child that runs snapshot_write_file() and _exit()s with 0 on
 * success or the errno (1..255) on failure. The child touches nothing but
 * the snapshot file: signal handlers are reset to the default in it before
 * any signal can reach it, and it dies with the parent (PR_SET_PDEATHSIG).
 * Returns the child's pid, or -1 (errno) when fork fails. */
pid_t snapshot_start(struct ms_db *db, const char *dir) KV_MUST_CHECK;
/* Remove snapshot.<zxid>.tmp if a failed or killed child left it. */
void snapshot_discard_temp(const char *dir, int64_t zxid);
/* Remove every snapshot.*.tmp in dir (startup: a child killed with its
 * parent leaves one). Returns how many. */
int snapshot_remove_temps(const char *dir);

/* Load one snapshot file into a bare db. 0, or -1 if invalid. (db_recover
 * also rejects one whose zxid is not the one in its name.) */
int snapshot_load(struct ms_db *db, const char *path) KV_MUST_CHECK;

/* Recovery: the newest valid snapshot in data_dir (or a fresh tree when
 * there is none), then the log records in log_dir after it, replayed with
 * txnlog_replay()'s checks; a txn that fails to apply is corruption. A
 * snapshot that fails to load is skipped for an older one only when the logs
 * then reach at least its zxid (they cover the gap); otherwise recovery
 * fails. 0, or -1 with the reason logged (the db is then freed). */
int db_recover(struct ms_db *db, const char *data_dir, const char *log_dir) KV_MUST_CHECK;

/* Keep the newest `retain` snapshots (at least 3) and the logs still needed
 * to replay from the oldest of them; delete the rest. Returns files
 * deleted or -1. */
int snapshot_purge(const char *data_dir, const char *log_dir, int retain);

#endif
