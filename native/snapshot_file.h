/* Snapshot files for the command line: written atomically, read whole. */
#ifndef PN_NATIVE_SNAPSHOT_FILE_H
#define PN_NATIVE_SNAPSHOT_FILE_H

#include "personae/snapshot.h"

/* Writes `s` to `path` through a temporary file and a rename, so that a reader never sees half a
 * snapshot and a failed write leaves the old file in place. Prints an error and returns -1 on
 * failure. */
int pn_cli_write_snapshot(const char *cmd, const char *path, const pn_snapshot *s);

/* Loads a snapshot file; prints "personae <cmd>: <path>: <why>" and returns NULL on failure.
 * Caller frees with pn_snapshot_free. */
pn_snapshot *pn_cli_read_snapshot(const char *cmd, const char *path);

#endif
