/*
 * cli_util.h: what the read-side commands share: finding and opening the
 * store (by --db FILE or by a mountpoint), JSON strings, durations.
 */
#ifndef PKIFS_FS_CLI_UTIL_H
#define PKIFS_FS_CLI_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pkifs/check.h"
#include "pkifs/progress.h"
#include "pkifs/store.h"
#include "pkifs/trust.h"
#include "pkifs/verify.h"

/* What a read command was asked: the store (by --db, or by the mount that
 * holds a path given), its mountpoint, the other arguments (paths in the
 * mount made relative to its root; orig as given), and the options some
 * commands take. */
struct cli_args {
	char db[4096], mp[4096];
	char rest[8][4096];
	const char *orig[8];
	int n_rest, json;
	int64_t within;		      /* expiring --within, seconds (30d) */
	struct pk_verify_opts verify; /* verify --as, --allow-unknown-revocation, --group */
	int group;		      /* --group app|user|https; PK_G_ALL when not given */
};

/* Parse the arguments into a: 0, 1 when --help was shown, 2 on a usage
 * error or no store named (a message and usage printed). */
int cli_parse(int argc, char **argv, const char *usage, struct cli_args *a);
/* The same, for a command that needs no store (list -o etcd=). */
int cli_parse_nostore(int argc, char **argv, const char *usage, struct cli_args *a);

/* The store file of the pkifs mount that holds path (a mountpoint or a
 * path below one), into db; 0, or -1 when path is in no pkifs mount. mp
 * (may be NULL) gets the mountpoint. */
int cli_db_of_path(const char *path, char *db, size_t size, char *mp, size_t mp_size);

/* Open a store for reading, or say why not in one line (NULL). */
struct pk_store *cli_open_ro(const char *db);

/* A whole file (malloc'd, under 16 MiB), or NULL after a message. */
char *cli_read_file(const char *path, size_t *len);

/* Open an existing store for writing (repairs, own certificates), or say
 * why not in one line (NULL). */
struct pk_store *cli_open_rw(const char *db);

/* This process as the caller of a change, for the audit log. */
void cli_self(struct pk_caller *c);

/* After the CLI wrote to db: if it is mounted, wait until the mount shows
 * the change (a statfs makes the daemon catch up and drop what the kernel
 * has cached of it). */
void cli_sync_mount(const char *db);

/* How cli_print_violation prints: lines, or JSON array elements. */
struct cli_out {
	int json, first;
};

/* Print a violation or finding (pk_violation_fn; ctx a struct cli_out):
 * "PATH: WHAT [KIND]" escaped as the log is, or a JSON object. */
void cli_print_violation(void *ctx, const struct pk_violation *v);

/* A progress line on a terminal: "pkifs: WHAT N/M (P%)" on stderr, kept
 * to one line, when stderr is a terminal and quiet is 0. */
struct cli_progress {
	int on;
	int last; /* the last percentage shown */
};

/* Set p up (on when stderr is a terminal and not quiet) and make pp
 * report to it. */
void cli_progress_init(struct cli_progress *p, struct pk_progress *pp, int quiet);

/* End the progress line (a newline when one was shown). */
void cli_progress_done(struct cli_progress *p);

/* s as a JSON string on out. */
void cli_json_str(FILE *out, const char *s);

/* "30d", "12h", "90m", "45s" or plain seconds: 0, or -1 when malformed. */
int cli_duration(const char *text, int64_t *seconds);

#endif
