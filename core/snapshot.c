/*
 * snapshot.c: named generations and the tree as it was at one.
 *
 * A row is visible at generation g when born <= g and it was not dead by
 * then (died IS NULL or died > g). Taking a snapshot writes one row and a
 * copy of the eleven folder rows: its cost does not grow with the store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_int.h"
#include "entry.h"
#include "pkifs/snapshot.h"
#include "store_int.h"

/* Prepare sql (finalized by the caller); NULL on error. */
static sqlite3_stmt *prep(struct pk_store *s, const char *sql)
{
	sqlite3_stmt *q = NULL;

	if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
		return NULL;
	return q;
}

/* Snapshot names: 1..200 bytes, no '/', no leading '.', no control bytes. */
static enum pk_err check_name(const char *name, struct pk_status *st)
{
	size_t len = strlen(name);

	if (len == 0 || len > 200)
		return pk_fail(st, len ? PK_E_NAMELEN : PK_E_NAME,
			       "snapshot names have 1 to 200 bytes");
	if (name[0] == '.' || strchr(name, '/'))
		return pk_fail(st, PK_E_NAME,
			       "snapshot names cannot start with '.' or hold '/'");
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return pk_fail(st, PK_E_NAME,
				       "snapshot names cannot hold control characters");
	return PK_OK;
}

/* The generation current at time at_ns (from the audit log). */
static enum pk_err gen_at(struct pk_store *s, int64_t at_ns, uint64_t *gen,
			  struct pk_status *st)
{
	sqlite3_stmt *q = prep(s, "SELECT max(gen), min(time) FROM audit WHERE time <= ?1");
	enum pk_err e = PK_OK;

	if (!q)
		return pk_sql_fail(s, sqlite3_errcode(s->db), st);
	sqlite3_bind_int64(q, 1, at_ns);
	if (sqlite3_step(q) != SQLITE_ROW || sqlite3_column_type(q, 0) == SQLITE_NULL)
		e = pk_fail(st, PK_E_NOENT, "that time is before the store's recorded history");
	else
		*gen = (uint64_t)sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	if (e == PK_OK && at_ns > pk_now_ns())
		e = pk_fail(st, PK_E_NOENT, "that time is in the future");
	return e;
}

/* Write the snapshot row and its folder rows. */
static enum pk_err insert_snapshot(struct pk_store *s, const char *name, uint64_t gen,
				   int64_t time_ns, struct pk_status *st)
{
	sqlite3_stmt *q = prep(s, "INSERT INTO snapshot(name, gen, time) VALUES(?1, ?2, ?3)");
	int rc = SQLITE_ERROR;

	if (q) {
		sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, (sqlite3_int64)gen);
		sqlite3_bind_int64(q, 3, time_ns);
		rc = sqlite3_step(q);
		sqlite3_finalize(q);
	}
	if (rc == SQLITE_CONSTRAINT)
		return pk_fail(st, PK_E_EXISTS, "snapshot %s exists", name);
	if (rc != SQLITE_DONE)
		return pk_sql_fail(s, rc, st);
	q = prep(s, "INSERT INTO snapshot_dir SELECT ?1, folder, mode, uid, gid, mtime, ctime"
		    " FROM dir");
	rc = SQLITE_ERROR;
	if (q) {
		sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
		rc = sqlite3_step(q);
		sqlite3_finalize(q);
	}
	return rc == SQLITE_DONE ? PK_OK : pk_sql_fail(s, rc, st);
}

/* Append an audit row naming the snapshot, in the running transaction. */
static enum pk_err audit(struct pk_store *s, const struct pk_caller *c, const char *op,
			 const char *name, enum pk_err err, const char *reason)
{
	char note[300];
	struct pk_audit_rec r = {op, PK_F_NONE, NULL, PK_F_NONE, NULL, NULL, c, err, note, 0};

	snprintf(note, sizeof(note), "snapshot %s%s%s", name, reason ? ": " : "",
		 reason ? reason : "");
	return pk_audit_append(s, &r);
}

/* What a snapshot change needs inside its transaction. */
struct snap_change {
	const struct pk_caller *c;
	const char *name;
	int64_t at_ns;
};

/* Take the snapshot: the last committed generation, or the one at at_ns. */
static enum pk_err create_body(struct pk_store *s, void *ctx, struct pk_status *st)
{
	struct snap_change *x = ctx;
	uint64_t gen = s->gen - 1; /* the last committed tree */
	enum pk_err e = x->at_ns ? gen_at(s, x->at_ns, &gen, st) : PK_OK;

	if (e == PK_OK)
		e = insert_snapshot(s, x->name, gen, x->at_ns ? x->at_ns : pk_now_ns(), st);
	if (e == PK_OK)
		e = audit(s, x->c, "snapshot", x->name, PK_OK, NULL);
	return e;
}

enum pk_err pk_snapshot_create(struct pk_store *s, const struct pk_caller *c, const char *name,
			       int64_t at_ns, struct pk_status *st)
{
	struct snap_change x = {c, name, at_ns};
	enum pk_err e = check_name(name, st);

	return e == PK_OK ? pk_audit_run(s, create_body, &x, st) : e;
}

/* Run one statement about snapshot name; the number of rows it changed. */
static int by_name(struct pk_store *s, const char *sql, const char *name, int *rc)
{
	sqlite3_stmt *q = prep(s, sql);

	*rc = SQLITE_ERROR;
	if (!q)
		return 0;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	*rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return sqlite3_changes(s->db);
}

static enum pk_err delete_body(struct pk_store *s, void *ctx, struct pk_status *st)
{
	struct snap_change *x = ctx;
	int rc, n = by_name(s, "DELETE FROM snapshot WHERE name = ?1", x->name, &rc);

	if (rc != SQLITE_DONE)
		return pk_sql_fail(s, rc, st);
	if (n == 0)
		return pk_fail(st, PK_E_NOENT, "no snapshot %s", x->name);
	by_name(s, "DELETE FROM snapshot_dir WHERE snapshot = ?1", x->name, &rc);
	if (rc != SQLITE_DONE)
		return pk_sql_fail(s, rc, st);
	return audit(s, x->c, "unsnapshot", x->name, PK_OK, NULL);
}

enum pk_err pk_snapshot_delete(struct pk_store *s, const struct pk_caller *c, const char *name,
			       struct pk_status *st)
{
	struct snap_change x = {c, name, 0};

	return pk_audit_run(s, delete_body, &x, st);
}

enum pk_err pk_snapshot_get(struct pk_store *s, const char *name, struct pk_snapshot *out)
{
	sqlite3_stmt *q;
	enum pk_err e = PK_E_NOENT;

	pthread_mutex_lock(&s->lock);
	q = pk_stmt(s, Q_SNAP_GET);
	if (q) {
		sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW) {
			snprintf(out->name, sizeof(out->name), "%s", name);
			out->gen = (uint64_t)sqlite3_column_int64(q, 0);
			out->time_ns = sqlite3_column_int64(q, 1);
			e = PK_OK;
		}
		sqlite3_reset(q);
	}
	pthread_mutex_unlock(&s->lock);
	return e;
}

enum pk_err pk_snapshot_list(struct pk_store *s, pk_snapshot_fn fn, void *ctx)
{
	struct pk_snapshot *all = NULL, snap;
	size_t n = 0, cap = 0;
	sqlite3_stmt *q;
	enum pk_err e = PK_OK;

	/* collect first: fn may call back into the store */
	pthread_mutex_lock(&s->lock);
	q = prep(s, "SELECT name, gen, time FROM snapshot ORDER BY name");
	while (q && sqlite3_step(q) == SQLITE_ROW) {
		if (n == cap) {
			struct pk_snapshot *more =
				realloc(all, (cap = cap ? cap * 2 : 16) * sizeof(*all));
			if (!more) {
				e = PK_E_NOMEM;
				break;
			}
			all = more;
		}
		snprintf(snap.name, sizeof(snap.name), "%s", sqlite3_column_text(q, 0));
		snap.gen = (uint64_t)sqlite3_column_int64(q, 1);
		snap.time_ns = sqlite3_column_int64(q, 2);
		all[n++] = snap;
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; e == PK_OK && i < n; i++)
		if (fn(ctx, &all[i]))
			break;
	free(all);
	return e;
}

enum pk_err pk_snapshot_read(struct pk_store *s, const struct pk_snapshot *snap,
			     enum pk_folder f, const char *name, void **data, size_t *len,
			     struct pk_attr *a)
{
	sqlite3_stmt *q;
	enum pk_err e = PK_E_NOENT;

	pthread_mutex_lock(&s->lock);
	q = pk_stmt(s, Q_SNAP_ENTRY);
	if (q) {
		sqlite3_bind_int(q, 1, f);
		sqlite3_bind_int64(q, 2, (sqlite3_int64)snap->gen);
		sqlite3_bind_text(q, 3, name, -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW) {
			int64_t blob = sqlite3_column_int64(q, 7);
			e = PK_OK;
			if (a)
				pk_row_attr(q, 0, a);
			if (data) {
				sqlite3_reset(q);
				e = blob_data(s, blob, data, len);
			}
		}
		sqlite3_reset(q);
	}
	pthread_mutex_unlock(&s->lock);
	return e;
}

enum pk_err pk_snapshot_lookup(struct pk_store *s, const struct pk_snapshot *snap,
			       enum pk_folder f, const char *name, struct pk_attr *a)
{
	return pk_snapshot_read(s, snap, f, name, NULL, NULL, a);
}

enum pk_err pk_snapshot_entries(struct pk_store *s, const struct pk_snapshot *snap,
				enum pk_folder f, pk_list_fn fn, void *ctx)
{
	return pk_snapshot_entries_after(s, snap, f, NULL, fn, ctx);
}

enum pk_err pk_snapshot_entries_after(struct pk_store *s, const struct pk_snapshot *snap,
				      enum pk_folder f, const char *after, pk_list_fn fn,
				      void *ctx)
{
	sqlite3_stmt *q;
	struct pk_attr a;
	int rc = SQLITE_ERROR;

	pthread_mutex_lock(&s->lock);
	q = pk_stmt(s, Q_SNAP_ENTRIES);
	if (q) {
		sqlite3_bind_int(q, 1, f);
		sqlite3_bind_int64(q, 2, (sqlite3_int64)snap->gen);
		sqlite3_bind_text(q, 3, after ? after : "", -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
			pk_row_attr(q, 0, &a);
			if (fn(ctx, (const char *)sqlite3_column_text(q, 7), &a))
				break;
		}
		sqlite3_reset(q);
	}
	pthread_mutex_unlock(&s->lock);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? PK_OK : PK_E_IO;
}

enum pk_err pk_snapshot_dir_attr(struct pk_store *s, const struct pk_snapshot *snap,
				 enum pk_folder f, struct pk_attr *a)
{
	sqlite3_stmt *q;
	enum pk_err e = PK_E_NOENT;

	pthread_mutex_lock(&s->lock);
	q = pk_stmt(s, Q_SNAP_DIR);
	if (q) {
		sqlite3_bind_text(q, 1, snap->name, -1, SQLITE_STATIC);
		sqlite3_bind_int(q, 2, f);
		if (sqlite3_step(q) == SQLITE_ROW) {
			pk_row_attr(q, 0, a);
			a->ino = PK_FOLDER_INO(f);
			e = PK_OK;
		}
		sqlite3_reset(q);
	}
	pthread_mutex_unlock(&s->lock);
	return e;
}
