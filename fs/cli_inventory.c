/*
 * cli_inventory.c: `pkifs list`, `pkifs show`, `pkifs expiring`.
 *
 * Read-only views of a store for operators: a certificate table, one
 * object in full, and what has expired or will. The store is named by
 * --db FILE or by its mountpoint (or any path in the mount); it is opened
 * read-only, so these run while a daemon writes.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli_inventory.h"
#include "cli_util.h"
#include "fleet.h"
#include "mount.h"
#include "pkifs/audit.h"
#include "pkifs/describe.h"
#include "pkifs/inventory.h"
#include "pkifs/verify.h"

static const char usage_list[] =
	"usage: pkifs list [--db FILE | MOUNT] [FOLDER...] [--group app|user|https] [--json]\n"
	"       pkifs list -o etcd=URL|URL...[,etcd_prefix=,etcd_cacert=,...] [FOLDER...]\n"
	"\n"
	"One row per certificate, CRL and key: path, kind (CA, leaf, self-signed,\n"
	"CRL, key), subject CN, issuer CN, not-after (CRL: next update), days left,\n"
	"SHA-1 thumbprint, OPC UA applicationUri, key type and size. FOLDER is a\n"
	"folder of the tree in any spelling (own, trusted/certs, issuer/crl,\n"
	"UserTokenCerts/trusted, trustedUser...); --group keeps the folders of one\n"
	"certificate group: app (the root's tree), user (user tokens), https.\n"
	"--json prints an array of objects (fields in the README).\n"
	"With -o and the fleet's options (as for mount), the fleet's shared trust\n"
	"and issuer lists as etcd holds them now, read from etcd (no store).\n";

static const char usage_show[] =
	"usage: pkifs show [--db FILE | MOUNT] PATH|THUMBPRINT [--json]\n"
	"\n"
	"Everything about one certificate, CRL or key: names, serial, validity,\n"
	"subject alternative names, key usage, extended key usage, basic\n"
	"constraints, signature algorithm, key, SHA-1 and SHA-256 thumbprints,\n"
	"every folder and snapshot that holds it, and its audit history. PATH is\n"
	"trusted/certs/x.der or a path in the mount; THUMBPRINT is SHA-1 or SHA-256\n"
	"hex.\n";

static const char usage_expiring[] =
	"usage: pkifs expiring [--db FILE | MOUNT] [--within DUR] [--json]\n"
	"\n"
	"Certificates in own/, trusted/ and issuers/ that have expired or will\n"
	"within DUR (default 30d; s, m, h, d), and CRLs whose next update has\n"
	"passed or falls within it. Exit 1 if there are any, 0 if none, 2 when the\n"
	"store cannot be read: fit for cron, systemd timers and monitoring.\n";

/* Is folder f top or inside it? */
static int within(enum pk_folder f, enum pk_folder top)
{
	for (; f != PK_F_NONE; f = pk_folder_info(f)->parent)
		if (f == top)
			return 1;
	return 0;
}

/* A folder of the tree by its path as the user wrote it, in any spelling
 * ("issuer/", "trustedUser", "ApplCerts/own"): the bits of the folders it
 * is or holds; the root is only itself (the files kept there). */
static uint64_t folder_mask(const char *arg)
{
	enum pk_folder top;
	const char *name;
	uint64_t mask = 0;

	if (pk_folder_resolve(arg, &top, &name) != 0 || *name)
		return 0;
	for (int f = 0; f < PK_F_COUNT; f++)
		if (top == PK_F_ROOT ? f == PK_F_ROOT : within(f, top))
			mask |= 1ull << f;
	return mask;
}

/* The folders of group g (every folder for PK_G_ALL). */
static uint64_t group_mask(int g)
{
	uint64_t mask = 0;

	for (int f = 0; f < PK_F_COUNT; f++)
		if (g == PK_G_ALL || pk_folder_group(f) == (enum pk_group)g)
			mask |= 1ull << f;
	return mask;
}

/* Days from now to t (negative: past). */
static long days_left(int64_t t)
{
	int64_t d = t - (int64_t)time(NULL);

	return (long)(d >= 0 ? d / 86400 : -((-d + 86399) / 86400));
}

/* t as 2026-11-24 (or 2026-11-24T21:00:00Z with full), "-" for none. */
static const char *date(int64_t t, int full, char *buf, size_t size)
{
	time_t sec = (time_t)t;
	struct tm tm;

	if (!t)
		return "-";
	gmtime_r(&sec, &tm);
	strftime(buf, size, full ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d", &tm);
	return buf;
}

/* "trusted/certs/x.der" of an item. */
static void item_path(const struct pk_item *it, char *buf, size_t size)
{
	const char *dir = pk_folder_info(it->folder)->path;

	snprintf(buf, size, "%s%s%s", dir, *dir ? "/" : "", it->name);
}

/* The certificate table: columns, and the rows kept until widths are known. */
enum { C_PATH, C_KIND, C_CN, C_ISSUER, C_AFTER, C_DAYS, C_SHA1, C_URI, C_KEY, NCOL };
static const char *const heads[NCOL] = {"PATH", "KIND",	 "SUBJECT CN", "ISSUER CN", "NOT AFTER",
					"DAYS", "SHA-1", "URI",	       "KEY"};

struct table {
	char *(*rows)[NCOL];
	size_t n, cap;
	int json, first;
	int64_t within; /* expiring: only items up to now + within (-1: all) */
};

/* The item as one JSON object. */
static void json_item(const struct pk_item *it, const char *path)
{
	const struct pk_details *d = &it->d;
	char b1[32], b2[32];

	printf("  {\"path\": ");
	cli_json_str(stdout, path);
	printf(", \"folder\": ");
	cli_json_str(stdout, pk_folder_info(it->folder)->path);
	printf(", \"name\": ");
	cli_json_str(stdout, it->name);
	printf(", \"kind\": \"%s\", \"subject\": ", pk_details_kind(d));
	cli_json_str(stdout, d->subject);
	printf(", \"subject_cn\": ");
	cli_json_str(stdout, d->subject_cn);
	printf(", \"issuer_cn\": ");
	cli_json_str(stdout, d->issuer_cn);
	printf(", \"not_before\": \"%s\", \"not_after\": \"%s\", \"days_left\": ",
	       date(d->not_before, 1, b1, sizeof(b1)), date(d->not_after, 1, b2, sizeof(b2)));
	if (d->not_after)
		printf("%ld", days_left(d->not_after));
	else
		printf("null");
	printf(", \"sha1\": \"%s\", \"sha256\": \"%s\", \"application_uri\": ", d->sha1,
	       d->sha256);
	cli_json_str(stdout, d->uri);
	printf(", \"key_type\": ");
	cli_json_str(stdout, d->key_type);
	printf(", \"key_bits\": %d, \"size\": %llu}", d->key_bits,
	       (unsigned long long)it->attr.size);
}

/* s escaped as the log prints it (malloc'd), or a plain copy. */
static char *escaped(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return strdup(s);
	pk_text_put(f, s);
	fclose(f);
	return buf;
}

/* Keep one row of cells (copies, escaped). */
static void keep_row(struct table *t, char *cells[NCOL])
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		void *r = realloc(t->rows, cap * sizeof(*t->rows));
		if (!r)
			return;
		t->rows = r;
		t->cap = cap;
	}
	for (int c = 0; c < NCOL; c++)
		t->rows[t->n][c] = escaped(cells[c] ? cells[c] : "");
	t->n++;
}

/* Collect an item as a table row or print it as JSON. */
static int add_item(void *ctx, const struct pk_item *it)
{
	struct table *t = ctx;
	const struct pk_details *d = &it->d;
	char path[600], after[32], days[24] = "-", key[40] = "-";
	char *cells[NCOL];

	if (t->within >= 0 && (!d->not_after || d->not_after > (int64_t)time(NULL) + t->within))
		return 0;
	item_path(it, path, sizeof(path));
	if (t->json) {
		printf("%s\n", t->first ? "" : ",");
		t->first = 0;
		json_item(it, path);
		return 0;
	}
	if (d->not_after)
		snprintf(days, sizeof(days), "%ld", days_left(d->not_after));
	if (d->key_type[0])
		snprintf(key, sizeof(key), "%s%s%.0d", d->key_type,
			 strncmp(d->key_type, "EC", 2) && d->key_bits ? " " : "",
			 strncmp(d->key_type, "EC", 2) ? d->key_bits : 0);
	cells[C_PATH] = path, cells[C_KIND] = (char *)pk_details_kind(d);
	cells[C_CN] = (char *)d->subject_cn, cells[C_ISSUER] = (char *)d->issuer_cn;
	cells[C_AFTER] = (char *)date(d->not_after, 0, after, sizeof(after));
	cells[C_DAYS] = days, cells[C_SHA1] = (char *)d->sha1;
	cells[C_URI] = (char *)d->uri, cells[C_KEY] = key;
	keep_row(t, cells);
	return 0;
}

/* Column widths that fit the terminal: the widest free-text column gives
 * way first, down to 8. */
static void fit(const struct table *t, int w[NCOL])
{
	struct winsize ws;
	int total = 0, width = isatty(1) && !ioctl(1, TIOCGWINSZ, &ws) ? ws.ws_col : 0;

	for (int c = 0; c < NCOL; c++) {
		w[c] = (int)strlen(heads[c]);
		for (size_t r = 0; r < t->n; r++)
			if ((int)strlen(t->rows[r][c]) > w[c])
				w[c] = (int)strlen(t->rows[r][c]);
		total += w[c] + 2;
	}
	while (width > 0 && total > width) {
		int widest = -1;
		for (int c = 0; c < NCOL; c++)
			if ((c == C_PATH || c == C_CN || c == C_ISSUER || c == C_URI) &&
			    w[c] > 8 && (widest < 0 || w[c] > w[widest]))
				widest = c;
		if (widest < 0)
			break;
		w[widest]--, total--;
	}
}

/* Print one row, cutting cells to their width ("~" marks a cut). */
static void print_row(const char *const cells[NCOL], const int w[NCOL])
{
	for (int c = 0; c < NCOL; c++) {
		int len = (int)strlen(cells[c]), cut = len > w[c], last = c + 1 == NCOL;
		int pad = last ? 0 : cut ? w[c] - 1 : w[c];
		printf("%-*.*s%s%s", pad, cut ? w[c] - 1 : w[c], cells[c], cut ? "~" : "",
		       last ? "\n" : "  ");
	}
}

/* Print the kept rows under their heads, then free them. */
static void print_table(struct table *t)
{
	int w[NCOL];

	fit(t, w);
	if (t->n)
		print_row(heads, w);
	for (size_t r = 0; r < t->n; r++) {
		print_row((const char *const *)t->rows[r], w);
		for (int c = 0; c < NCOL; c++)
			free(t->rows[r][c]);
	}
	free(t->rows);
}

/* Walk the items of mask into t; 0, or 2 when the store could not be read. */
static int walk(const char *db, uint64_t mask, struct table *t)
{
	struct pk_store *s = cli_open_ro(db);
	enum pk_err e;

	if (!s)
		return 2;
	if (t->json)
		printf("[");
	e = pk_inventory(s, mask, add_item, t);
	pk_store_close(s);
	if (t->json)
		printf("%s]\n", t->first ? "" : "\n");
	else
		print_table(t);
	if (e != PK_OK)
		fprintf(stderr, "pkifs: %s: cannot read the store\n", db);
	return e == PK_OK ? 0 : 2;
}

/* The fleet's files, gathered to be shown in folder and name order. */
struct fleet_items {
	struct pk_item *it;
	size_t n, cap;
	uint64_t mask;
};

static int keep_fleet_file(void *ctx, const struct pk_repl_change *c)
{
	struct fleet_items *fi = ctx;
	struct pk_status st = {0};
	struct pk_item it = {.folder = c->f};

	if (!(fi->mask & (1ull << c->f)))
		return 0;
	if (fi->n == fi->cap) {
		size_t cap = fi->cap ? fi->cap * 2 : 64;
		void *r = realloc(fi->it, cap * sizeof(*fi->it));
		if (!r)
			return -1;
		fi->it = r;
		fi->cap = cap;
	}
	it.name = strdup(c->name);
	it.attr = (struct pk_attr){.mode = c->mode, .mtime_ns = c->mtime_ns, .size = c->len};
	if (!it.name || pk_describe(c->data, c->len, &it.d, &st) != PK_OK)
		it.d.kind = PK_KIND_NONE;
	fi->it[fi->n++] = it;
	return 0;
}

static int by_folder_name(const void *a, const void *b)
{
	const struct pk_item *x = a, *y = b;

	if (x->folder != y->folder)
		return x->folder < y->folder ? -1 : 1;
	return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

/* Is every option of the list a fleet option (etcd...=)? */
static int only_fleet_opts(const char *opts)
{
	for (const char *p = opts; *p; p += strcspn(p, ","), p += *p == ',')
		if (strncmp(p, "etcd", 4))
			return 0;
	return 1;
}

/* `list -o etcd=...`: the fleet's lists from etcd, no store. */
static int walk_fleet(const char *opts, uint64_t mask, struct table *t)
{
	struct mount_opts o = {0};
	struct fleet_items fi = {.mask = mask};
	char why[400];
	uint64_t rev = 0;
	int rc = only_fleet_opts(opts) && mount_parse_opts(&o, opts) == 0 && o.fleet.endpoints
			 ? 0
			 : 2;

	if (rc)
		fprintf(stderr, "pkifs: list -o takes the fleet's options: etcd=URL|URL...\n");
	if (!rc && fleet_each_file(&o.fleet, keep_fleet_file, &fi, &rev, why, sizeof(why)) != 0)
		rc = (fprintf(stderr, "pkifs: the fleet's etcd: %s\n", why), 2);
	if (fi.n)
		qsort(fi.it, fi.n, sizeof(*fi.it), by_folder_name);
	if (!rc && t->json)
		printf("[");
	for (size_t i = 0; i < fi.n; i++) {
		if (!rc)
			add_item(t, &fi.it[i]);
		free((char *)fi.it[i].name);
	}
	if (!rc && t->json)
		printf("%s]\n", t->first ? "" : "\n");
	else if (!rc)
		print_table(t);
	if (!rc && !t->json)
		fprintf(stderr, "pkifs: %zu file(s) in the fleet under %s at etcd revision %llu\n",
			fi.n, o.fleet.prefix ? o.fleet.prefix : "/pkifs", (unsigned long long)rev);
	free(fi.it);
	mount_free_opts(&o);
	return rc;
}

/* Take "-o OPTS" out of argv (into *opts): the fleet's, for list only. */
static int take_opts(int *argc, char **argv, const char **opts)
{
	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "-o"))
			continue;
		if (i + 1 >= *argc)
			return -1;
		*opts = argv[i + 1];
		memmove(argv + i, argv + i + 2, (size_t)(*argc - i - 1) * sizeof(*argv));
		*argc -= 2;
		i--;
	}
	return 0;
}

int cmd_list(int argc, char **argv)
{
	struct cli_args a;
	struct table t = {.within = -1, .first = 1};
	uint64_t mask = 0;
	const char *opts = NULL;
	int rc = take_opts(&argc, argv, &opts) ? (fprintf(stderr, "%s", usage_list), 2) : 0;

	if (!rc && opts)
		rc = cli_parse_nostore(argc, argv, usage_list, &a);
	else if (!rc)
		rc = cli_parse(argc, argv, usage_list, &a);

	if (rc)
		return rc == 1 ? 0 : rc;
	for (int i = 0; i < a.n_rest; i++) {
		uint64_t m = folder_mask(a.rest[i]);
		if (!m)
			return fprintf(stderr, "pkifs: no folder %s in the tree\n", a.rest[i]),
			       2;
		mask |= m;
	}
	if (!mask)
		mask = group_mask(PK_G_ALL);
	mask &= group_mask(a.group);
	if (!mask)
		return fprintf(stderr, "pkifs: those folders are not in group %s\n",
			       pk_group_name((enum pk_group)a.group)),
		       2;
	t.json = a.json;
	return opts ? walk_fleet(opts, mask, &t) : walk(a.db, mask, &t);
}

int cmd_expiring(int argc, char **argv)
{
	struct cli_args a;
	struct table t = {.first = 1};
	uint64_t mask = 0;
	int rc = cli_parse(argc, argv, usage_expiring, &a);

	if (rc)
		return rc == 1 ? 0 : rc;
	if (a.n_rest)
		return fprintf(stderr, "%s", usage_expiring), 2;
	for (int f = 0; f < PK_F_COUNT; f++)
		if (pk_folder_role(f) != PK_F_REJECTED && pk_folder_role(f) != PK_F_OWN_PRIVATE)
			mask |= 1ull << f;
	t.json = a.json;
	t.within = a.within;
	rc = walk(a.db, mask, &t);
	if (rc)
		return rc;
	return t.json ? !t.first : t.n > 0;
}

/* Is text a SHA-1 or SHA-256 thumbprint in hex? */
static int is_thumb(const char *text)
{
	size_t n = strspn(text, "0123456789abcdefABCDEF");

	return !text[n] && (n == 40 || n == 64);
}

/* Split "issuer/certs/x.der" (relative to the tree, any spelling) into
 * folder and name: 0, or -1 when it names no file. */
static int split_path(const char *rel, enum pk_folder *f, const char **name)
{
	return pk_folder_resolve(rel, f, name) == 0 && **name ? 0 : -1;
}

/* One "held in" line: live, or in a snapshot. */
static void print_holder(void *ctx, const char *snapshot, enum pk_folder f, const char *name)
{
	const char *dir = pk_folder_info(f)->path;

	printf("%-15s ", *(int *)ctx ? "held in:" : "");
	if (snapshot) {
		printf("snapshot/");
		pk_text_put(stdout, snapshot);
		putchar('/');
	}
	printf("%s%s", dir, *dir ? "/" : "");
	pk_text_put(stdout, name);
	putchar('\n');
	*(int *)ctx = 0;
}

/* One history line from the audit log. */
static void print_event(void *ctx, const struct pk_event *ev)
{
	time_t sec = (time_t)(ev->time_ns / 1000000000);
	char when[32];
	struct tm tm;

	(void)ctx;
	gmtime_r(&sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("  %s %-8s ", when, ev->op);
	pk_text_put(stdout, ev->path ? ev->path : "-");
	if (ev->path2) {
		printf(" -> ");
		pk_text_put(stdout, ev->path2);
	}
	printf(" uid=%lld cmd=", ev->uid);
	pk_text_put(stdout, ev->comm ? ev->comm : "-");
	printf(" %s%s", ev->outcome, ev->reason ? ": " : "");
	pk_text_put(stdout, ev->reason ? ev->reason : "");
	putchar('\n');
}

/* The details of one item, a line each. */
static void print_details(const struct pk_item *it)
{
	const struct pk_details *d = &it->d;
	char path[600], b1[32], b2[32];

	item_path(it, path, sizeof(path));
	printf("%-15s ", "path:");
	pk_text_put(stdout, path);
	printf("\n%-15s %s\n", "kind:", pk_details_kind(d));
	if (d->subject[0])
		printf("%-15s %s\n", "subject:", d->subject);
	if (d->issuer[0])
		printf("%-15s %s\n", "issuer:", d->issuer);
	if (d->serial[0])
		printf("%-15s %s\n", "serial:", d->serial);
	if (d->not_before || d->not_after)
		printf("%-15s %s\n%-15s %s (%ld days)\n",
		       d->kind == PK_KIND_CRL ? "this update:" : "not before:",
		       date(d->not_before, 1, b1, sizeof(b1)),
		       d->kind == PK_KIND_CRL ? "next update:" : "not after:",
		       date(d->not_after, 1, b2, sizeof(b2)), days_left(d->not_after));
	if (d->kind == PK_KIND_CRL)
		printf("%-15s %d\n", "revoked:", d->revoked_count);
	if (d->sans[0])
		printf("%-15s %s\n", "alt names:", d->sans);
	if (d->key_usage[0])
		printf("%-15s %s\n", "key usage:", d->key_usage);
	if (d->ext_key_usage[0])
		printf("%-15s %s\n", "ext key usage:", d->ext_key_usage);
	if (d->kind == PK_KIND_CERT)
		printf("%-15s %s\n", "CA:", d->is_ca ? "yes" : "no");
	if (d->path_len >= 0)
		printf("%-15s %d\n", "path length:", d->path_len);
	if (d->sig_alg[0])
		printf("%-15s %s\n", "signature:", d->sig_alg);
	if (d->key_type[0])
		printf("%-15s %s %d bits\n", "key:", d->key_type, d->key_bits);
	if (d->encrypted)
		printf("%-15s %s\n", "key:", "encrypted (needs a password)");
	if (d->sha1[0])
		printf("%-15s %s\n%-15s %s\n", "sha1:", d->sha1, "sha256:", d->sha256);
}

/* Find what arg names in the store at db; 0, 1 not found, 2 error. */
static int find_item(struct pk_store *s, const struct cli_args *a, struct pk_item *it,
		     char *buf)
{
	const char *arg = a->rest[0], *name;

	enum pk_folder f;
	enum pk_err e;

	if (is_thumb(arg)) {
		e = pk_inventory_find(s, arg, it, buf, 256);
	} else {
		if (split_path(arg, &f, &name) != 0)
			return fprintf(stderr, "pkifs: %s names no file of the tree\n",
				       a->rest[0]),
			       1;
		e = pk_inventory_get(s, f, name, it, buf, 256);
	}
	if (e == PK_E_NOENT)
		fprintf(stderr, "pkifs: no certificate, CRL or key %s in the store\n",
			a->rest[0]);
	return e == PK_OK ? 0 : e == PK_E_NOENT ? 1 : 2;
}

/* The chain the store builds for a certificate and its revocation status,
 * as `pkifs verify` finds them. */
static void print_validation(struct pk_store *s, const struct pk_item *it)
{
	struct pk_verify_opts o = {PK_AS_ANY, 0, pk_folder_group(it->folder)};
	struct pk_verify_result r = {0};
	struct pk_status st = {0};
	struct pk_attr a;
	void *data = NULL;
	size_t len = 0;
	static const char *const words[] = {"-", "ok", "FAIL", "unknown"};

	if (pk_store_read(s, it->folder, it->name, &data, &len, &a) == PK_OK &&
	    pk_verify(s, data, len, &o, &r, &st) == PK_OK) {
		printf("%-15s %s\n", "chain:", r.chain[0] ? r.chain : "-");
		printf("%-15s %s: %s\n", "revocation:", words[r.step[PK_VS_REVOCATION].verdict],
		       r.step[PK_VS_REVOCATION].why);
		printf("%-15s %s (pkifs verify tells why)\n",
		       "would pass:", r.accepted ? "yes" : "no");
	}
	free(data);
}

int cmd_show(int argc, char **argv)
{
	struct cli_args a;
	struct pk_item it;
	char name[256];
	struct pk_store *s;
	int first = 1, rc = cli_parse(argc, argv, usage_show, &a);

	if (rc)
		return rc == 1 ? 0 : rc;
	if (a.n_rest != 1)
		return fprintf(stderr, "%s", usage_show), 2;
	s = cli_open_ro(a.db);
	if (!s)
		return 2;
	rc = find_item(s, &a, &it, name);
	if (rc == 0 && a.json) {
		char path[600];
		item_path(&it, path, sizeof(path));
		json_item(&it, path);
		printf("\n");
	} else if (rc == 0) {
		print_details(&it);
		if (it.d.kind == PK_KIND_CERT)
			print_validation(s, &it);
		if (it.d.sha1[0] &&
		    pk_inventory_holders(s, it.d.sha1, print_holder, &first) == PK_OK)
			printf("history:\n");
		if (it.d.sha1[0])
			pk_inventory_history(s, it.d.sha1, print_event, NULL);
	}
	pk_store_close(s);
	return rc;
}
