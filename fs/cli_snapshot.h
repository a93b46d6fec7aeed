/*
 * cli_snapshot.h: `pkifs snapshot`, `pkifs restore`, `pkifs backup`.
 */
#ifndef PKIFS_FS_CLI_SNAPSHOT_H
#define PKIFS_FS_CLI_SNAPSHOT_H

#include <stdint.h>
#include "pkifs/trust.h"

int cmd_snapshot(int argc, char **argv);
/* Parse TIME (2026-11-24T21:00:00Z, @UNIXSECONDS, or relative: -30s, -10m,
 * -2h, -1d) into nanoseconds since the epoch; 0 when malformed. */
int64_t cli_parse_time(const char *t);
int cmd_restore(int argc, char **argv);
int cmd_backup(int argc, char **argv);

/* Take snapshot name (as pk_snapshot_create, and refusing names that
 * path_name_ok refuses); a refusal is audited, with path snapshot/NAME. */
enum pk_err snapshot_take(struct pk_store *s, const struct pk_caller *c, const char *name,
			  int64_t at_ns, struct pk_status *st);

#endif
