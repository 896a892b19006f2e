/*
 * snapshot.h — full snapshots of the db and recovery.
 *
 * File "snapshot.<zxid, 16 hex digits>" in dataDir, written as a temp file,
 * fsynced and renamed (a crash leaves either the old set or the new file):
 *
 *   "KVMSSNP1"; long zxid;
 *   int nsessions; nsessions x { long id; int timeout; buffer passwd }
 *   int nnodes;    nnodes x { ustring path; buffer data; vector<ACL> acl;
 *                             long czxid, mzxid, ctime, mtime; int version,
 *                             cversion, aversion; long ephemeralOwner, pzxid }
 *   u32 crc32c of everything before it
 *
 * Nodes are written parents first, so loading inserts them in file order.
 */
#ifndef KAVKA_MS_SNAPSHOT_H
#define KAVKA_MS_SNAPSHOT_H

#include "db.h"

#define SNAP_MAGIC "KVMSSNP1"

/* Write the db as snapshot.<db->last_zxid> in dir. 0 or -1. */
int snapshot_write(struct ms_db *db, const char *dir);
/* Load one snapshot file into a bare db. 0, or -1 if invalid. */
int snapshot_load(struct ms_db *db, const char *path);

/* Recovery: newest valid snapshot in data_dir (or a fresh tree), then every
 * log record in log_dir with a larger zxid. 0 or -1. */
int db_recover(struct ms_db *db, const char *data_dir, const char *log_dir);

/* Keep the newest `retain` snapshots (at least 3) and the logs still needed
 * to replay from the oldest of them; delete the rest. Returns files
 * deleted or -1. */
int snapshot_purge(const char *data_dir, const char *log_dir, int retain);

#endif
