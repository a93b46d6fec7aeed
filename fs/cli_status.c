/*
 * cli_status.c: `pkifs status MOUNT|--db FILE [--json]`.
 *
 * Tells where a store is mounted, which daemon serves it (the process that
 * has both the database and /dev/fuse open), and what it holds: the
 * generation, the entries of each folder, the snapshots and the last audit
 * row. Exit 0 when the store could be read and is served or not mounted;
 * 1 when it cannot be read or its mount has no daemon any more (stale).
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli_status.h"
#include "mounts.h"
#include "fleet.h"
#include "pkifs/replica.h"
#include "pkifs/audit.h"
#include "pkifs/snapshot.h"

static const char usage_status[] =
	"usage: pkifs status MOUNTPOINT|--db FILE [--json]\n"
	"\n"
	"Tells where the store is mounted, the daemon's pid, the generation, the\n"
	"entries of each folder, the snapshots and the last audit row. Exit 0:\n"
	"served or not mounted; 1: unreadable, or mounted with no daemon (stale).\n";

struct status {
	char db[PATH_MAX], mountpoint[PATH_MAX];
	long pid; /* the daemon, or 0 */
	unsigned long long gen, size;
	long entries[PK_F_COUNT];
	long snapshots;
	char *last; /* the last audit row as `pkifs log` prints it */
	struct fleet_status {
		char *endpoints, *prefix, *node, *state, *contact, *cacert, *cert, *key;
		char *user, *password_file;
		unsigned long long applied, head; /* etcd revisions; head 0: unknown */
		char why[300];			  /* why head is unknown */
	} fleet;
};

/* What the daemon left of the fleet in the store, and etcd's revision now. */
static void read_fleet(struct pk_store *s, struct fleet_status *f)
{
	char **slot[] = {&f->endpoints, &f->prefix, &f->node, &f->state, &f->contact,
			 &f->cacert,	&f->cert,   &f->key,  &f->user,	 &f->password_file};
	const char *key[] = {"endpoints", "prefix", "node", "state", "contact",
			     "cacert",	  "cert",   "key",  "user",  "password_file"};
	struct fleet_opts o;

	for (size_t i = 0; i < sizeof(key) / sizeof(key[0]); i++)
		*slot[i] = pk_replica_info(s, key[i]);
	f->applied = pk_replica_revision(s);
	o = (struct fleet_opts){f->endpoints, f->prefix, f->node, f->cacert,
				f->cert,      f->key,	 f->user, f->password_file};
	if (f->endpoints)
		f->head = fleet_head(&o, f->why, sizeof(f->why));
}

static void free_fleet(struct fleet_status *f)
{
	char *p[] = {f->endpoints, f->prefix, f->node, f->state, f->contact,
		     f->cacert,	   f->cert,   f->key,  f->user,	 f->password_file};

	for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++)
		free(p[i]);
}

/* Seconds since the daemon last heard from etcd, or -1. */
static long long contact_age(const struct fleet_status *f)
{
	return f->contact ? (long long)time(NULL) - atoll(f->contact) : -1;
}

/* The pkifs mount whose source is db (db set) or whose mountpoint is mp
 * (mp set): fill the other one. 0 if found. */
static int find_mount(char *db, char *mp)
{
	return *db ? mounts_of_db(db, mp, PATH_MAX) : mounts_db_at(mp, db, PATH_MAX);
}

/* Does process pid have both db and /dev/fuse open? */
static int serves(const char *pid, const char *db)
{
	char dir[300], link[600], target[PATH_MAX];
	int has_db = 0, has_fuse = 0;
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%s/fd", pid);
	d = opendir(dir);
	while (d && (e = readdir(d)) && !(has_db && has_fuse)) {
		ssize_t n;
		snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		has_db |= strcmp(target, db) == 0;
		has_fuse |= strcmp(target, "/dev/fuse") == 0;
	}
	if (d)
		closedir(d);
	return has_db && has_fuse;
}

/* The pid of the daemon serving db, or 0. */
static long daemon_pid(const char *db)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	long pid = 0;

	while (d && !pid && (e = readdir(d)))
		if (e->d_name[0] >= '1' && e->d_name[0] <= '9' && serves(e->d_name, db))
			pid = atol(e->d_name);
	if (d)
		closedir(d);
	return pid;
}

/* Count one entry (a pk_list_fn). */
static int count_one(void *ctx, const char *name, const struct pk_attr *a)
{
	(void)name;
	(void)a;
	++*(long *)ctx;
	return 0;
}

/* Count one snapshot (a pk_snapshot_fn). */
static int count_snap(void *ctx, const struct pk_snapshot *snap)
{
	(void)snap;
	++*(long *)ctx;
	return 0;
}

/* Fill st's store figures from the store itself, read-only (the last
 * audit row as JSON when json). 0, or -1. */
static int read_store(struct status *st, int json)
{
	struct pk_audit_filter all = {.json = json};
	struct pk_store_opts so = {.readonly = 1};
	struct pk_status ps = {0};
	struct pk_store *s;
	size_t len = 0;
	FILE *mem;

	pk_limits_default(&so.limits);
	if (access(st->db, R_OK) != 0 || pk_store_open(st->db, &so, &s, &ps) != PK_OK) {
		fprintf(stderr, "pkifs: %s: %s\n", st->db,
			ps.reason[0] ? ps.reason : "cannot read");
		return -1;
	}
	st->gen = pk_store_generation(s);
	for (int f = 0; f < PK_F_COUNT; f++)
		pk_store_list(s, (enum pk_folder)f, count_one, &st->entries[f]);
	pk_snapshot_list(s, count_snap, &st->snapshots);
	read_fleet(s, &st->fleet);
	mem = open_memstream(&st->last, &len);
	if (mem) {
		pk_audit_print_filtered(s, mem, 1, &all, NULL);
		fclose(mem);
	}
	if (st->last && len && st->last[len - 1] == '\n')
		st->last[len - 1] = 0;
	pk_store_close(s);
	return 0;
}

/* Folders that hold files, and the name status gives each. */
static const char *folder_label(int f)
{
	if (pk_folder_info((enum pk_folder)f)->content == PK_C_NONE)
		return NULL;
	return f == PK_F_ROOT ? "/" : pk_folder_info((enum pk_folder)f)->path;
}

/* s as a JSON string: quotes, backslashes and control bytes escaped. */
static void json_str(const char *s)
{
	putchar('"');
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			printf("\\%c", *c);
		else if (*c < 0x20 || *c == 0x7f)
			printf("\\u%04x", *c);
		else
			putchar(*c);
	}
	putchar('"');
}

static void print_fleet_json(const struct fleet_status *f)
{
	if (!f->endpoints) {
		printf("null");
		return;
	}
	printf("{\"endpoints\":");
	json_str(f->endpoints);
	printf(",\"prefix\":");
	json_str(f->prefix ? f->prefix : "");
	printf(",\"node\":");
	json_str(f->node ? f->node : "");
	printf(",\"state\":");
	json_str(f->state ? f->state : "");
	printf(",\"applied_revision\":%llu,\"revision\":", f->applied);
	printf(f->head ? "%llu" : "null", f->head);
	printf(",\"lag\":");
	printf(f->head ? "%llu" : "null", f->head > f->applied ? f->head - f->applied : 0);
	printf(",\"last_contact_age_s\":");
	printf(contact_age(f) >= 0 ? "%lld}" : "null}", contact_age(f));
}

static void print_fleet_text(const struct fleet_status *f)
{
	if (!f->endpoints)
		return;
	printf("etcd        %s prefix %s node %s\n", f->endpoints, f->prefix ? f->prefix : "-",
	       f->node ? f->node : "-");
	printf("            %s; applied revision %llu", f->state ? f->state : "-", f->applied);
	if (f->head)
		printf(", etcd revision %llu (lag %llu)", f->head,
		       f->head > f->applied ? f->head - f->applied : 0);
	else
		printf(", etcd unreachable now (%s)", f->why);
	if (contact_age(f) >= 0)
		printf("; last contact %llds ago", contact_age(f));
	printf("\n");
}

static void print_json(const struct status *st)
{
	const char *sep = "";

	printf("{\"db\":");
	json_str(st->db);
	printf(",\"size\":%llu,\"mounted\":%s,\"mountpoint\":", st->size,
	       st->mountpoint[0] ? "true" : "false");
	if (st->mountpoint[0])
		json_str(st->mountpoint);
	else
		printf("null");
	printf(",\"pid\":");
	printf(st->pid ? "%ld" : "null", st->pid);
	printf(",\"generation\":%llu,\"entries\":{", st->gen);
	for (int f = 0; f < PK_F_COUNT; f++, sep = folder_label(f - 1) ? "," : sep)
		if (folder_label(f))
			printf("%s\"%s\":%ld", sep, folder_label(f), st->entries[f]);
	printf("},\"snapshots\":%ld,\"etcd\":", st->snapshots);
	print_fleet_json(&st->fleet);
	printf(",\"last\":%s}\n", st->last && st->last[0] ? st->last : "null");
}

static void print_text(const struct status *st)
{
	printf("store       %s (%llu bytes)\n", st->db, st->size);
	printf("mounted     %s\n", st->mountpoint[0] ? st->mountpoint : "no");
	if (st->pid)
		printf("daemon      pid %ld\n", st->pid);
	else if (st->mountpoint[0])
		printf("daemon      none: stale mount (fusermount3 -u %s)\n", st->mountpoint);
	printf("generation  %llu\nentries    ", st->gen);
	for (int f = 0; f < PK_F_COUNT; f++)
		if (folder_label(f))
			printf(" %s=%ld", folder_label(f), st->entries[f]);
	printf("\nsnapshots   %ld\n", st->snapshots);
	print_fleet_text(&st->fleet);
	printf("last        %s\n", st->last && st->last[0] ? st->last : "-");
}

/* Which store: MOUNTPOINT (a pkifs mount) or --db FILE; 0, 1 or 2. */
static int locate(int argc, char **argv, struct status *st, int *json)
{
	const char *db = NULL, *mp = NULL;
	char buf[PATH_MAX];

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			*json = 1;
		else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc && !db)
			db = argv[++i];
		else if (argv[i][0] != '-' && !mp)
			mp = argv[i];
		else
			return 2;
	}
	if (!db == !mp)
		return 2;
	if (!realpath(db ? db : mp, buf)) {
		fprintf(stderr, "pkifs: %s: no such file or directory\n", db ? db : mp);
		return 1;
	}
	snprintf(db ? st->db : st->mountpoint, PATH_MAX, "%s", buf);
	if (find_mount(st->db, st->mountpoint) != 0 && mp) {
		fprintf(stderr, "pkifs: %s is not a pkifs mount\n", mp);
		return 1;
	}
	return 0;
}

int cmd_status(int argc, char **argv)
{
	struct status st = {0};
	struct stat sb;
	int json = 0, rc;

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return printf("%s", usage_status), 0;
	rc = locate(argc, argv, &st, &json);
	if (rc == 2)
		fprintf(stderr, "%s", usage_status);
	if (rc)
		return rc;
	st.pid = daemon_pid(st.db);
	if (stat(st.db, &sb) == 0)
		st.size = (unsigned long long)sb.st_size;
	if (read_store(&st, json) != 0)
		return 1;
	if (json)
		print_json(&st);
	else
		print_text(&st);
	free(st.last);
	free_fleet(&st.fleet);
	return st.mountpoint[0] && !st.pid ? 1 : 0;
}
