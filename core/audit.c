/*
 * audit.c: appending to and printing the audit log.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit_int.h"

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

/* A refusal kept for a later transaction: the record, its caller and its
 * texts in one block (pk_store_close frees it with free()). */
struct pk_audit_deferred {
	struct pk_audit_rec rec;
	struct pk_caller caller;
	char text[];
};

/* Copy t (NULL stays NULL) to *at, moving *at past it. */
static const char *keep(char **at, const char *t)
{
	size_t n = t ? strlen(t) + 1 : 0;

	if (!t)
		return NULL;
	memcpy(*at, t, n);
	*at += n;
	return *at - n;
}

/* Keep refusal r for the next transaction that commits. */
static void defer(struct pk_store *s, const struct pk_audit_rec *r)
{
	size_t len = 0;
	const char *texts[] = {r->name, r->name2, r->thumb, r->reason};
	struct pk_audit_deferred *d;
	char *at;

	if (s->n_deferred == sizeof(s->deferred) / sizeof(s->deferred[0]))
		return; /* bounded: the oldest ones stay, stderr has the rest */
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		len += texts[i] ? strlen(texts[i]) + 1 : 0;
	d = malloc(sizeof(*d) + len);
	if (!d)
		return;
	at = d->text;
	d->rec = *r;
	d->rec.time_ns = r->time_ns ? r->time_ns : pk_now_ns();
	if (r->caller)
		d->caller = *r->caller;
	d->rec.caller = r->caller ? &d->caller : NULL;
	d->rec.name = keep(&at, r->name);
	d->rec.name2 = keep(&at, r->name2);
	d->rec.thumb = keep(&at, r->thumb);
	d->rec.reason = keep(&at, r->reason);
	s->deferred[s->n_deferred++] = d;
}

/* Write the refusals kept so far into the running transaction. */
static enum pk_err append_deferred(struct pk_store *s)
{
	enum pk_err e = PK_OK;

	for (size_t i = 0; e == PK_OK && i < s->n_deferred; i++)
		e = pk_audit_append(s, &s->deferred[i]->rec);
	return e;
}

/* Forget the kept refusals: a committed transaction holds them now. */
static void deferred_done(struct pk_store *s)
{
	for (size_t i = 0; i < s->n_deferred; i++)
		free(s->deferred[i]);
	s->n_deferred = 0;
}

enum pk_err pk_audit_commit(struct pk_store *s, const struct pk_audit_rec *r,
			    struct pk_status *st)
{
	enum pk_err e = append_deferred(s);

	if (e == PK_OK && r)
		e = pk_audit_append(s, r);
	if (e != PK_OK) {
		e = pk_sql_fail(s, sqlite3_errcode(s->db), st);
		pk_tx_rollback(s);
		return e;
	}
	e = pk_tx_commit(s, st);
	if (e == PK_OK)
		deferred_done(s);
	return e;
}

enum pk_err pk_audit_run(struct pk_store *s, pk_audit_body body, void *ctx,
			 struct pk_status *st)
{
	enum pk_err e;

	pthread_mutex_lock(&s->lock);
	e = pk_tx_begin(s, st);
	if (e == PK_OK) {
		e = body(s, ctx, st);
		if (e == PK_OK)
			e = pk_audit_commit(s, NULL, st);
		else
			pk_tx_rollback(s);
	}
	pthread_mutex_unlock(&s->lock);
	return e;
}

void pk_audit_refusal(struct pk_store *s, const struct pk_audit_rec *r)
{
	if (pk_tx_begin(s, NULL) != PK_OK) {
		defer(s, r);
		return;
	}
	if (append_deferred(s) != PK_OK || pk_audit_append(s, r) != PK_OK ||
	    pk_tx_commit(s, NULL) != PK_OK) {
		pk_tx_rollback(s);
		defer(s, r);
		return;
	}
	deferred_done(s);
}
