/*
 * cli_util.c: store lookup and output helpers of the commands (cli_util.h).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cli_util.h"
#include "mounts.h"
#include "pkifs/audit.h"
#include "pkifs/verify.h"

int cli_db_of_path(const char *path, char *db, size_t size, char *mp, size_t mp_size)
{
	char abs[PATH_MAX];

	if (!realpath(path, abs))
		return -1;
	return mounts_covering(abs, db, size, mp, mp_size);
}

void cli_sync_mount(const char *db)
{
	char mp[4096];
	struct statvfs sv;

	if (mounts_of_db(db, mp, sizeof(mp)) == 0)
		statvfs(mp, &sv);
}

struct pk_store *cli_open_ro(const char *db)
{
	struct pk_store_opts so = {.readonly = 1};
	struct pk_status st = {0};
	struct pk_store *s = NULL;

	pk_limits_default(&so.limits);
	if (access(db, R_OK) != 0) {
		fprintf(stderr, "pkifs: %s: cannot read\n", db);
		return NULL;
	}
	if (pk_store_open(db, &so, &s, &st) != PK_OK) {
		fprintf(stderr, "pkifs: %s: %s\n", db, st.reason);
		return NULL;
	}
	return s;
}

struct pk_store *cli_open_rw(const char *db)
{
	struct pk_store_opts so = {0};
	struct pk_status st = {0};
	struct pk_store *s = NULL;

	pk_limits_default(&so.limits);
	if (pk_store_open(db, &so, &s, &st) != PK_OK)
		fprintf(stderr, "pkifs: %s: %s\n", db,
			st.reason[0] ? st.reason : "cannot open");
	return s;
}

void cli_self(struct pk_caller *c)
{
	memset(c, 0, sizeof(*c));
	c->uid = (unsigned)getuid();
	c->gid = (unsigned)getgid();
	c->pid = (int)getpid();
	snprintf(c->comm, sizeof(c->comm), "pkifs");
}

void cli_print_violation(void *ctx, const struct pk_violation *v)
{
	struct cli_out *o = ctx;

	if (!o->json) {
		pk_text_put(stdout, v->path);
		printf(": ");
		pk_text_put(stdout, v->what);
		printf(" [%s]\n", v->kind);
		return;
	}
	printf("%s\n  {\"kind\": ", o->first ? "" : ",");
	cli_json_str(stdout, v->kind);
	printf(", \"path\": ");
	cli_json_str(stdout, v->path);
	printf(", \"what\": ");
	cli_json_str(stdout, v->what);
	putchar('}');
	o->first = 0;
}

/* Show done of total when the percentage moved (pk_progress fn). */
static void show_progress(void *ctx, const char *what, uint64_t done, uint64_t total)
{
	struct cli_progress *p = ctx;
	int pct = total ? (int)(done * 100 / total) : 100;

	if (!p->on || pct == p->last)
		return;
	p->last = pct;
	fprintf(stderr, "\rpkifs: %s %llu/%llu (%d%%)", what, (unsigned long long)done,
		(unsigned long long)total, pct);
}

void cli_progress_init(struct cli_progress *p, struct pk_progress *pp, int quiet)
{
	p->on = !quiet && isatty(2);
	p->last = -1;
	pp->fn = show_progress;
	pp->ctx = p;
}

void cli_progress_done(struct cli_progress *p)
{
	if (p->on && p->last >= 0)
		fputc('\n', stderr);
}

void cli_json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(out, "\\u%04x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

int cli_duration(const char *text, int64_t *seconds)
{
	char *end;
	long long n = strtoll(text, &end, 10);
	int64_t unit = 1;

	if (end == text || n < 0)
		return -1;
	if (*end == 'd')
		unit = 86400;
	else if (*end == 'h')
		unit = 3600;
	else if (*end == 'm')
		unit = 60;
	else if (*end != 's' && *end)
		return -1;
	if (*end && end[1])
		return -1;
	*seconds = (int64_t)n * unit;
	return 0;
}

/* Keep arg; a path in a pkifs mount names the store too (unless --db
 * did) and is kept relative to the mount's root. */
static void keep_arg(struct cli_args *a, const char *arg)
{
	char db[4096], mp[4096], abs[4096];
	char *rel = a->rest[a->n_rest];

	snprintf(rel, sizeof(a->rest[0]), "%s", arg);
	a->orig[a->n_rest] = arg;
	if (cli_db_of_path(arg, db, sizeof(db), mp, sizeof(mp)) == 0 && realpath(arg, abs)) {
		if (!a->db[0])
			snprintf(a->db, sizeof(a->db), "%s", db),
				snprintf(a->mp, sizeof(a->mp), "%s", mp);
		if (!strcmp(abs, mp))
			return; /* the mountpoint itself: names only the store */
		snprintf(rel, sizeof(a->rest[0]), "%s", abs + strlen(mp) + (strlen(mp) > 1));
	}
	a->n_rest++;
}

static int parse_args(int argc, char **argv, const char *usage, struct cli_args *a)
{
	memset(a, 0, sizeof(*a));
	a->within = 30 * 86400;
	a->group = PK_G_ALL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return printf("%s", usage), 1;
		if (!strcmp(argv[i], "--db") && i + 1 < argc)
			snprintf(a->db, sizeof(a->db), "%s", argv[++i]);
		else if (!strcmp(argv[i], "--json"))
			a->json = 1;
		else if (!strcmp(argv[i], "--allow-unknown-revocation"))
			a->verify.allow_unknown_revocation = 1;
		else if (!strcmp(argv[i], "--as") && i + 1 < argc) {
			a->verify.as = !strcmp(argv[++i], "client") ? PK_AS_CLIENT
				       : !strcmp(argv[i], "server") ? PK_AS_SERVER
								    : -1;
			if ((int)a->verify.as < 0)
				return fprintf(stderr, "pkifs: --as client or server\n%s",
					       usage),
				       2;
		} else if (!strcmp(argv[i], "--group") && i + 1 < argc) {
			a->group = pk_group_parse(argv[++i]);
			if (a->group < 0)
				return fprintf(stderr, "pkifs: --group app, user or https\n%s",
					       usage),
				       2;
			a->verify.group = (enum pk_group)a->group;
		} else if (!strcmp(argv[i], "--within") && i + 1 < argc) {
			if (cli_duration(argv[++i], &a->within))
				return fprintf(stderr, "pkifs: bad duration %s\n%s", argv[i],
					       usage),
				       2;
		} else if (argv[i][0] != '-' && a->n_rest < 8)
			keep_arg(a, argv[i]);
		else
			return fprintf(stderr, "%s", usage), 2;
	}
	return 0;
}

int cli_parse_nostore(int argc, char **argv, const char *usage, struct cli_args *a)
{
	return parse_args(argc, argv, usage, a);
}

int cli_parse(int argc, char **argv, const char *usage, struct cli_args *a)
{
	int rc = parse_args(argc, argv, usage, a);

	if (rc)
		return rc;
	if (!a->db[0])
		return fprintf(stderr, "pkifs: no store: give --db FILE or a mountpoint\n%s",
			       usage),
		       2;
	return 0;
}

char *cli_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n < (1 << 24) &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) &&
	    fread(buf, 1, (size_t)n, f) == (size_t)n)
		*len = (size_t)n;
	else if (buf)
		free(buf), buf = NULL;
	if (f)
		fclose(f);
	if (!buf)
		fprintf(stderr, "pkifs: cannot read %s\n", path);
	return buf;
}
