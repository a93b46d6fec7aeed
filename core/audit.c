/*
 * audit.c: appending to and printing the audit log.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pkifs/audit.h"
#include "store_int.h"

/* "trusted/certs/NAME" into buf; the root folder gives just NAME. */
static const char *join_path(char *buf, size_t size, enum pk_folder f, const char *name)
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
	sqlite3_bind_int64(q, 1, r->time_ns ? r->time_ns : pk_now_ns());
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
		sqlite3_bind_int(q, 11,
				 r->folder2 != PK_F_NONE ? pk_err_rename_errno(r->err)
							 : pk_err_errno(r->err));
	}
	if (r->reason && r->reason[0])
		sqlite3_bind_text(q, 12, r->reason, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? PK_OK : pk_sql_fail(s, rc, NULL);
}

static char *dup(const char *s)
{
	return s ? strdup(s) : NULL;
}

void pk_audit_defer(struct pk_store *s, const struct pk_audit_rec *r)
{
	struct deferred *d;

	if (s->n_deferred == sizeof(s->deferred) / sizeof(s->deferred[0]))
		return; /* bounded: the oldest ones stay, stderr has the rest */
	d = &s->deferred[s->n_deferred++];
	d->rec = *r;
	d->rec.time_ns = r->time_ns ? r->time_ns : pk_now_ns();
	if (r->caller)
		d->caller = *r->caller;
	d->rec.caller = &d->caller;
	d->rec.name = d->name = dup(r->name);
	d->rec.name2 = d->name2 = dup(r->name2);
	d->rec.thumb = d->thumb = dup(r->thumb);
	d->rec.reason = d->reason = dup(r->reason);
}

enum pk_err pk_audit_append_deferred(struct pk_store *s)
{
	enum pk_err e = PK_OK;

	for (size_t i = 0; e == PK_OK && i < s->n_deferred; i++)
		e = pk_audit_append(s, &s->deferred[i].rec);
	return e;
}

void pk_audit_deferred_done(struct pk_store *s)
{
	for (size_t i = 0; i < s->n_deferred; i++) {
		free(s->deferred[i].name);
		free(s->deferred[i].name2);
		free(s->deferred[i].thumb);
		free(s->deferred[i].reason);
	}
	s->n_deferred = 0;
}
