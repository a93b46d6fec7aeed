/*
 * cli_snapshot.c: the snapshot, restore and backup commands. They open the
 * database directly (WAL lets them run while it is mounted); when it is,
 * they return once the mount shows what they changed (cli_sync_mount).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_snapshot.h"
#include "cli_util.h"
#include "path.h"
#include "pkifs/audit.h"
#include "pkifs/snapshot.h"

static const char usage_snapshot[] =
	"usage: pkifs snapshot --db FILE list\n"
	"       pkifs snapshot --db FILE create NAME [--at TIME]\n"
	"       pkifs snapshot --db FILE delete NAME\n"
	"\n"
	"Snapshots are named points in the store's history; a mount shows them\n"
	"read-only under snapshot/NAME/. TIME is 2026-11-24T21:00:00Z, @UNIXSECONDS,\n"
	"or relative: -30s, -10m, -2h, -1d (within the mount's history retention).\n";

static const char usage_restore[] =
	"usage: pkifs restore --db FILE NAME [--quiet]\n"
	"\n"
	"Makes the live tree equal to snapshot NAME, in one audited transaction.\n"
	"Works while the store is mounted. On a terminal it says when it starts\n"
	"and ends (--quiet: not).\n";

static const char usage_backup[] =
	"usage: pkifs backup --db FILE OUT.db [--quiet]\n"
	"\n"
	"Writes a consistent copy of the whole database (mode 0600) while it is in\n"
	"use; the copy mounts as it is. On a terminal it shows the pages copied\n"
	"(--quiet: not).\n";

/* The command line of these commands: --db FILE, --quiet (no progress on
 * a terminal), and the words left (NULL-terminated). */
struct snap_args {
	const char *db;
	int quiet;
	char *rest[6];
};

/* Split argv into a (at most max words left). */
static int args(int argc, char **argv, const char *usage, struct snap_args *a, int max)
{
	const char **db = &a->db;
	char **rest = a->rest;
	int n = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return printf("%s", usage), 1;
		if (!strcmp(argv[i], "--db") && i + 1 < argc)
			*db = argv[++i];
		else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q"))
			a->quiet = 1;
		else if (n < max)
			rest[n++] = argv[i];
		else
			return fprintf(stderr, "%s", usage), 2;
	}
	rest[n] = NULL;
	if (!*db)
		return fprintf(stderr, "%s", usage), 2;
	return 0;
}

/* The store, for reading or writing; NULL after a one-line message. */
static struct pk_store *open_store(const char *db, int readonly)
{
	return readonly ? cli_open_ro(db) : cli_open_rw(db);
}

int64_t cli_parse_time(const char *t)
{
	struct tm tm = {0};
	char *end;
	long long n;

	if (t[0] == '@')
		return (n = strtoll(t + 1, &end, 10)) > 0 && !*end ? n * 1000000000LL : 0;
	if (t[0] == '-') {
		n = strtoll(t + 1, &end, 10);
		int64_t unit = *end == 's'   ? 1
			       : *end == 'm' ? 60
			       : *end == 'h' ? 3600
			       : *end == 'd' ? 86400
					     : 0;
		if (n <= 0 || !unit || end[1])
			return 0;
		return (int64_t)time(NULL) * 1000000000LL - n * unit * 1000000000LL;
	}
	end = strptime(t, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end || (*end && strcmp(end, "Z")))
		return 0;
	return (int64_t)timegm(&tm) * 1000000000LL;
}

static int print_snapshot(void *ctx, const struct pk_snapshot *snap)
{
	time_t sec = (time_t)(snap->time_ns / 1000000000);
	struct tm tm;
	char when[32];

	(void)ctx;
	gmtime_r(&sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	pk_text_put(stdout, snap->name); /* as the log: a name cannot pose as another */
	printf("\t%s\tgen=%llu\n", when, (unsigned long long)snap->gen);
	return 0;
}

enum pk_err snapshot_take(struct pk_store *s, const struct pk_caller *c, const char *name,
			  int64_t at_ns, struct pk_status *st)
{
	char path[300], why[160];
	enum pk_err e;

	if (!path_name_ok(name, why, sizeof(why)))
		e = pk_fail(st, PK_E_NAME, "%s", why);
	else
		e = pk_snapshot_create(s, c, name, at_ns, st);
	if (e == PK_OK)
		return e;
	snprintf(path, sizeof(path), "%s/%s", path_snapshot_dir, name);
	pk_trust_refused(s, c, "snapshot", PK_F_ROOT, path, st);
	return e;
}

/* create NAME [--at TIME] / delete NAME / list, on an open store. */
static int snapshot_action(struct pk_store *s, char **rest)
{
	struct pk_status st = {0};
	struct pk_caller c;
	int64_t at = 0;
	enum pk_err e;

	cli_self(&c);
	if (!strcmp(rest[0], "list") && !rest[1])
		return pk_snapshot_list(s, print_snapshot, NULL) == PK_OK ? 0 : 1;
	if (!rest[1] || (rest[2] && (strcmp(rest[0], "create") || strcmp(rest[2], "--at") ||
				     !rest[3] || rest[4])))
		return fprintf(stderr, "%s", usage_snapshot), 2;
	if (rest[2] && !(at = cli_parse_time(rest[3])))
		return fprintf(stderr, "pkifs: cannot read time %s\n", rest[3]), 2;
	if (!strcmp(rest[0], "create"))
		e = snapshot_take(s, &c, rest[1], at, &st);
	else if (!strcmp(rest[0], "delete") && !rest[2])
		e = pk_snapshot_delete(s, &c, rest[1], &st);
	else
		return fprintf(stderr, "%s", usage_snapshot), 2;
	if (e != PK_OK)
		fprintf(stderr, "pkifs: %s\n", st.reason);
	return e == PK_OK ? 0 : 1;
}

int cmd_snapshot(int argc, char **argv)
{
	struct snap_args a = {0};
	struct pk_store *s;
	int rc = args(argc, argv, usage_snapshot, &a, 5);

	if (rc)
		return rc == 1 ? 0 : rc;
	if (!a.rest[0])
		return fprintf(stderr, "%s", usage_snapshot), 2;
	s = open_store(a.db, !strcmp(a.rest[0], "list"));
	if (!s)
		return 1;
	rc = snapshot_action(s, a.rest);
	pk_store_close(s);
	cli_sync_mount(a.db);
	return rc;
}

int cmd_restore(int argc, char **argv)
{
	struct snap_args a = {0};
	struct pk_status st = {0};
	struct pk_caller c;
	struct pk_store *s;
	int rc = args(argc, argv, usage_restore, &a, 1);

	if (rc)
		return rc == 1 ? 0 : rc;
	if (!a.rest[0])
		return fprintf(stderr, "%s", usage_restore), 2;
	if (!(s = open_store(a.db, 0)))
		return 1;
	cli_self(&c);
	if (!a.quiet && isatty(2))
		fprintf(stderr, "pkifs: restoring snapshot %s (one transaction)...", a.rest[0]);
	rc = pk_snapshot_restore(s, &c, a.rest[0], &st) == PK_OK ? 0 : 1;
	if (!a.quiet && isatty(2))
		fprintf(stderr, " %s\n", rc ? "failed" : "done");
	if (rc)
		fprintf(stderr, "pkifs: %s\n", st.reason);
	pk_store_close(s);
	cli_sync_mount(a.db);
	return rc;
}

int cmd_backup(int argc, char **argv)
{
	struct cli_progress pr;
	struct pk_progress p;
	struct snap_args a = {0};
	struct pk_status st = {0};
	struct pk_store *s;
	int rc = args(argc, argv, usage_backup, &a, 1);

	if (rc)
		return rc == 1 ? 0 : rc;
	if (!a.rest[0])
		return fprintf(stderr, "%s", usage_backup), 2;
	if (!(s = open_store(a.db, 1)))
		return 1;
	cli_progress_init(&pr, &p, a.quiet);
	rc = pk_store_backup(s, a.rest[0], &p, &st) == PK_OK ? 0 : 1;
	cli_progress_done(&pr);
	if (rc)
		fprintf(stderr, "pkifs: %s\n", st.reason);
	pk_store_close(s);
	return rc;
}
