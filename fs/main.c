/*
 * main.c: the pkifs command line — mount, umount, log.
 */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_check.h"
#include "cli_inventory.h"
#include "cli_log.h"
#include "cli_snapshot.h"
#include "cli_status.h"
#include "mount.h"
#include "pkifs/audit.h"

#ifndef PKIFS_VERSION
#define PKIFS_VERSION "0.1.0"
#endif

static const char usage_main[] =
	"usage: pkifs COMMAND [ARGS]\n"
	"\n"
	"Mounts a certificate database (one SQLite file) as an OPC UA PKI tree.\n"
	"\n"
	"commands:\n"
	"  mount [--db FILE] MOUNTPOINT [-f] [-d] [-o OPT,...]  mount a store\n"
	"  umount MOUNTPOINT                                   unmount it\n"
	"  log --db FILE [-n N] [--follow] [--since TIME] [--op OP] [--refused] [--json]\n"
	"                                                      print the audit log\n"
	"  snapshot --db FILE list|create NAME [--at TIME]|delete NAME\n"
	"  restore --db FILE NAME                              live tree := snapshot\n"
	"  backup --db FILE OUT.db                             consistent copy of the store\n"
	"  check --db FILE [--json] [--repair]                 verify the store's invariants\n"
	"  list [--db FILE|MOUNT] [FOLDER...] [--json]         the certificate table\n"
	"  show [--db FILE|MOUNT] PATH|THUMBPRINT [--json]     one object in full\n"
	"  expiring [--db FILE|MOUNT] [--within DUR] [--json]  what expires (exit 1 if any)\n"
	"  verify CERT [--db FILE|MOUNT] [--as client|server]  would a stack accept CERT\n"
	"  doctor [--db FILE|MOUNT] [--json]                   findings to act on\n"
	"  own create|renew|import [--db FILE|MOUNT] ...       own certificates and keys\n"
	"  status MOUNTPOINT|--db FILE [--json]                where and how a store is "
	"served\n"
	"  SOURCE MOUNTPOINT [-o OPT,...]                      mount(8)'s form (fstab type "
	"fuse.pkifs)\n"
	"\n"
	"pkifs COMMAND --help tells more; pkifs --version prints the version.\n";

static const char usage_mount[] =
	"usage: pkifs mount [--db FILE] MOUNTPOINT [-f] [-d] [-o OPT,...]\n"
	"\n"
	"Mounts the store FILE (default: MOUNTPOINT.db; created, mode 0600, when\n"
	"missing) at MOUNTPOINT and returns once the mount is usable; the daemon\n"
	"runs in the background until `pkifs umount MOUNTPOINT`.\n"
	"\n"
	"  -f   stay in the foreground      -d   FUSE debug output (implies -f)\n"
	"  -o max_rejected=N   entries kept in rejected/ (default 128)\n"
	"  -o cert_max=BYTES   certificate and key size cap (default 65536)\n"
	"  -o crl_max=BYTES    CRL size cap (default 16777216)\n"
	"  -o aux_max=BYTES    cap of other files at the root and in own/ (1 MiB)\n"
	"  -o pending_max=BYTES  bytes of all files being written (RAM/8, <= 128 MiB)\n"
	"  -o max_locks=N      lock directories (NAME.lock) at once (10000)\n"
	"  -o capath=NAME|off  the OpenSSL CApath view directory (default capath)\n"
	"  -o cafile=NAME|off  the PEM bundle view file (default cafile.pem)\n"
	"  -o trust_group=GROUP  members may change trust (trusted/, issuers/,\n"
	"                      rejected/ become group-writable); others may not\n"
	"  -o retention=DUR    history kept for snapshots --at (default 30d)\n"
	"  -o autosnapshot=DUR take snapshot auto-<time> every DUR (s/m/h/d; off)\n"
	"  -o autosnapshot_keep=N  automatic snapshots kept (default 24)\n"
	"  -o layout=node-opcua|part12|both|open62541|uanet  spelling listings show:\n"
	"                      issuers/ and rejected/ (default), issuer/ and\n"
	"                      rejected/certs/, both, ApplCerts/ beside UserTokenCerts/\n"
	"                      and HttpCerts/, or trustedUser/ issuerUser/ ...\n"
	"  -o etcd=URL|URL...  share trusted/ and issuers/ with a fleet through etcd\n"
	"  -o etcd_prefix=/PATH  the fleet's keys (default /pkifs)\n"
	"  -o etcd_node=NAME   this machine in the audit log (default: host name)\n"
	"  -o etcd_cacert=FILE, etcd_cert=FILE, etcd_key=FILE  TLS to etcd\n"
	"  -o etcd_user=NAME, etcd_password_file=FILE  etcd's RBAC user\n"
	"  other -o options go to FUSE (allow_other is on when run as root)\n";

static const char usage_umount[] =
	"usage: pkifs umount MOUNTPOINT\n"
	"\n"
	"Unmounts a pkifs mount and waits until its daemon has closed the store.\n";

static const char usage_log[] =
	"usage: pkifs log --db FILE [-n N] [--follow] [--since TIME] [--op OP] [--refused]\n"
	"                 [--json]\n"
	"\n"
	"Prints the audit log of the store FILE, oldest first (-n: the last N):\n"
	"time, generation, operation, path(s), SHA-1 thumbprint, caller uid, pid\n"
	"and command, outcome, and for a refusal the errno and the reason.\n"
	"  --follow      go on printing rows as they are committed (until killed)\n"
	"  --since TIME  rows from TIME on (2026-11-24T21:00:00Z, @UNIXSECONDS, -10m)\n"
	"  --op OP       rows of one operation (put, rename, remove, trust, ...)\n"
	"  --refused     refusals only\n"
	"  --json        one JSON object a line\n";

static int wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

/* Absolute form of a path whose last element may not exist yet. */
static char *absolute(const char *path)
{
	char *copy = strdup(path), *copy2 = strdup(path), *dir, *res = NULL;
	char buf[PATH_MAX];

	dir = realpath(dirname(copy), buf) ? buf : NULL;
	if (dir && asprintf(&res, "%s/%s", dir, basename(copy2)) < 0)
		res = NULL;
	free(copy);
	free(copy2);
	return res;
}

/* Clear a stale pkifs mount at mp (its daemon was killed): until it is
 * unmounted, stat of it fails with ENOTCONN or answers from a cache. */
static int clear_stale(const char *mp)
{
	char *abs = absolute(mp);
	int rc = abs ? mount_clear_stale(abs) : 0;

	free(abs);
	return rc;
}

/* Parse mount's arguments into o; 0, or 2 on a usage error. */
static int parse_mount(int argc, char **argv, struct mount_opts *o, char **mp, char **db)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
			*db = argv[++i];
		else if (strcmp(argv[i], "-f") == 0)
			o->foreground = 1;
		else if (strcmp(argv[i], "-d") == 0)
			o->debug = o->foreground = 1;
		else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
			if (mount_parse_opts(o, argv[++i]) != 0)
				return 2;
		} else if (argv[i][0] != '-' && !*mp)
			*mp = argv[i];
		else {
			fprintf(stderr, "pkifs mount: unexpected argument %s\n%s", argv[i],
				usage_mount);
			return 2;
		}
	}
	if (!*mp) {
		fprintf(stderr, "%s", usage_mount);
		return 2;
	}
	return 0;
}

/* Mount the store db (NULL: MOUNTPOINT.db) at mp with options o. */
static int mount_at(struct mount_opts *o, const char *mp, const char *db)
{
	char *dbdefault = NULL, *dbabs, mpabs[PATH_MAX];
	int rc;

	if (clear_stale(mp) != 0)
		return 1;
	if (!realpath(mp, mpabs)) {
		fprintf(stderr, "pkifs: mountpoint %s: no such directory\n", mp);
		return 1;
	}
	if (!db && asprintf(&dbdefault, "%s.db", mpabs) < 0)
		return 1;
	dbabs = absolute(db ? db : dbdefault);
	if (!dbabs) {
		fprintf(stderr, "pkifs: database %s: no such directory\n", db ? db : dbdefault);
		free(dbdefault);
		return 1;
	}
	o->db = dbabs;
	o->mountpoint = mpabs;
	rc = mount_run(o);
	free(dbabs);
	free(dbdefault);
	return rc;
}

static int cmd_mount(int argc, char **argv)
{
	struct mount_opts o = {0};
	char *mp = NULL, *db = NULL;
	int rc;

	if (wants_help(argc, argv))
		return printf("%s", usage_mount), 0;
	pk_limits_default(&o.limits);
	maint_defaults(&o.maint);
	o.trust_group = -1;
	rc = parse_mount(argc, argv, &o, &mp, &db);
	if (rc == 0)
		rc = mount_at(&o, mp, db);
	mount_free_opts(&o);
	return rc;
}

static int cmd_umount(int argc, char **argv)
{
	char mpabs[PATH_MAX];

	if (wants_help(argc, argv))
		return printf("%s", usage_umount), 0;
	if (argc != 2) {
		fprintf(stderr, "%s", usage_umount);
		return 2;
	}
	if (!realpath(argv[1], mpabs)) {
		fprintf(stderr, "pkifs: %s: no such directory\n", argv[1]);
		return 1;
	}
	return mount_umount(mpabs);
}

/* A flag of log's (no value) into f or follow; 1 if it was one. */
static int log_flag(const char *a, struct pk_audit_filter *f, int *follow)
{
	if (strcmp(a, "--follow") == 0 || strcmp(a, "-f") == 0)
		return *follow = 1;
	if (strcmp(a, "--refused") == 0)
		return f->refused = 1;
	if (strcmp(a, "--json") == 0)
		return f->json = 1;
	return 0;
}

/* log's arguments into f, n, follow and db; 0, or 2 on a usage error. */
static int parse_log(int argc, char **argv, struct pk_audit_filter *f, long *n, int *follow,
		     const char **db)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (log_flag(a, f, follow))
			continue;
		if (!v)
			return 2;
		if (strcmp(a, "--db") == 0)
			*db = v;
		else if (strcmp(a, "-n") == 0)
			*n = atol(v);
		else if (strcmp(a, "--op") == 0)
			f->op = v;
		else if (strcmp(a, "--since") != 0 || !(f->since_ns = cli_parse_time(v)))
			return 2;
		i++;
	}
	return *db ? 0 : 2;
}

static int cmd_log(int argc, char **argv)
{
	struct pk_store_opts so = {.readonly = 1};
	struct pk_audit_filter f = {0};
	struct pk_status st = {0};
	struct pk_store *s;
	const char *db = NULL;
	long n = 0;
	int follow = 0, rc;

	if (wants_help(argc, argv))
		return printf("%s", usage_log), 0;
	if (parse_log(argc, argv, &f, &n, &follow, &db) != 0)
		return fprintf(stderr, "%s", usage_log), 2;
	pk_limits_default(&so.limits);
	if (access(db, R_OK) != 0 || pk_store_open(db, &so, &s, &st) != PK_OK) {
		fprintf(stderr, "pkifs: %s: %s\n", db,
			st.reason[0] ? st.reason : "cannot read");
		return 1;
	}
	rc = log_run(s, &f, n, follow);
	pk_store_close(s);
	return rc;
}

/* mount(8)'s form, through mount.fuse3: pkifs SOURCE MOUNTPOINT [-o OPTS]
 * is pkifs mount --db SOURCE MOUNTPOINT [-o OPTS]. */
static int cmd_fstab(int argc, char **argv)
{
	char **v = calloc((size_t)argc + 2, sizeof(*v));
	int rc;

	if (!v)
		return 1;
	v[0] = "mount";
	v[1] = "--db";
	for (int i = 1; i < argc; i++)
		v[i + 1] = argv[i];
	rc = cmd_mount(argc + 1, v);
	free(v);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		printf("%s", usage_main);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "--version") == 0)
		return printf("pkifs %s\n", PKIFS_VERSION), 0;
	if (strcmp(argv[1], "mount") == 0)
		return cmd_mount(argc - 1, argv + 1);
	if (strcmp(argv[1], "umount") == 0)
		return cmd_umount(argc - 1, argv + 1);
	if (strcmp(argv[1], "log") == 0)
		return cmd_log(argc - 1, argv + 1);
	if (strcmp(argv[1], "snapshot") == 0)
		return cmd_snapshot(argc - 1, argv + 1);
	if (strcmp(argv[1], "restore") == 0)
		return cmd_restore(argc - 1, argv + 1);
	if (strcmp(argv[1], "backup") == 0)
		return cmd_backup(argc - 1, argv + 1);
	if (strcmp(argv[1], "check") == 0)
		return cmd_check(argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return cmd_list(argc - 1, argv + 1);
	if (strcmp(argv[1], "show") == 0)
		return cmd_show(argc - 1, argv + 1);
	if (strcmp(argv[1], "expiring") == 0)
		return cmd_expiring(argc - 1, argv + 1);
	if (strcmp(argv[1], "verify") == 0)
		return cmd_verify(argc - 1, argv + 1);
	if (strcmp(argv[1], "doctor") == 0)
		return cmd_doctor(argc - 1, argv + 1);
	if (strcmp(argv[1], "own") == 0)
		return cmd_own(argc - 1, argv + 1);
	if (strcmp(argv[1], "status") == 0)
		return cmd_status(argc - 1, argv + 1);
	if (argc >= 3 && argv[1][0] != '-' && argv[2][0] != '-' && strchr(argv[1], '/'))
		return cmd_fstab(argc, argv);
	fprintf(stderr, "pkifs: unknown command %s\n%s", argv[1], usage_main);
	return 2;
}
