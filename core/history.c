/*
 * history.c: restoring a snapshot, pruning old history, backing up.
 *
 * Restore keeps the rows that are the same now as at the snapshot (same
 * row: nothing happened to them since), ends every other live row, and
 * brings back the rows the snapshot shows that are dead now, all in one
 * transaction with one audit row. Prune deletes rows that died before the
 * retention cut-off and that no snapshot shows, a bounded number per
 * transaction, then the blobs no row uses any more. Printing the audit log
 * is here too: every text in it is printed escaped (see audit.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit_int.h"
#include "pkifs/snapshot.h"
#include "store_int.h"

/* Run sql with ?1 = a and ?2 = b (either may be unused). */
static int exec2(struct pk_store *s, const char *sql, int64_t a, int64_t b)
{
	sqlite3_stmt *q = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);

	if (rc != SQLITE_OK)
		return rc;
	if (sqlite3_bind_parameter_count(q) >= 1)
		sqlite3_bind_int64(q, 1, a);
	if (sqlite3_bind_parameter_count(q) >= 2)
		sqlite3_bind_int64(q, 2, b);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Live rows that the snapshot (generation g) does not show. */
#define NOT_IN_SNAPSHOT " died IS NULL AND NOT (born <= ?1)"

/* End the live rows that differ from snapshot gen g, noting their names. */
static int end_changed(struct pk_store *s, uint64_t g)
{
	sqlite3_stmt *q = NULL;
	int rc = sqlite3_prepare_v2(
		s->db, "SELECT folder, name FROM entry WHERE" NOT_IN_SNAPSHOT, -1, &q, NULL);

	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)g);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		pk_note_changed(s, sqlite3_column_int(q, 0),
				(const char *)sqlite3_column_text(q, 1));
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return rc;
	return exec2(s, "UPDATE entry SET died = ?2 WHERE" NOT_IN_SNAPSHOT, (int64_t)g,
		     (int64_t)s->gen);
}

/* Bring back, as new rows, what snapshot gen g shows and is dead now. */
static int revive(struct pk_store *s, uint64_t g)
{
	return exec2(s,
		     "INSERT INTO entry(ino, folder, name, blob, size, mode, uid, gid, mtime,"
		     " ctime, born) SELECT ino, folder, name, blob, size, mode, uid, gid,"
		     " mtime, ctime, ?2 FROM entry WHERE born <= ?1 AND died IS NOT NULL"
		     " AND died > ?1 AND died < ?2",
		     (int64_t)g, (int64_t)s->gen);
}

/* The folders' attributes as the snapshot recorded them. */
static int restore_dirs(struct pk_store *s, const char *name)
{
	sqlite3_stmt *q = NULL;
	int rc = sqlite3_prepare_v2(
		s->db,
		"UPDATE dir SET (mode, uid, gid, mtime, ctime) = (SELECT mode,"
		" uid, gid, mtime, ctime FROM snapshot_dir d WHERE d.snapshot = ?1"
		" AND d.folder = dir.folder) WHERE folder IN (SELECT folder FROM"
		" snapshot_dir WHERE snapshot = ?1)",
		-1, &q, NULL);

	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Folders whose content the restore changed get a new mtime, as any change
 * gives them: watchers (UA-.NET, node-opcua's polling) rescan when it moves
 * forward, and would miss a restore that set it back. */
static int touch_changed_dirs(struct pk_store *s)
{
	return exec2(s,
		     "UPDATE dir SET mtime = ?2, ctime = ?2 WHERE folder IN"
		     " (SELECT folder FROM entry WHERE born = ?1 OR died = ?1)",
		     (int64_t)s->gen, pk_now_ns());
}

struct restore {
	const struct pk_caller *c;
	struct pk_snapshot snap;
};

static enum pk_err restore_body(struct pk_store *s, void *ctx, struct pk_status *st)
{
	struct restore *x = ctx;
	char note[320];
	struct pk_audit_rec r = {"restore", PK_F_NONE, NULL,  PK_F_NONE, NULL,
				 NULL,	    x->c,      PK_OK, note,	 0};
	int rc = end_changed(s, x->snap.gen);

	if (rc == SQLITE_OK)
		rc = revive(s, x->snap.gen);
	if (rc == SQLITE_OK)
		rc = restore_dirs(s, x->snap.name);
	if (rc == SQLITE_OK)
		rc = touch_changed_dirs(s);
	if (rc != SQLITE_OK)
		return pk_sql_fail(s, rc, st);
	snprintf(note, sizeof(note),
		 "live tree restored from snapshot %.200s (generation %llu)", x->snap.name,
		 (unsigned long long)x->snap.gen);
	return pk_audit_append(s, &r);
}

enum pk_err pk_snapshot_restore(struct pk_store *s, const struct pk_caller *c, const char *name,
				struct pk_status *st)
{
	struct restore x = {.c = c};

	if (pk_snapshot_get(s, name, &x.snap) != PK_OK)
		return pk_fail(st, PK_E_NOENT, "no snapshot %s", name);
	return pk_audit_run(s, restore_body, &x, st);
}

/* One bounded prune step inside a transaction; *deleted gets the count. */
static int prune_step(struct pk_store *s, int64_t cutoff_ns, unsigned max_rows,
		      unsigned *deleted)
{
	int rc = exec2(s,
		       "DELETE FROM entry WHERE id IN (SELECT e.id FROM entry e WHERE"
		       " e.died IS NOT NULL AND e.died <= (SELECT max(gen) FROM audit"
		       " WHERE time < ?1) AND NOT EXISTS (SELECT 1 FROM snapshot p WHERE"
		       " e.born <= p.gen AND e.died > p.gen) LIMIT ?2)",
		       cutoff_ns, max_rows);

	if (rc != SQLITE_OK)
		return rc;
	*deleted = (unsigned)sqlite3_changes(s->db);
	return exec2(s,
		     "DELETE FROM blob WHERE id IN (SELECT b.id FROM blob b WHERE NOT EXISTS"
		     " (SELECT 1 FROM entry e WHERE e.blob = b.id) LIMIT ?1)",
		     max_rows, 0);
}

enum pk_err pk_history_prune(struct pk_store *s, int64_t retention_ns, unsigned max_rows,
			     unsigned *deleted)
{
	enum pk_err e;
	int rc;

	*deleted = 0;
	pthread_mutex_lock(&s->lock);
	/* a plain transaction: pruning changes no tree, so no generation */
	rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc == SQLITE_OK) {
		rc = prune_step(s, pk_now_ns() - retention_ns, max_rows, deleted);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	}
	e = rc == SQLITE_OK ? PK_OK : pk_sql_fail(s, rc, NULL);
	pthread_mutex_unlock(&s->lock);
	return e;
}

/* Copy the pages a step at a time, reporting how many are done. */
static int backup_pages(sqlite3_backup *b, const struct pk_progress *p)
{
	int rc;

	do {
		rc = sqlite3_backup_step(b, 256);
		pk_progress_report(
			p, "backup",
			(uint64_t)(sqlite3_backup_pagecount(b) - sqlite3_backup_remaining(b)),
			(uint64_t)sqlite3_backup_pagecount(b));
	} while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
	return rc;
}

enum pk_err pk_store_backup(struct pk_store *s, const char *path, const struct pk_progress *p,
			    struct pk_status *st)
{
	sqlite3 *out = NULL;
	sqlite3_backup *b;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int rc;

	if (fd < 0)
		return pk_fail(st, errno == EEXIST ? PK_E_EXISTS : PK_E_IO,
			       "cannot create %s: %s", path, strerror(errno));
	close(fd);
	rc = sqlite3_open(path, &out);
	pthread_mutex_lock(&s->lock);
	b = rc == SQLITE_OK ? sqlite3_backup_init(out, "main", s->db, "main") : NULL;
	if (b) {
		/* one read transaction on the source: the steps copy one
		 * snapshot while a daemon goes on writing (WAL) */
		sqlite3_exec(s->db, "BEGIN; SELECT count(*) FROM sqlite_master", NULL, NULL,
			     NULL);
		rc = backup_pages(b, p);
		sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
		sqlite3_backup_finish(b);
	} else {
		rc = SQLITE_ERROR;
	}
	pthread_mutex_unlock(&s->lock);
	if (rc == SQLITE_DONE)
		rc = sqlite3_exec(out, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
	sqlite3_close(out);
	if (rc != SQLITE_OK) {
		unlink(path);
		return pk_fail(st, PK_E_IO, "backup to %s failed: %s", path,
			       sqlite3_errstr(rc));
	}
	return PK_OK;
}

/* The code point of the UTF-8 sequence at s and its length; 0 when s does
 * not start a valid one (a stray or missing continuation byte, an overlong
 * form, a surrogate, past U+10FFFF). */
static size_t utf8_seq(const unsigned char *s, uint32_t *cp)
{
	static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
	size_t n = s[0] < 0x80		   ? 1
		   : (s[0] & 0xe0) == 0xc0 ? 2
		   : (s[0] & 0xf0) == 0xe0 ? 3
		   : (s[0] & 0xf8) == 0xf0 ? 4
					   : 0;
	uint32_t c = n == 1 ? s[0] : s[0] & (0x7f >> n);

	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (n == 0 || c < min[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Is code point c one a terminal would not show as itself: a C0 or C1
 * control, DEL, a line or paragraph separator, or a bidirectional
 * embedding, override or isolate (which reorder the text after them)? */
static int hidden(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029 ||
	       (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

const char *pk_text_unsafe(const char *s, uint32_t *what, int *is_byte)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		uint32_t c;
		size_t n = utf8_seq(p, &c);

		if (n == 0 || hidden(c)) {
			*is_byte = n == 0 || c < 0x80;
			*what = n == 0 ? *p : c;
			return (const char *)p;
		}
		p += n;
	}
	return NULL;
}

/* Write s with what pk_text_unsafe finds escaped, and '\' doubled. */
void pk_text_put(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		uint32_t c;
		size_t n = utf8_seq(p, &c);

		if (n == 0 || (n == 1 && hidden(c)))
			fprintf(out, "\\x%02x", *p), n = 1;
		else if (hidden(c))
			fprintf(out, "\\u%04x", (unsigned)c);
		else if (c == '\\')
			fputs("\\\\", out);
		else
			fwrite(p, 1, n, out);
		p += n;
	}
}

/* A text column of the log, escaped; "-" for none. */
static void put_col(FILE *out, sqlite3_stmt *q, int col)
{
	const char *t = (const char *)sqlite3_column_text(q, col);

	pk_text_put(out, t ? t : "-");
}

/* One log line: time, op, paths, thumbprint, caller, outcome, reason. Every
 * text comes from the database as it was stored (a name, a process's
 * command, a certificate's subject) and is printed escaped. */
static void print_row(FILE *out, sqlite3_stmt *q)
{
	int64_t t = sqlite3_column_int64(q, 0);
	time_t sec = (time_t)(t / 1000000000);
	struct tm tm;
	char when[32];
	int err = sqlite3_column_int(q, 10), w;

	gmtime_r(&sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(out, "%s.%03dZ gen=%lld ", when, (int)(t / 1000000 % 1000),
		(long long)sqlite3_column_int64(q, 1));
	put_col(out, q, 2);
	w = sqlite3_column_bytes(q, 2);
	fprintf(out, "%*s", w < 8 ? 9 - w : 1, ""); /* the op column: 8 wide */
	put_col(out, q, 3);
	if (sqlite3_column_type(q, 4) != SQLITE_NULL)
		fputs(" -> ", out), put_col(out, q, 4);
	if (sqlite3_column_type(q, 5) != SQLITE_NULL)
		fputs(" sha1=", out), put_col(out, q, 5);
	fprintf(out, " uid=%lld pid=%lld cmd=", (long long)sqlite3_column_int64(q, 6),
		(long long)sqlite3_column_int64(q, 7));
	put_col(out, q, 8);
	fputc(' ', out);
	put_col(out, q, 9);
	if (err)
		fprintf(out, " (%s)", strerrorname_np(err) ? strerrorname_np(err) : "?");
	if (sqlite3_column_type(q, 11) != SQLITE_NULL)
		fputs(": ", out), put_col(out, q, 11);
	fputc('\n', out);
}

enum pk_err pk_audit_print(struct pk_store *s, FILE *out, long n)
{
	struct pk_audit_filter all = {0};

	return pk_audit_print_filtered(s, out, n, &all, NULL);
}

/* Bind the filter's values to the query's parameters ?2 to ?5. */
static void bind_filter(sqlite3_stmt *q, const struct pk_audit_filter *f)
{
	sqlite3_bind_int64(q, 2, f->after_id);
	sqlite3_bind_int64(q, 3, f->since_ns);
	if (f->op)
		sqlite3_bind_text(q, 4, f->op, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(q, 5, f->refused);
}

enum pk_err pk_audit_print_filtered(struct pk_store *s, FILE *out, long n,
				    const struct pk_audit_filter *f, int64_t *last_id)
{
	static const char sql[] =
		"SELECT time, gen, op, path, path2, thumb, uid, pid, comm, outcome,"
		" errno, reason, id FROM (SELECT * FROM audit WHERE id > ?2 AND time >= ?3"
		" AND (?4 IS NULL OR op = ?4) AND (?5 = 0 OR outcome = 'refused')"
		" ORDER BY id DESC LIMIT ?1) ORDER BY id";
	sqlite3_stmt *q;
	int rc;

	pthread_mutex_lock(&s->lock);
	rc = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(q, 1, n > 0 ? n : -1);
		bind_filter(q, f);
		while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
			if (f->json)
				pk_audit_print_json(out, q);
			else
				print_row(out, q);
			if (last_id)
				*last_id = sqlite3_column_int64(q, 12);
		}
		sqlite3_finalize(q);
	}
	pthread_mutex_unlock(&s->lock);
	return rc == SQLITE_DONE ? PK_OK : pk_sql_fail(s, rc, NULL);
}
