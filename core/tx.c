/*
 * tx.c: one transaction per trust operation, and the generation it makes.
 *
 * A transaction is BEGIN IMMEDIATE (so a writer never fails half way on a
 * lock upgrade) and bumps the generation, which entry rows record as born
 * and died. Names that an operation removes as a side effect (eviction from
 * rejected/, a refreshed duplicate) are reported to the listener only after
 * the commit, so fs/ can drop them from the kernel's caches.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

enum pk_err pk_tx_begin(struct pk_store *s, struct pk_status *st)
{
	int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return pk_sql_fail(s, rc, st);
	s->in_tx = 1;
	s->gen++;
	s->n_removed = 0;
	return PK_OK;
}

/* Tell the listener about the side-effect removals, then forget them. */
static void flush_removed(struct pk_store *s, int report)
{
	for (size_t i = 0; i < s->n_removed; i++) {
		if (report && s->removed_fn)
			s->removed_fn(s->removed_ctx, s->removed[i].f, s->removed[i].name);
		free(s->removed[i].name);
	}
	s->n_removed = 0;
}

enum pk_err pk_tx_commit(struct pk_store *s, struct pk_status *st)
{
	int rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);

	if (rc != SQLITE_OK) {
		enum pk_err e = pk_sql_fail(s, rc, st);
		pk_tx_rollback(s);
		return e;
	}
	s->in_tx = 0;
	flush_removed(s, 1);
	return PK_OK;
}

void pk_tx_rollback(struct pk_store *s)
{
	if (!s->in_tx)
		return;
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->in_tx = 0;
	s->gen--;
	flush_removed(s, 0);
}

enum pk_err pk_tx_run(struct pk_store *s, pk_tx_body body, void *ctx, struct pk_status *st)
{
	enum pk_err e;

	pthread_mutex_lock(&s->lock);
	e = pk_tx_begin(s, st);
	if (e == PK_OK) {
		e = body(s, ctx, st);
		if (e == PK_OK)
			e = pk_tx_commit(s, st);
		else
			pk_tx_rollback(s);
	}
	pthread_mutex_unlock(&s->lock);
	return e;
}

void pk_note_removed(struct pk_store *s, enum pk_folder f, const char *name)
{
	if (s->n_removed == s->cap_removed) {
		size_t cap = s->cap_removed ? s->cap_removed * 2 : 8;
		struct removed *r = realloc(s->removed, cap * sizeof(*r));
		if (!r)
			return; /* only a cache hint is lost */
		s->removed = r;
		s->cap_removed = cap;
	}
	for (size_t i = 0; !name && i < s->n_removed; i++)
		if (s->removed[i].f == f && !s->removed[i].name)
			return; /* folder already noted */
	s->removed[s->n_removed].f = f;
	s->removed[s->n_removed].name = name ? strdup(name) : NULL;
	if (!name || s->removed[s->n_removed].name)
		s->n_removed++;
}
