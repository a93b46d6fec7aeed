/*
 * cli_check.c: `pkifs check --db FILE [--json] [--repair]`.
 *
 * Opens the store read-only (it may be mounted and written meanwhile),
 * prints one line per violation of the store's invariants (check.h) and a
 * summary; exit 0 clean, 1 violations, 2 when the check could not run.
 * --repair removes the entries whose bytes are gone, audited, and only
 * when no daemon has the store mounted; then checks again.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "cli_check.h"
#include "cli_util.h"
#include "pkifs/check.h"

static const char usage_check[] =
	"usage: pkifs check --db FILE [--json] [--repair] [--quiet]\n"
	"\n"
	"Verifies the store's invariants, read-only (also while it is mounted):\n"
	"the file's integrity and foreign keys; every entry's bytes exist and\n"
	"hash to their SHA-256; the metadata stored with them is what they parse\n"
	"to; every live entry satisfies its folder's rules; rejected/ holds each\n"
	"certificate once and stays within its cap; live inode numbers are\n"
	"unique; generations and snapshots are consistent. One line per\n"
	"violation: PATH: WHAT [KIND]. Exit 0: clean, 1: violations, 2: the\n"
	"check could not run.\n"
	"\n"
	"  --json    one JSON object: {\"clean\", \"counts\", \"violations\": [{\"kind\",\n"
	"            \"path\", \"what\"}]}\n"
	"  --repair  remove the entries whose bytes are gone (audited, one\n"
	"            transaction; the store must not be mounted), then check\n"
	"  --quiet   no progress line (shown on a terminal when the violations\n"
	"            go elsewhere, or with --json)\n";

/* Remove the entries whose bytes are gone, if no daemon holds the store. */
static int repair(const char *db)
{
	struct pk_caller me;
	struct pk_status st = {0};
	unsigned removed = 0;
	int fd = open(db, O_RDONLY | O_CLOEXEC), rc = 0;
	struct pk_store *s;

	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {
		fprintf(stderr,
			"pkifs: %s is mounted by a pkifs daemon: unmount it before "
			"check --repair\n",
			db);
		if (fd >= 0)
			close(fd);
		return 2;
	}
	cli_self(&me);
	s = cli_open_rw(db);
	if (!s)
		rc = 2;
	else if (pk_store_repair(s, &me, &removed, &st) != PK_OK)
		rc = 2, fprintf(stderr, "pkifs: repair of %s failed: %s\n", db, st.reason);
	else
		fprintf(stderr, "pkifs check: removed %u entr%s whose bytes were gone\n",
			removed, removed == 1 ? "y" : "ies");
	pk_store_close(s);
	close(fd);
	return rc;
}

/* Check the store at db and print what was found; the exit status. */
static int check(const char *db, int json, int quiet)
{
	struct cli_out o = {json, 1};
	struct pk_check_counts n = {0};
	struct pk_status st = {0};
	struct pk_store *s = cli_open_ro(db);
	struct cli_progress pr;
	struct pk_progress p;
	enum pk_err e;

	if (!s)
		return 2;
	if (json)
		printf("{\"violations\": [");
	cli_progress_init(&pr, &p, quiet || (!json && isatty(1)));
	e = pk_store_check(s, cli_print_violation, &o, &p, &n, &st);
	cli_progress_done(&pr);
	pk_store_close(s);
	if (e != PK_OK) {
		fprintf(stderr, "pkifs: cannot check %s: %s\n", db, st.reason);
		return 2;
	}
	if (json)
		printf("%s],\n \"clean\": %s, \"counts\": {\"entries\": %llu, \"live\": %llu,"
		       " \"blobs\": %llu, \"snapshots\": %llu, \"violations\": %llu}}\n",
		       o.first ? "" : "\n", n.violations ? "false" : "true",
		       (unsigned long long)n.entries, (unsigned long long)n.live,
		       (unsigned long long)n.blobs, (unsigned long long)n.snapshots,
		       (unsigned long long)n.violations);
	else
		printf("pkifs check: %llu entries (%llu live), %llu blobs, %llu snapshots: "
		       "%s%llu "
		       "violation%s\n",
		       (unsigned long long)n.entries, (unsigned long long)n.live,
		       (unsigned long long)n.blobs, (unsigned long long)n.snapshots,
		       n.violations ? "" : "clean, ", (unsigned long long)n.violations,
		       n.violations == 1 ? "" : "s");
	return n.violations ? 1 : 0;
}

int cmd_check(int argc, char **argv)
{
	const char *db = NULL;
	int json = 0, fix = 0, quiet = 0, rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return printf("%s", usage_check), 0;
		if (!strcmp(argv[i], "--db") && i + 1 < argc)
			db = argv[++i];
		else if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (!strcmp(argv[i], "--repair"))
			fix = 1;
		else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q"))
			quiet = 1;
		else
			return fprintf(stderr, "%s", usage_check), 2;
	}
	if (!db)
		return fprintf(stderr, "%s", usage_check), 2;
	if (fix && (rc = repair(db)) != 0)
		return rc;
	return check(db, json, quiet);
}
