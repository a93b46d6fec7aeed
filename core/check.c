/*
 * check.c: the store's invariants, verified from its rows (see check.h).
 *
 * Each check is one query over the tables and a judgement per row; they run
 * in one read transaction, so a daemon committing meanwhile is seen either
 * wholly or not at all.
 */
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_int.h"
#include "entry.h"
#include "pkifs/check.h"

struct checker {
	struct pk_store *s;
	pk_violation_fn fn;
	void *ctx;
	struct pk_check_counts *n;
	const struct pk_progress *p;
	uint64_t blobs; /* in the store, for progress */
};

void pk_violation_vemit(pk_violation_fn fn, void *ctx, const char *kind, const char *path,
			const char *fmt, va_list ap)
{
	char what[512];
	struct pk_violation v = {kind, path, what};

	vsnprintf(what, sizeof(what), fmt, ap);
	if (fn)
		fn(ctx, &v);
}

/* Report one violation of kind at path (counted); what is printf-style. */
static void report(struct checker *c, const char *kind, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void report(struct checker *c, const char *kind, const char *path, const char *fmt, ...)
{
	va_list ap;

	c->n->violations++;
	va_start(ap, fmt);
	pk_violation_vemit(c->fn, c->ctx, kind, path, fmt, ap);
	va_end(ap);
}

/* "folder/name" of an entry row, with its generations when it is history. */
static const char *entry_path(char *buf, size_t size, int f, const unsigned char *name,
			      int64_t born, int64_t died)
{
	const char *n = name ? (const char *)name : "";
	int len;

	if (f == -1) /* not an entry: a snapshot, a table */
		len = snprintf(buf, size, "%s", n);
	else if (f >= 0 && f < PK_F_COUNT)
		len = snprintf(buf, size, "%s%s%s", pk_folder_info(f)->path, f ? "/" : "", n);
	else
		len = snprintf(buf, size, "folder#%d/%s", f, n);
	if (died > 0 && len > 0 && (size_t)len < size)
		snprintf(buf + len, size - (size_t)len, " (history, generations %lld-%lld)",
			 (long long)born, (long long)died);
	return buf;
}

/* Prepare sql, or report that the check could not run (NULL). */
static sqlite3_stmt *query(struct checker *c, const char *sql)
{
	sqlite3_stmt *q = NULL;

	if (sqlite3_prepare_v2(c->s->db, sql, -1, &q, NULL) != SQLITE_OK) {
		report(c, "unreadable", "-", "cannot run a check: %s",
		       sqlite3_errmsg(c->s->db));
		return NULL;
	}
	return q;
}

/* SQLite's own view of the file: pages, indexes, foreign keys. */
static void check_file(struct checker *c)
{
	sqlite3_stmt *q = query(c, "PRAGMA integrity_check");

	while (q && sqlite3_step(q) == SQLITE_ROW)
		if (strcmp((const char *)sqlite3_column_text(q, 0), "ok") != 0)
			report(c, "integrity", "-", "%s", sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	/* entries naming missing blobs are reported with their paths below */
	q = query(c, "PRAGMA foreign_key_check");
	while (q && sqlite3_step(q) == SQLITE_ROW)
		if (strcmp((const char *)sqlite3_column_text(q, 0), "entry") != 0)
			report(c, "foreign-key", "-", "%s row %lld names a missing %s row",
			       sqlite3_column_text(q, 0), (long long)sqlite3_column_int64(q, 1),
			       sqlite3_column_text(q, 2));
	sqlite3_finalize(q);
}

/* Every entry, live or history, names a blob that exists. */
static void check_missing_blobs(struct checker *c)
{
	sqlite3_stmt *q =
		query(c, "SELECT folder, name, born, coalesce(died, 0), blob FROM entry"
			 " WHERE blob NOT IN (SELECT id FROM blob)");
	char path[512];

	while (q && sqlite3_step(q) == SQLITE_ROW)
		report(c, "missing-blob",
		       entry_path(path, sizeof(path), sqlite3_column_int(q, 0),
				  sqlite3_column_text(q, 1), sqlite3_column_int64(q, 2),
				  sqlite3_column_int64(q, 3)),
		       "its bytes are gone: blob %lld does not exist (pkifs check --repair "
		       "removes it)",
		       (long long)sqlite3_column_int64(q, 4));
	sqlite3_finalize(q);
}

/* The first metadata field in which a and b differ, or NULL. */
static const char *meta_diff(const struct pk_object *a, const struct pk_object *b)
{
	if (a->kind != b->kind)
		return "kind";
	if (strcmp(a->thumb, b->thumb) != 0)
		return "thumbprint";
	if (a->has_pubkey != b->has_pubkey ||
	    (a->has_pubkey && memcmp(a->pubkey_sha256, b->pubkey_sha256, 32) != 0))
		return "public key";
	if (a->kind != PK_KIND_CERT && a->kind != PK_KIND_CRL)
		return a->is_ca != b->is_ca || a->encrypted != b->encrypted ? "flags" : NULL;
	if (a->subject_hash != b->subject_hash || a->issuer_hash != b->issuer_hash)
		return "subject or issuer hash";
	if (a->is_ca != b->is_ca || a->key_cert_sign != b->key_cert_sign ||
	    a->self_signed != b->self_signed || a->encrypted != b->encrypted)
		return "CA flags";
	if (strcmp(a->subject, b->subject) || strcmp(a->issuer, b->issuer) ||
	    strcmp(a->serial, b->serial))
		return "subject, issuer or serial";
	if (a->not_before != b->not_before || a->not_after != b->not_after)
		return "validity";
	return NULL;
}

/* One blob: its bytes hash to its key and parse to its stored metadata. */
static void check_blob(struct checker *c, sqlite3_stmt *q, const char *path)
{
	unsigned char sha[SHA256_DIGEST_LENGTH];
	const void *data = sqlite3_column_blob(q, 2);
	size_t len = (size_t)sqlite3_column_bytes(q, 2);
	struct pk_object stored, parsed;
	struct pk_status st = {0};
	const char *diff;

	SHA256(data ? data : "", len, sha);
	if (sqlite3_column_bytes(q, 1) != (int)sizeof(sha) ||
	    memcmp(sqlite3_column_blob(q, 1), sha, sizeof(sha)) != 0)
		report(c, "hash-mismatch", path, "its %zu bytes do not hash to its SHA-256",
		       len);
	if (blob_meta(c->s, sqlite3_column_int64(q, 0), &stored) != PK_OK)
		return;
	if (pk_object_parse(data, len, &parsed, &st) != PK_OK) {
		if (stored.kind != PK_KIND_NONE)
			report(c, "metadata", path,
			       "stored as %s, but its bytes do not parse: %s",
			       pk_kind_words(stored.kind), st.reason);
		return;
	}
	diff = meta_diff(&stored, &parsed);
	if (diff)
		report(c, "metadata", path, "stored %s differs from what its bytes give", diff);
}

/* Every blob: hashed, parsed, and named by some entry. */
static void check_blobs(struct checker *c)
{
	sqlite3_stmt *q = query(c, "SELECT b.id, b.sha256, b.data, e.folder, e.name, e.born,"
				   " coalesce(e.died, 0) FROM blob b LEFT JOIN entry e"
				   " ON e.id = (SELECT min(id) FROM entry WHERE blob = b.id)");
	char path[512], blob[64];

	while (q && sqlite3_step(q) == SQLITE_ROW) {
		c->n->blobs++;
		pk_progress_report(c->p, "check", c->n->blobs, c->blobs);
		snprintf(blob, sizeof(blob), "blob %lld",
			 (long long)sqlite3_column_int64(q, 0));
		if (sqlite3_column_type(q, 3) == SQLITE_NULL) {
			report(c, "unreferenced-blob", blob, "no entry names it");
			check_blob(c, q, blob);
			continue;
		}
		check_blob(c, q,
			   entry_path(path, sizeof(path), sqlite3_column_int(q, 3),
				      sqlite3_column_text(q, 4), sqlite3_column_int64(q, 5),
				      sqlite3_column_int64(q, 6)));
	}
	sqlite3_finalize(q);
}

/* One live entry against its folder's rules. */
static void check_live_entry(struct checker *c, sqlite3_stmt *q, const char *path)
{
	int f = sqlite3_column_int(q, 0);
	unsigned mode = (unsigned)sqlite3_column_int(q, 2);
	int64_t size = sqlite3_column_int64(q, 3), len = sqlite3_column_int64(q, 5);
	struct pk_object o;
	struct pk_status st = {0};

	if (f < 0 || f >= PK_F_COUNT || pk_folder_info(f)->content == PK_C_NONE) {
		report(c, "folder-rule", path, "no file may live in this folder");
		return;
	}
	if (size != len)
		report(c, "size", path, "claims %lld bytes, holds %lld", (long long)size,
		       (long long)len);
	if (pk_folder_check_mode(f, mode, &st) != PK_OK)
		report(c, "folder-rule", path, "a private key with mode %04o (0600 at most)",
		       mode);
	if (blob_meta(c->s, sqlite3_column_int64(q, 4), &o) == PK_OK &&
	    pk_folder_check(f, &o, &st) != PK_OK)
		report(c, "folder-rule", path, "%s", st.reason);
}

/* Every live entry satisfies its folder's rules. */
static void check_live(struct checker *c)
{
	sqlite3_stmt *q = query(c, "SELECT e.folder, e.name, e.mode, e.size, e.blob,"
				   " length(b.data) FROM entry e JOIN blob b ON b.id = e.blob"
				   " WHERE e.died IS NULL");
	char path[512];

	while (q && sqlite3_step(q) == SQLITE_ROW) {
		c->n->live++;
		check_live_entry(c, q,
				 entry_path(path, sizeof(path), sqlite3_column_int(q, 0),
					    sqlite3_column_text(q, 1), 0, 0));
	}
	sqlite3_finalize(q);
}

/* The cap rejected/ was mounted with (recorded by the daemon), else the default. */
static int64_t rejected_cap(struct pk_store *s)
{
	int64_t cap = pk_query_int(s, "SELECT value FROM setting WHERE key = 'max_rejected'");
	struct pk_limits l;

	pk_limits_default(&l);
	return cap > 0 ? cap : (int64_t)l.max_rejected;
}

/* Each group's rejected folder holds each certificate once, and no more
 * than the cap. */
static void check_rejected_in(struct checker *c, enum pk_folder f, int64_t cap)
{
	const char *path = pk_folder_info(f)->path;
	char sql[320];
	sqlite3_stmt *q;
	int64_t live;

	snprintf(sql, sizeof(sql),
		 "SELECT b.thumb, min(e.name), max(e.name), count(*) FROM entry e JOIN blob b"
		 " ON b.id = e.blob WHERE e.folder = %d AND e.died IS NULL AND b.kind = %d"
		 " GROUP BY b.thumb HAVING count(*) > 1",
		 f, PK_KIND_CERT);
	q = query(c, sql);
	while (q && sqlite3_step(q) == SQLITE_ROW)
		report(c, "rejected-duplicate", path,
		       "certificate sha1 %s is held %lld times (%s ... %s)",
		       sqlite3_column_text(q, 0), (long long)sqlite3_column_int64(q, 3),
		       sqlite3_column_text(q, 1), sqlite3_column_text(q, 2));
	sqlite3_finalize(q);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM entry WHERE folder = %d AND died IS NULL", f);
	live = pk_query_int(c->s, sql);
	if (live > cap)
		report(c, "rejected-over-cap", path, "%lld entries, cap %lld", (long long)live,
		       (long long)cap);
}

static void check_rejected(struct checker *c)
{
	int64_t cap = rejected_cap(c->s);

	for (int g = 0; g < PK_G_COUNT; g++)
		check_rejected_in(c, pk_folder_in_group(g, PK_F_REJECTED), cap);
}

/* Live inode numbers are unique and above the fixed folders' numbers. */
static void check_inodes(struct checker *c)
{
	char sql[256];
	sqlite3_stmt *q;

	snprintf(sql, sizeof(sql),
		 "SELECT ino, count(*), min(name), max(name) FROM entry WHERE died IS NULL"
		 " GROUP BY ino HAVING count(*) > 1 OR ino < %d",
		 PK_FIRST_INO);
	q = query(c, sql);
	while (q && sqlite3_step(q) == SQLITE_ROW)
		report(c, "inode", "-", "inode %lld is held by %lld live entries (%s ... %s)%s",
		       (long long)sqlite3_column_int64(q, 0),
		       (long long)sqlite3_column_int64(q, 1), sqlite3_column_text(q, 2),
		       sqlite3_column_text(q, 3),
		       sqlite3_column_int64(q, 0) < PK_FIRST_INO ? ", a fixed folder's number"
								 : "");
	sqlite3_finalize(q);
}

/* Run a query whose rows are (folder, name, born, died, text): one
 * violation of kind per row. */
static void report_rows(struct checker *c, const char *kind, const char *sql)
{
	sqlite3_stmt *q = query(c, sql);
	char path[512];

	while (q && sqlite3_step(q) == SQLITE_ROW)
		report(c, kind,
		       entry_path(path, sizeof(path), sqlite3_column_int(q, 0),
				  sqlite3_column_text(q, 1), sqlite3_column_int64(q, 2),
				  sqlite3_column_int64(q, 3)),
		       "%s", sqlite3_column_text(q, 4));
	sqlite3_finalize(q);
}

/* Generations: a row dies after it is born, a name's versions do not
 * overlap, snapshots name generations that exist and keep every folder's
 * attributes, every folder has its own row. */
static void check_generations(struct checker *c)
{
	char sql[512];

	report_rows(c, "generation",
		    "SELECT folder, name, born, died, 'dies before it is born' FROM entry"
		    " WHERE died < born");
	report_rows(
		c, "generation",
		"SELECT a.folder, a.name, a.born, coalesce(a.died, 0), 'overlaps version of"
		" generations ' || b.born || '-' || coalesce(b.died, 'now') FROM entry a"
		" JOIN entry b ON b.folder = a.folder AND b.name = a.name AND b.id > a.id"
		" WHERE a.born < coalesce(b.died, 9e18) AND b.born < coalesce(a.died, 9e18)");
	report_rows(c, "snapshot",
		    "SELECT -1, 'snapshot ' || name, 0, 0, 'names generation ' || gen ||"
		    " ', past the last one' FROM snapshot WHERE gen > max("
		    " coalesce((SELECT max(gen) FROM audit), 0),"
		    " coalesce((SELECT max(born) FROM entry), 0),"
		    " coalesce((SELECT max(died) FROM entry), 0))");
	snprintf(
		sql, sizeof(sql),
		"SELECT -1, 'snapshot ' || name, 0, 0, 'keeps the attributes of ' ||"
		" (SELECT count(*) FROM snapshot_dir d WHERE d.snapshot = p.name) ||"
		" ' folders, not %d' FROM snapshot p WHERE (SELECT count(*) FROM snapshot_dir d"
		" WHERE d.snapshot = p.name) <> %d",
		PK_F_COUNT, PK_F_COUNT);
	report_rows(c, "snapshot", sql);
	snprintf(sql, sizeof(sql),
		 "SELECT -1, 'dir', 0, 0, 'folder rows: ' || count(*) || ', not %d' FROM dir"
		 " WHERE folder BETWEEN 0 AND %d HAVING count(*) <> %d",
		 PK_F_COUNT, PK_F_COUNT - 1, PK_F_COUNT);
	report_rows(c, "folder", sql);
}

enum pk_err pk_store_check(struct pk_store *s, pk_violation_fn fn, void *ctx,
			   const struct pk_progress *p, struct pk_check_counts *n,
			   struct pk_status *st)
{
	struct checker c = {s, fn, ctx, n, p, 0};
	int rc;

	memset(n, 0, sizeof(*n));
	pthread_mutex_lock(&s->lock);
	rc = sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL);
	if (rc == SQLITE_OK) {
		n->entries = (uint64_t)pk_query_int(s, "SELECT count(*) FROM entry");
		n->snapshots = (uint64_t)pk_query_int(s, "SELECT count(*) FROM snapshot");
		c.blobs = (uint64_t)pk_query_int(s, "SELECT count(*) FROM blob");
		check_file(&c);
		check_missing_blobs(&c);
		check_blobs(&c);
		check_live(&c);
		check_rejected(&c);
		check_inodes(&c);
		check_generations(&c);
		sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	}
	pthread_mutex_unlock(&s->lock);
	return rc == SQLITE_OK ? PK_OK : pk_sql_fail(s, rc, st);
}

/* Audit the removal of each live entry whose blob is gone, and touch its
 * folder (pollers rescan when its mtime moves). */
static enum pk_err audit_lost(struct pk_store *s, const struct pk_caller *who)
{
	sqlite3_stmt *q = NULL;
	enum pk_err e = PK_OK;
	int rc = sqlite3_prepare_v2(s->db,
				    "SELECT folder, name, blob FROM entry WHERE died IS NULL"
				    " AND blob NOT IN (SELECT id FROM blob)",
				    -1, &q, NULL);

	if (rc != SQLITE_OK)
		return pk_sql_fail(s, rc, NULL);
	while (e == PK_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		int f = sqlite3_column_int(q, 0), known = f >= 0 && f < PK_F_COUNT;
		char why[96];
		struct pk_audit_rec r = {"repair",
					 known ? f : PK_F_ROOT,
					 (const char *)sqlite3_column_text(q, 1),
					 PK_F_NONE,
					 NULL,
					 NULL,
					 who,
					 PK_OK,
					 why,
					 0};
		snprintf(why, sizeof(why),
			 "bytes lost (blob %lld does not exist): entry removed",
			 (long long)sqlite3_column_int64(q, 2));
		e = pk_audit_append(s, &r);
		if (e == PK_OK && known)
			e = dir_touch(s, f);
	}
	sqlite3_finalize(q);
	if (e == PK_OK && rc != SQLITE_DONE)
		e = pk_sql_fail(s, rc, NULL);
	return e;
}

struct repair {
	const struct pk_caller *who;
	unsigned *removed;
};

static enum pk_err repair_body(struct pk_store *s, void *ctx, struct pk_status *st)
{
	struct repair *x = ctx;
	enum pk_err e = audit_lost(s, x->who);
	int rc;

	if (e != PK_OK)
		return pk_sql_fail(s, sqlite3_errcode(s->db), st);
	rc = sqlite3_exec(s->db, "DELETE FROM entry WHERE blob NOT IN (SELECT id FROM blob)",
			  NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return pk_sql_fail(s, rc, st);
	*x->removed = (unsigned)sqlite3_changes(s->db);
	return PK_OK;
}

enum pk_err pk_store_repair(struct pk_store *s, const struct pk_caller *c, unsigned *removed,
			    struct pk_status *st)
{
	struct repair x = {c, removed};

	*removed = 0;
	return pk_audit_run(s, repair_body, &x, st);
}

enum pk_err pk_store_note_limits(struct pk_store *s)
{
	char sql[128];
	int rc;

	snprintf(sql, sizeof(sql), "INSERT OR REPLACE INTO setting VALUES('max_rejected', %u)",
		 s->limits.max_rejected);
	pthread_mutex_lock(&s->lock);
	rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	pthread_mutex_unlock(&s->lock);
	return rc == SQLITE_OK ? PK_OK : pk_sql_fail(s, rc, NULL);
}
