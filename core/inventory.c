/*
 * inventory.c: what a store holds, described for operators (inventory.h).
 */
#include <stdio.h>
#include <string.h>

#include "pkifs/inventory.h"
#include "store_int.h"

#define ITEM_COLUMNS                                                                           \
	"SELECT e.folder, e.name, e.ino, e.mode, e.uid, e.gid, e.mtime, e.ctime, e.size,"      \
	" b.data FROM entry e JOIN blob b ON b.id = e.blob"

/* Fill it from a row of ITEM_COLUMNS; 0 when it is no PKI object. */
static int row_item(sqlite3_stmt *q, struct pk_item *it)
{
	struct pk_status st = {0};

	it->folder = sqlite3_column_int(q, 0);
	it->name = (const char *)sqlite3_column_text(q, 1);
	pk_row_attr(q, 2, &it->attr);
	if (pk_describe(sqlite3_column_blob(q, 9), (size_t)sqlite3_column_bytes(q, 9), &it->d,
			&st) != PK_OK)
		return 0;
	return it->d.kind != PK_KIND_NONE && it->d.kind != PK_KIND_EMPTY;
}

enum pk_err pk_inventory(struct pk_store *s, uint64_t mask, pk_item_fn fn, void *ctx)
{
	sqlite3_stmt *q = NULL;
	struct pk_item it;
	int rc, stop = 0;

	pthread_mutex_lock(&s->lock);
	rc = sqlite3_prepare_v2(s->db,
				ITEM_COLUMNS " WHERE e.died IS NULL ORDER BY e.folder, e.name",
				-1, &q, NULL);
	while (q && !stop && (rc = sqlite3_step(q)) == SQLITE_ROW)
		if ((!mask || (mask & (1ull << sqlite3_column_int(q, 0)))) && row_item(q, &it))
			stop = fn(ctx, &it);
	if (rc == SQLITE_ROW)
		rc = SQLITE_DONE;
	sqlite3_finalize(q);
	pthread_mutex_unlock(&s->lock);
	return rc == SQLITE_DONE ? PK_OK : pk_sql_fail(s, rc, NULL);
}

/* Step q (ITEM_COLUMNS, bound) for the first PKI object; copy its name. */
static enum pk_err first_item(struct pk_store *s, sqlite3_stmt *q, struct pk_item *it,
			      char *name_buf, size_t size)
{
	enum pk_err e = PK_E_NOENT;
	int rc;

	while (e == PK_E_NOENT && (rc = sqlite3_step(q)) == SQLITE_ROW)
		if (row_item(q, it)) {
			snprintf(name_buf, size, "%s", it->name);
			it->name = name_buf;
			e = PK_OK;
		}
	if (e == PK_E_NOENT && rc != SQLITE_DONE)
		e = pk_sql_fail(s, rc, NULL);
	sqlite3_finalize(q);
	return e;
}

enum pk_err pk_inventory_get(struct pk_store *s, enum pk_folder f, const char *name,
			     struct pk_item *it, char *name_buf, size_t size)
{
	sqlite3_stmt *q = NULL;
	enum pk_err e;

	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db,
			       ITEM_COLUMNS
			       " WHERE e.folder = ?1 AND e.name = ?2 AND e.died IS NULL",
			       -1, &q, NULL) != SQLITE_OK) {
		pthread_mutex_unlock(&s->lock);
		return pk_sql_fail(s, sqlite3_errcode(s->db), NULL);
	}
	sqlite3_bind_int(q, 1, f);
	sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
	e = first_item(s, q, it, name_buf, size);
	pthread_mutex_unlock(&s->lock);
	return e;
}

enum pk_err pk_inventory_find(struct pk_store *s, const char *thumb, struct pk_item *it,
			      char *name_buf, size_t size)
{
	sqlite3_stmt *q = NULL;
	struct pk_item cand;
	enum pk_err e = PK_E_NOENT;
	int rc;

	pthread_mutex_lock(&s->lock);
	rc = sqlite3_prepare_v2(s->db,
				ITEM_COLUMNS " WHERE e.died IS NULL ORDER BY e.folder, e.name",
				-1, &q, NULL);
	/* SHA-256 is not indexed: a scan, fine for a command run by hand */
	while (q && e == PK_E_NOENT && (rc = sqlite3_step(q)) == SQLITE_ROW)
		if (row_item(q, &cand) &&
		    (!strcasecmp(cand.d.sha1, thumb) || !strcasecmp(cand.d.sha256, thumb))) {
			*it = cand;
			snprintf(name_buf, size, "%s", cand.name);
			it->name = name_buf;
			e = PK_OK;
		}
	if (e == PK_E_NOENT && rc != SQLITE_DONE)
		e = pk_sql_fail(s, rc, NULL);
	sqlite3_finalize(q);
	pthread_mutex_unlock(&s->lock);
	return e;
}

enum pk_err pk_inventory_holders(struct pk_store *s, const char *thumb, pk_holder_fn fn,
				 void *ctx)
{
	static const char sql[] =
		"SELECT NULL, e.folder, e.name, 0 FROM blob b JOIN entry e ON e.blob = b.id"
		" WHERE b.thumb = ?1 AND e.died IS NULL"
		" UNION ALL SELECT p.name, e.folder, e.name, 1 FROM snapshot p"
		" JOIN entry e ON e.born <= p.gen AND (e.died IS NULL OR e.died > p.gen)"
		" JOIN blob b ON b.id = e.blob WHERE b.thumb = ?1"
		" ORDER BY 4, 1, 2, 3";
	sqlite3_stmt *q = NULL;
	int rc;

	pthread_mutex_lock(&s->lock);
	rc = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);
	if (rc == SQLITE_OK)
		sqlite3_bind_text(q, 1, thumb, -1, SQLITE_STATIC);
	while (q && (rc = sqlite3_step(q)) == SQLITE_ROW)
		fn(ctx, (const char *)sqlite3_column_text(q, 0), sqlite3_column_int(q, 1),
		   (const char *)sqlite3_column_text(q, 2));
	sqlite3_finalize(q);
	pthread_mutex_unlock(&s->lock);
	return rc == SQLITE_DONE ? PK_OK : pk_sql_fail(s, rc, NULL);
}

enum pk_err pk_inventory_history(struct pk_store *s, const char *thumb, pk_event_fn fn,
				 void *ctx)
{
	sqlite3_stmt *q = NULL;
	int rc;

	pthread_mutex_lock(&s->lock);
	rc = sqlite3_prepare_v2(
		s->db,
		"SELECT time, op, path, path2, comm, outcome, reason, uid FROM audit"
		" WHERE thumb = ?1 ORDER BY id",
		-1, &q, NULL);
	if (rc == SQLITE_OK)
		sqlite3_bind_text(q, 1, thumb, -1, SQLITE_STATIC);
	while (q && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct pk_event ev = {sqlite3_column_int64(q, 0),
				      (const char *)sqlite3_column_text(q, 1),
				      (const char *)sqlite3_column_text(q, 2),
				      (const char *)sqlite3_column_text(q, 3),
				      (const char *)sqlite3_column_text(q, 4),
				      (const char *)sqlite3_column_text(q, 5),
				      (const char *)sqlite3_column_text(q, 6),
				      sqlite3_column_int64(q, 7)};
		fn(ctx, &ev);
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&s->lock);
	return rc == SQLITE_DONE ? PK_OK : pk_sql_fail(s, rc, NULL);
}

enum pk_err pk_inventory_pair(struct pk_store *s, enum pk_folder f, const char *name,
			      char *pair, size_t size)
{
	sqlite3_stmt *q = NULL;
	enum pk_err e = PK_E_NOENT;
	int rc;

	pthread_mutex_lock(&s->lock);
	rc = sqlite3_prepare_v2(
		s->db,
		"SELECT o.name FROM entry e JOIN blob b ON b.id = e.blob"
		" JOIN blob p ON p.pubkey = b.pubkey JOIN entry o ON o.blob = p.id"
		" WHERE e.folder = ?1 AND e.name = ?2 AND e.died IS NULL"
		" AND o.folder = ?3 AND o.died IS NULL ORDER BY o.name LIMIT 1",
		-1, &q, NULL);
	if (q) {
		sqlite3_bind_int(q, 1, f);
		sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
		sqlite3_bind_int(q, 3,
				 pk_folder_in_group(pk_folder_group(f),
						    pk_folder_role(f) == PK_F_OWN_CERTS
							    ? PK_F_OWN_PRIVATE
							    : PK_F_OWN_CERTS));
		rc = sqlite3_step(q);
		if (rc == SQLITE_ROW)
			snprintf(pair, size, "%s", sqlite3_column_text(q, 0)), e = PK_OK;
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&s->lock);
	return e == PK_OK || rc == SQLITE_DONE ? e : pk_sql_fail(s, rc, NULL);
}
