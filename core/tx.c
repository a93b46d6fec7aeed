/*
 * tx.c: one transaction per trust operation, and the generation it makes.
 *
 * A transaction is BEGIN IMMEDIATE (so a writer never fails half way on a
 * lock upgrade) and bumps the generation, which entry rows record as born
 * and died. The names and folders a transaction changes, side effects
 * included (eviction from rejected/, a refreshed duplicate), are reported to
 * the listener only after the commit, so fs/ can drop them from the kernel's
 * caches.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* Tell the listener what the transaction changed, then forget it. */
static void flush_changed(struct pk_store *s, int report)
{
	for (size_t i = 0; i < s->n_changed; i++) {
		if (report && s->changed_fn)
			s->changed_fn(s->changed_ctx, s->changed[i].f, s->changed[i].name);
		free(s->changed[i].name);
	}
	s->n_changed = 0;
}

/* Note the names whose rows another process started or ended after
 * generation old, and their folders. */
static void note_since(struct pk_store *s, uint64_t old)
{
	sqlite3_stmt *q = NULL;
	uint64_t folders = 0; /* PK_F_COUNT < 64 */

	if (sqlite3_prepare_v2(s->db,
			       "SELECT folder, name FROM entry WHERE born > ?1 OR died > ?1",
			       -1, &q, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)old);
	while (sqlite3_step(q) == SQLITE_ROW) {
		int f = sqlite3_column_int(q, 0);
		pk_note_changed(s, f, (const char *)sqlite3_column_text(q, 1));
		folders |= 1ull << f;
	}
	sqlite3_finalize(q);
	for (int f = 0; f < PK_F_COUNT; f++)
		if (folders & (1ull << f))
			pk_note_changed(s, f, NULL);
}

/* PRAGMA data_version, from a prepared statement: every transaction asks. */
static int64_t data_version(struct pk_store *s)
{
	sqlite3_stmt *q = pk_stmt(s, Q_DATA_VERSION);
	int64_t v = -1;

	if (q && sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int64(q, 0);
	if (q)
		sqlite3_reset(q);
	return v;
}

/* Catch up with what another process (the CLI's restore, snapshot) has
 * committed since the counters were read: the generation and inode counters
 * move past its, and the listener hears what it changed. 1 if it had. */
int pk_catch_up(struct pk_store *s)
{
	int64_t v = data_version(s);
	uint64_t old = s->gen;

	if (v < 0 || v == s->data_version)
		return 0;
	pk_load_counters(s);
	note_since(s, old);
	flush_changed(s, 1);
	return 1;
}

enum pk_err pk_tx_begin(struct pk_store *s, struct pk_status *st)
{
	int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return pk_sql_fail(s, rc, st);
	s->n_changed = 0;
	pk_catch_up(s);
	s->in_tx = 1;
	s->gen++;
	return PK_OK;
}

int pk_store_poll(struct pk_store *s)
{
	int r;

	pthread_mutex_lock(&s->lock);
	r = s->in_tx ? 0 : pk_catch_up(s);
	pthread_mutex_unlock(&s->lock);
	return r;
}

int pk_gc_note(struct pk_store *s, int64_t blob)
{
	if (s->n_gc == s->cap_gc) {
		size_t cap = s->cap_gc ? s->cap_gc * 2 : 8;
		int64_t *r = realloc(s->gc, cap * sizeof(*r));
		if (!r)
			return -1;
		s->gc = r;
		s->cap_gc = cap;
	}
	s->gc[s->n_gc++] = blob;
	return 0;
}

/* Delete the noted blobs that no row names now that the transaction's
 * inserts are done (a refresh in rejected/ deletes the old row before it
 * inserts the new one that names the same blob). */
static int collect_blobs(struct pk_store *s)
{
	int rc = SQLITE_DONE;

	for (size_t i = 0; i < s->n_gc && rc == SQLITE_DONE; i++) {
		sqlite3_stmt *q = pk_stmt(s, Q_BLOB_FORGET);
		if (!q)
			return sqlite3_errcode(s->db);
		sqlite3_bind_int64(q, 1, s->gc[i]);
		rc = sqlite3_step(q);
		sqlite3_reset(q);
	}
	s->n_gc = 0;
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

enum pk_err pk_tx_commit(struct pk_store *s, struct pk_status *st)
{
	int rc = collect_blobs(s);

	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);

	if (rc != SQLITE_OK) {
		enum pk_err e = pk_sql_fail(s, rc, st);
		pk_tx_rollback(s);
		return e;
	}
	s->in_tx = 0;
	flush_changed(s, 1);
	return PK_OK;
}

void pk_tx_rollback(struct pk_store *s)
{
	if (!s->in_tx)
		return;
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->in_tx = 0;
	s->n_gc = 0;
	s->gen--;
	flush_changed(s, 0);
}

void pk_note_changed(struct pk_store *s, enum pk_folder f, const char *name)
{
	if (s->n_changed == s->cap_changed) {
		size_t cap = s->cap_changed ? s->cap_changed * 2 : 8;
		struct changed *r = realloc(s->changed, cap * sizeof(*r));
		if (!r)
			return; /* only a cache hint is lost */
		s->changed = r;
		s->cap_changed = cap;
	}
	for (size_t i = 0; !name && i < s->n_changed; i++)
		if (s->changed[i].f == f && !s->changed[i].name)
			return; /* folder already noted */
	if (name && s->n_changed && s->changed[s->n_changed - 1].f == f &&
	    s->changed[s->n_changed - 1].name &&
	    strcmp(s->changed[s->n_changed - 1].name, name) == 0)
		return; /* a replacement: kill and insert of one name */
	s->changed[s->n_changed].f = f;
	s->changed[s->n_changed].name = name ? strdup(name) : NULL;
	if (!name || s->changed[s->n_changed].name)
		s->n_changed++;
}
