/*
 * audit.c: appending to and printing the audit log.
 */
#include <string.h>
#include <time.h>

#include "pkifs/audit.h"
#include "store_int.h"

/* "trusted/certs/NAME" into buf; the root folder gives just NAME. */
static const char *join_path(char *buf, size_t size, enum pk_folder f,
			     const char *name)
{
	const char *dir;

	if (f == PK_F_NONE)
		return NULL;
	dir = pk_folder_info(f)->path;
	snprintf(buf, size, "%s%s%s", dir, *dir && name ? "/" : "", name ? name : "");
	return buf;
}

/* Bind the caller's columns (uid, pid, comm) when there is one. */
static void bind_caller(sqlite3_stmt *q, const struct pk_caller *c)
{
	if (!c)
		return;
	sqlite3_bind_int64(q, 7, c->uid);
	sqlite3_bind_int64(q, 8, c->pid);
	sqlite3_bind_text(q, 9, c->comm, -1, SQLITE_TRANSIENT);
}

enum pk_err pk_audit_append(struct pk_store *s, const struct pk_audit_rec *r)
{
	char p1[512], p2[512];
	sqlite3_stmt *q = pk_stmt(s, Q_AUDIT_INSERT);
	int rc;

	if (!q)
		return pk_sql_fail(s, sqlite3_errcode(s->db), NULL);
	sqlite3_bind_int64(q, 1, pk_now_ns());
	sqlite3_bind_int64(q, 2, (sqlite3_int64)s->gen);
	sqlite3_bind_text(q, 3, r->op, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, join_path(p1, sizeof(p1), r->folder, r->name), -1,
			  SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 5, join_path(p2, sizeof(p2), r->folder2, r->name2), -1,
			  SQLITE_TRANSIENT);
	if (r->thumb && r->thumb[0])
		sqlite3_bind_text(q, 6, r->thumb, -1, SQLITE_TRANSIENT);
	bind_caller(q, r->caller);
	sqlite3_bind_text(q, 10, r->err == PK_OK ? "ok" : "refused", -1, SQLITE_STATIC);
	if (r->err != PK_OK) {
		sqlite3_bind_int(q, 11, pk_err_errno(r->err));
	}
	if (r->reason && r->reason[0])
		sqlite3_bind_text(q, 12, r->reason, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? PK_OK : pk_sql_fail(s, rc, NULL);
}

/* One log line: time, op, paths, thumbprint, caller, outcome, reason. */
static void print_row(FILE *out, sqlite3_stmt *q)
{
	int64_t t = sqlite3_column_int64(q, 0);
	time_t sec = (time_t)(t / 1000000000);
	struct tm tm;
	char when[32];
	const char *path2 = (const char *)sqlite3_column_text(q, 4);
	const char *thumb = (const char *)sqlite3_column_text(q, 5);
	const char *reason = (const char *)sqlite3_column_text(q, 11);
	int err = sqlite3_column_int(q, 10);

	gmtime_r(&sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(out, "%s.%03dZ gen=%lld %-8s %s%s%s", when,
		(int)(t / 1000000 % 1000), (long long)sqlite3_column_int64(q, 1),
		sqlite3_column_text(q, 2), sqlite3_column_text(q, 3),
		path2 ? " -> " : "", path2 ? path2 : "");
	if (thumb)
		fprintf(out, " sha1=%s", thumb);
	fprintf(out, " uid=%lld pid=%lld cmd=%s %s", (long long)sqlite3_column_int64(q, 6),
		(long long)sqlite3_column_int64(q, 7),
		sqlite3_column_text(q, 8) ? (const char *)sqlite3_column_text(q, 8) : "-",
		sqlite3_column_text(q, 9));
	if (err)
		fprintf(out, " (%s)", strerrorname_np(err) ? strerrorname_np(err) : "?");
	if (reason)
		fprintf(out, ": %s", reason);
	fputc('\n', out);
}

enum pk_err pk_audit_print(struct pk_store *s, FILE *out, long n)
{
	static const char sql[] =
		"SELECT time, gen, op, path, path2, thumb, uid, pid, comm, outcome,"
		" errno, reason FROM (SELECT * FROM audit ORDER BY id DESC LIMIT ?1)"
		" ORDER BY id";
	sqlite3_stmt *q;
	int rc;

	pthread_mutex_lock(&s->lock);
	rc = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(q, 1, n > 0 ? n : -1);
		while ((rc = sqlite3_step(q)) == SQLITE_ROW)
			print_row(out, q);
		sqlite3_finalize(q);
	}
	pthread_mutex_unlock(&s->lock);
	return rc == SQLITE_DONE ? PK_OK : pk_sql_fail(s, rc, NULL);
}
