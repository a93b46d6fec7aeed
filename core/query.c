/*
 * query.c: the read side of the store — lookups, reads, listings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

void pk_row_attr(sqlite3_stmt *q, int col, struct pk_attr *a)
{
	a->ino = (uint64_t)sqlite3_column_int64(q, col);
	a->mode = (unsigned)sqlite3_column_int(q, col + 1);
	a->uid = (unsigned)sqlite3_column_int64(q, col + 2);
	a->gid = (unsigned)sqlite3_column_int64(q, col + 3);
	a->mtime_ns = sqlite3_column_int64(q, col + 4);
	a->ctime_ns = sqlite3_column_int64(q, col + 5);
	a->size = (uint64_t)sqlite3_column_int64(q, col + 6);
}

/* Step a lookup-shaped statement: PK_OK with a row, PK_E_NOENT, or error. */
static enum pk_err step_row(struct pk_store *s, sqlite3_stmt *q)
{
	int rc;

	if (!q)
		return pk_sql_fail(s, sqlite3_errcode(s->db), NULL);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		return PK_OK;
	if (rc == SQLITE_DONE)
		return PK_E_NOENT;
	return pk_sql_fail(s, rc, NULL);
}

enum pk_err pk_store_lookup(struct pk_store *s, enum pk_folder f, const char *name,
			    struct pk_attr *a)
{
	sqlite3_stmt *q;
	enum pk_err e;

	pthread_mutex_lock(&s->lock);
	q = pk_stmt(s, Q_ENTRY_LOOKUP);
	if (q) {
		sqlite3_bind_int(q, 1, f);
		sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
	}
	e = step_row(s, q);
	if (e == PK_OK && a)
		pk_row_attr(q, 0, a);
	if (q)
		sqlite3_reset(q);
	pthread_mutex_unlock(&s->lock);
	return e;
}

/* Copy column col of q (a blob) into a malloc'd buffer. */
static enum pk_err copy_blob(sqlite3_stmt *q, int col, void **data, size_t *len)
{
	const void *p = sqlite3_column_blob(q, col);
	size_t n = (size_t)sqlite3_column_bytes(q, col);

	*data = malloc(n ? n : 1);
	if (!*data)
		return PK_E_NOMEM;
	if (n)
		memcpy(*data, p, n);
	*len = n;
	return PK_OK;
}

enum pk_err pk_store_read(struct pk_store *s, enum pk_folder f, const char *name, void **data,
			  size_t *len, struct pk_attr *a)
{
	sqlite3_stmt *q;
	enum pk_err e;

	pthread_mutex_lock(&s->lock);
	q = pk_stmt(s, Q_ENTRY_READ);
	if (q) {
		sqlite3_bind_int(q, 1, f);
		sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
	}
	e = step_row(s, q);
	if (e == PK_OK && a)
		pk_row_attr(q, 0, a);
	if (e == PK_OK)
		e = copy_blob(q, 7, data, len);
	if (q)
		sqlite3_reset(q);
	pthread_mutex_unlock(&s->lock);
	return e;
}

enum pk_err pk_store_list(struct pk_store *s, enum pk_folder f, pk_list_fn fn, void *ctx)
{
	return pk_store_list_after(s, f, NULL, fn, ctx);
}

enum pk_err pk_entry_list_locked(struct pk_store *s, enum pk_folder f, const char *after,
				 pk_list_fn fn, void *ctx)
{
	sqlite3_stmt *q = pk_stmt(s, Q_ENTRY_LIST);
	struct pk_attr a;
	int rc = SQLITE_ERROR;

	if (q) {
		sqlite3_bind_int(q, 1, f);
		sqlite3_bind_text(q, 2, after ? after : "", -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
			pk_row_attr(q, 1, &a);
			if (fn(ctx, (const char *)sqlite3_column_text(q, 0), &a))
				break;
		}
		sqlite3_reset(q);
	}
	return rc != SQLITE_ROW && rc != SQLITE_DONE ? pk_sql_fail(s, rc, NULL) : PK_OK;
}

enum pk_err pk_store_list_after(struct pk_store *s, enum pk_folder f, const char *after,
				pk_list_fn fn, void *ctx)
{
	enum pk_err e;

	pthread_mutex_lock(&s->lock);
	e = pk_entry_list_locked(s, f, after, fn, ctx);
	pthread_mutex_unlock(&s->lock);
	return e;
}

enum pk_err pk_store_dir_attr(struct pk_store *s, enum pk_folder f, struct pk_attr *a)
{
	sqlite3_stmt *q;
	enum pk_err e;

	pthread_mutex_lock(&s->lock);
	q = pk_stmt(s, Q_DIR_GET);
	if (q)
		sqlite3_bind_int(q, 1, f);
	e = step_row(s, q);
	if (e == PK_OK) {
		a->ino = PK_FOLDER_INO(f);
		a->mode = (unsigned)sqlite3_column_int(q, 0);
		a->uid = (unsigned)sqlite3_column_int64(q, 1);
		a->gid = (unsigned)sqlite3_column_int64(q, 2);
		a->mtime_ns = sqlite3_column_int64(q, 3);
		a->ctime_ns = sqlite3_column_int64(q, 4);
		a->size = 0;
	}
	if (q)
		sqlite3_reset(q);
	pthread_mutex_unlock(&s->lock);
	return e;
}
