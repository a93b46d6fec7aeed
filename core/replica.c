/*
 * replica.c: applying a fleet's log to the store.
 *
 * A batch of the log is one transaction: each change inside a savepoint
 * of its own, so that one this store's rules refuse is rolled back alone
 * and audited as refused while the others apply. The log revision the
 * store has applied is a setting row written in the same transaction, so
 * the store and its revision never disagree, across crashes too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_int.h"
#include "entry.h"
#include "trust_int.h"

void pk_store_set_replicator(struct pk_store *s, const struct pk_replicator *r)
{
	pthread_mutex_lock(&s->lock);
	s->repl = r ? *r : (struct pk_replicator){0};
	pthread_mutex_unlock(&s->lock);
}

uint64_t pk_replica_rev_locked(struct pk_store *s)
{
	int64_t v = pk_query_int(s, "SELECT value FROM setting WHERE key = 'fleet_rev'");

	return v > 0 ? (uint64_t)v : 0;
}

uint64_t pk_replica_revision(struct pk_store *s)
{
	uint64_t v;

	pthread_mutex_lock(&s->lock);
	v = pk_replica_rev_locked(s);
	pthread_mutex_unlock(&s->lock);
	return v;
}

/* A setting row, inside the running transaction or on its own. */
static int set_setting(struct pk_store *s, const char *key, const char *text, int64_t num)
{
	sqlite3_stmt *q;
	int rc = sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO setting VALUES(?, ?)", -1, &q,
				    NULL);

	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_text(q, 1, key, -1, SQLITE_TRANSIENT);
	if (text)
		sqlite3_bind_text(q, 2, text, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_int64(q, 2, num);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Apply ch in a savepoint; a refusal rolls it back alone and is audited. */
static enum pk_err apply_one(struct pk_store *s, const struct pk_caller *c, const char *what,
			     const char *note, const struct pk_repl_change *ch)
{
	struct pk_status st = {0};
	enum pk_err e;

	if (sqlite3_exec(s->db, "SAVEPOINT change", NULL, NULL, NULL) != SQLITE_OK)
		return PK_E_IO;
	e = pk_trust_apply(s, c, what, note, ch, &st);
	if (e != PK_OK) {
		char why[sizeof(st.reason) + 340];
		struct pk_audit_rec r = {what, ch->f, ch->name, PK_F_NONE, NULL, NULL,
					 c,    e,     why,	0};

		snprintf(why, sizeof(why), "%s; %s", note, st.reason);
		sqlite3_exec(s->db, "ROLLBACK TO change", NULL, NULL, NULL);
		e = pk_audit_append(s, &r);
	}
	sqlite3_exec(s->db, "RELEASE change", NULL, NULL, NULL);
	return e;
}

/* Run changes in one transaction ending at log revision rev. */
static enum pk_err apply_all(struct pk_store *s, const struct pk_caller *c, const char *what,
			     const char *note, const struct pk_repl_change *ch, size_t n,
			     uint64_t rev, struct pk_status *st)
{
	enum pk_err e = pk_tx_begin(s, st);

	for (size_t i = 0; e == PK_OK && i < n; i++) {
		char mine[320];
		if (ch[i].node) /* a resync's file: who wrote it */
			snprintf(mine, sizeof(mine), "%s; written by node %.63s", note, ch[i].node);
		e = apply_one(s, c, what, ch[i].node ? mine : note, &ch[i]);
	}
	if (e == PK_OK && set_setting(s, "fleet_rev", NULL, (int64_t)rev) != SQLITE_OK)
		e = pk_sql_fail(s, sqlite3_errcode(s->db), st);
	if (e == PK_OK)
		return pk_audit_commit(s, NULL, st);
	if (st->err == PK_OK)
		pk_fail(st, e, "applying the fleet's log: %s", sqlite3_errmsg(s->db));
	pk_tx_rollback(s);
	return e;
}

enum pk_err pk_replica_apply(struct pk_store *s, const struct pk_repl_origin *o,
			     const struct pk_repl_change *ch, size_t n, uint64_t rev,
			     struct pk_status *st)
{
	char note[160];
	enum pk_err e;

	snprintf(note, sizeof(note), "from node %s, etcd revision %llu", o->node,
		 (unsigned long long)rev);
	pthread_mutex_lock(&s->lock);
	e = apply_all(s, &o->who, o->op, note, ch, n, rev, st);
	pthread_mutex_unlock(&s->lock);
	return e;
}

/* ch[i] has the same bytes as the live f/name. */
static int same_file(struct pk_store *s, const struct pk_repl_change *ch)
{
	struct entry_row row;
	void *data = NULL;
	size_t len = 0;
	int same;

	if (entry_get(s, ch->f, ch->name, &row) != PK_OK || row.attr.size != ch->len ||
	    blob_data(s, row.blob, &data, &len) != PK_OK)
		return 0;
	same = len == ch->len && (len == 0 || memcmp(data, ch->data, len) == 0);
	free(data);
	return same;
}

struct name_list {
	enum pk_folder f;
	char **names;
	size_t n, cap;
};

static int collect_name(void *ctx, const char *name, const struct pk_attr *a)
{
	struct name_list *l = ctx;

	(void)a;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		char **p = realloc(l->names, cap * sizeof(*p));
		if (!p)
			return 1;
		l->names = p;
		l->cap = cap;
	}
	return (l->names[l->n++] = strdup(name)) == NULL;
}

static int listed(const struct pk_repl_change *ch, size_t n, enum pk_folder f, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (ch[i].f == f && strcmp(ch[i].name, name) == 0)
			return 1;
	return 0;
}

/* Append c to the plan (0, or -1 out of memory). */
static int plan_add(struct pk_repl_change **plan, size_t *np, size_t *cap,
		    const struct pk_repl_change *c)
{
	if (*np == *cap) {
		size_t n = *cap ? 2 * *cap : 64;
		struct pk_repl_change *p = realloc(*plan, n * sizeof(*p));
		if (!p)
			return -1;
		*plan = p;
		*cap = n;
	}
	(*plan)[(*np)++] = *c;
	return 0;
}

/* The changes that make the replicated folders hold exactly ch: removals
 * of what the log does not have, then the files that differ. Names are
 * the plan's own; data the caller's. */
static int reset_plan(struct pk_store *s, const struct pk_repl_change *ch, size_t n,
		      struct pk_repl_change **out, size_t *nout)
{
	struct pk_repl_change *plan = NULL, c;
	size_t np = 0, cap = 0;
	int ok = 1;

	for (int f = 0; ok && f < PK_F_COUNT; f++) {
		struct name_list l = {f, NULL, 0, 0};
		if (!pk_folder_info(f)->replicated)
			continue;
		ok = pk_entry_list_locked(s, f, NULL, collect_name, &l) == PK_OK;
		for (size_t i = 0; i < l.n; i++) {
			int gone = ok && !listed(ch, n, f, l.names[i]);
			c = (struct pk_repl_change){.f = f, .name = l.names[i]};
			if (gone && plan_add(&plan, &np, &cap, &c) != 0)
				gone = ok = 0;
			if (!gone)
				free(l.names[i]);
		}
		free(l.names);
	}
	for (size_t i = 0; ok && i < n; i++) {
		c = ch[i];
		if (same_file(s, &ch[i]))
			continue;
		c.name = strdup(ch[i].name);
		ok = c.name && plan_add(&plan, &np, &cap, &c) == 0;
	}
	*out = plan;
	*nout = np;
	return ok ? 0 : -1;
}

enum pk_err pk_replica_reset(struct pk_store *s, const struct pk_repl_change *ch, size_t n,
			     uint64_t rev, struct pk_status *st)
{
	struct pk_caller who = {0, 0, 0, "pkifs-resync"};
	char note[160];
	struct pk_repl_change *plan = NULL;
	size_t np = 0;
	enum pk_err e;

	snprintf(note, sizeof(note), "resync with the fleet's log at etcd revision %llu",
		 (unsigned long long)rev);
	pthread_mutex_lock(&s->lock);
	if (reset_plan(s, ch, n, &plan, &np) == 0)
		e = apply_all(s, &who, "resync", note, plan, np, rev, st);
	else
		e = pk_fail(st, PK_E_NOMEM, "out of memory planning a resync");
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; i < np; i++)
		plan[i].data = NULL; /* the caller's bytes */
	pk_replica_free(plan, np);
	return e;
}

struct local_list {
	struct pk_store *s;
	enum pk_folder f;
	struct pk_repl_change *ch;
	size_t n, cap;
};

static int collect_file(void *ctx, const char *name, const struct pk_attr *a)
{
	struct local_list *l = ctx;
	struct entry_row row;
	struct pk_repl_change *c;
	size_t len = 0;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct pk_repl_change *p = realloc(l->ch, cap * sizeof(*p));
		if (!p)
			return 1;
		l->ch = p;
		l->cap = cap;
	}
	c = &l->ch[l->n];
	*c = (struct pk_repl_change){.f = l->f, .name = strdup(name), .mode = a->mode,
				     .mtime_ns = a->mtime_ns};
	if (!c->name || entry_get(l->s, l->f, name, &row) != PK_OK ||
	    blob_data(l->s, row.blob, (void **)&c->data, &len) != PK_OK) {
		free((char *)c->name);
		return 1;
	}
	c->len = len;
	if (!c->data)
		c->data = strdup("");
	l->n++;
	return 0;
}

enum pk_err pk_replica_local(struct pk_store *s, struct pk_repl_change **ch, size_t *n)
{
	struct local_list l = {s, 0, NULL, 0, 0};
	enum pk_err e = PK_OK;

	pthread_mutex_lock(&s->lock);
	for (int f = 0; e == PK_OK && f < PK_F_COUNT; f++) {
		l.f = f;
		if (pk_folder_info(f)->replicated)
			e = pk_entry_list_locked(s, f, NULL, collect_file, &l);
	}
	pthread_mutex_unlock(&s->lock);
	*ch = l.ch;
	*n = l.n;
	return e;
}

void pk_replica_free(struct pk_repl_change *ch, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((char *)ch[i].name);
		free((void *)ch[i].data);
	}
	free(ch);
}

void pk_replica_note(struct pk_store *s, const char *key, const char *value)
{
	char k[64];

	snprintf(k, sizeof(k), "fleet_%s", key);
	pthread_mutex_lock(&s->lock);
	if (value) {
		set_setting(s, k, value, 0);
	} else {
		sqlite3_stmt *q;
		if (sqlite3_prepare_v2(s->db, "DELETE FROM setting WHERE key = ?", -1, &q, NULL) ==
		    SQLITE_OK) {
			sqlite3_bind_text(q, 1, k, -1, SQLITE_STATIC);
			sqlite3_step(q);
			sqlite3_finalize(q);
		}
	}
	pthread_mutex_unlock(&s->lock);
}

char *pk_replica_info(struct pk_store *s, const char *key)
{
	sqlite3_stmt *q;
	char *v = NULL;

	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db, "SELECT value FROM setting WHERE key = 'fleet_' || ?", -1,
			       &q, NULL) == SQLITE_OK) {
		sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
			v = strdup((const char *)sqlite3_column_text(q, 0));
		sqlite3_finalize(q);
	}
	pthread_mutex_unlock(&s->lock);
	return v;
}
