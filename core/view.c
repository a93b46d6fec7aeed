/*
 * view.c: the CApath and CA file views (see view.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkifs/object.h"
#include "pkifs/view.h"
#include "store_int.h"

/* Members of the views: certificates and CRLs of the
 * folders that feed them (folder.c: as anchors, as chain links, as CRLs),
 * all of them, or one hash group found through the blob's hash index. */
static const char member_sql[] = "SELECT b.kind, CASE b.kind WHEN " SQL_KIND_CERT
				 " THEN b.subject_hash ELSE b.issuer_hash END"
				 " AS h, e.ino, e.mtime, e.ctime, b.data, b.thumb, e.uid, e.gid"
				 " FROM %s WHERE e.died IS NULL"
				 " AND ((b.kind = " SQL_KIND_CERT
				 " AND (e.folder IN (%s) OR (e.folder IN (%s) AND b.is_ca"
				 "      AND NOT b.self_signed)))"
				 "  OR (b.kind = " SQL_KIND_CRL " AND e.folder IN (%s))) %s"
				 " ORDER BY h, b.kind, e.ino";

/* The ids of the folders that feed the views as v, "5, 8", into buf. */
static const char *feeders(enum pk_view_feed v, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = 0;
	for (int f = 0; f < PK_F_COUNT && n < size; f++)
		if (pk_folder_info(f)->view == v)
			n += (size_t)snprintf(buf + n, size - n, "%s%d", n ? ", " : "", f);
	return buf;
}

/* Called for each member in name order with its view name and PEM. */
typedef int (*member_fn)(void *ctx, const char *name, const struct pk_attr *a, const char *pem,
			 size_t len);

struct walk {
	member_fn fn;
	void *ctx;
	char last_thumb[41 * 8]; /* thumbprints seen in this hash group */
	uint32_t hash;
	int kind;
	unsigned n;
};

/* Has this group already shown the certificate (trusted/ and issuers/)? */
static int seen(struct walk *w, int kind, uint32_t h, const char *thumb)
{
	if (kind != w->kind || h != w->hash || w->n == 0) {
		w->kind = kind;
		w->hash = h;
		w->n = 0;
		w->last_thumb[0] = 0;
	}
	if (thumb && strstr(w->last_thumb, thumb))
		return 1;
	if (thumb && strlen(w->last_thumb) + 42 < sizeof(w->last_thumb))
		strcat(strcat(w->last_thumb, thumb), ",");
	return 0;
}

/* One row: name it, render its PEM, hand it to the walker's callback. */
static int visit(struct walk *w, sqlite3_stmt *q)
{
	int kind = sqlite3_column_int(q, 0);
	uint32_t h = (uint32_t)sqlite3_column_int64(q, 1);
	const char *thumb = (const char *)sqlite3_column_text(q, 6);
	struct pk_attr a = {0};
	char name[32], *pem = NULL;
	size_t len = 0;
	int stop;

	if (seen(w, kind, h, thumb))
		return 0;
	snprintf(name, sizeof(name), "%08x.%s%u", h, kind == PK_KIND_CRL ? "r" : "", w->n);
	a.ino = PK_VIEW_INO_BASE | ((uint64_t)h << 12) | (kind == PK_KIND_CRL ? 0x800 : 0) |
		w->n;
	w->n++;
	a.mode = 0444;
	a.mtime_ns = sqlite3_column_int64(q, 3);
	a.ctime_ns = sqlite3_column_int64(q, 4);
	a.uid = (unsigned)sqlite3_column_int64(q, 7);
	a.gid = (unsigned)sqlite3_column_int64(q, 8);
	if (pk_object_pem(sqlite3_column_blob(q, 5), (size_t)sqlite3_column_bytes(q, 5), &pem,
			  &len) != PK_OK)
		return 0; /* not renderable: leave it out of the view */
	a.size = len;
	stop = w->fn(w->ctx, name, &a, pem, len);
	free(pem);
	return stop;
}

/* Walk the members (one group when hash >= 0) under the store's lock. */
static enum pk_err walk(struct pk_store *s, int64_t hash, int kind, member_fn fn, void *ctx)
{
	char sql[sizeof(member_sql) + 256], certs[64], cas[64], crls[64];
	struct walk w = {.fn = fn, .ctx = ctx, .kind = -1};
	const char *filter = hash < 0 ? ""
			     : kind == PK_KIND_CERT
				     ? "AND b.kind = " SQL_KIND_CERT " AND b.subject_hash = ?1"
				     : "AND b.kind = " SQL_KIND_CRL " AND b.issuer_hash = ?1";
	sqlite3_stmt *q;
	int rc;

	snprintf(sql, sizeof(sql), member_sql,
		 hash < 0 ? "entry e JOIN blob b ON b.id = e.blob"
			  : "blob b CROSS JOIN entry e ON e.blob = b.id",
		 feeders(PK_V_CERTS, certs, sizeof(certs)),
		 feeders(PK_V_CHAIN_CAS, cas, sizeof(cas)),
		 feeders(PK_V_CRLS, crls, sizeof(crls)), filter);
	pthread_mutex_lock(&s->lock);
	rc = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);
	if (rc == SQLITE_OK) {
		if (hash >= 0)
			sqlite3_bind_int64(q, 1, hash);
		while ((rc = sqlite3_step(q)) == SQLITE_ROW && !visit(&w, q))
			;
		sqlite3_finalize(q);
	}
	pthread_mutex_unlock(&s->lock);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? PK_OK : pk_sql_fail(s, rc, NULL);
}

int pk_view_parse_name(const char *name, uint32_t *hash, unsigned *n, int *crl)
{
	char *end;
	unsigned long h, k;

	if (strlen(name) < 10 || name[8] != '.')
		return -1;
	for (int i = 0; i < 8; i++)
		if (!strchr("0123456789abcdef", name[i]))
			return -1;
	h = strtoul(name, NULL, 16);
	*crl = name[9] == 'r';
	if (name[9 + *crl] < '0' || name[9 + *crl] > '9')
		return -1;
	k = strtoul(name + 9 + *crl, &end, 10);
	if (*end || k > 0x7ff || (name[9 + *crl] == '0' && end != name + 10 + *crl))
		return -1;
	*hash = (uint32_t)h;
	*n = (unsigned)k;
	return 0;
}

struct get_ctx {
	const char *name;
	char **pem;
	size_t *len;
	struct pk_attr *a;
	int found;
};

static int get_one(void *ctx, const char *name, const struct pk_attr *a, const char *pem,
		   size_t len)
{
	struct get_ctx *g = ctx;

	if (strcmp(name, g->name) != 0)
		return 0;
	g->found = 1;
	*g->a = *a;
	if (g->pem && (*g->pem = malloc(len + 1))) {
		memcpy(*g->pem, pem, len + 1);
		*g->len = len;
	}
	return 1;
}

enum pk_err pk_view_capath_get(struct pk_store *s, const char *name, char **pem, size_t *len,
			       struct pk_attr *a)
{
	struct get_ctx g = {name, pem, len, a, 0};
	uint32_t hash;
	unsigned n;
	int crl;
	enum pk_err e;

	if (pk_view_parse_name(name, &hash, &n, &crl) != 0)
		return PK_E_NOENT;
	e = walk(s, hash, crl ? PK_KIND_CRL : PK_KIND_CERT, get_one, &g);
	if (e == PK_OK && !g.found)
		return PK_E_NOENT;
	if (e == PK_OK && pem && !*pem)
		return PK_E_NOMEM;
	return e;
}

struct list_ctx {
	pk_list_fn fn;
	void *ctx;
};

static int list_one(void *ctx, const char *name, const struct pk_attr *a, const char *pem,
		    size_t len)
{
	struct list_ctx *l = ctx;

	(void)pem;
	(void)len;
	return l->fn(l->ctx, name, a);
}

enum pk_err pk_view_capath_list(struct pk_store *s, pk_list_fn fn, void *ctx)
{
	struct list_ctx l = {fn, ctx};

	return walk(s, -1, 0, list_one, &l);
}

struct cat_ctx {
	char *buf;
	size_t len, cap;
	struct pk_attr *a;
	int oom;
};

/* Append one member's PEM; the file's mtime is the newest member's. */
static int cat_one(void *ctx, const char *name, const struct pk_attr *a, const char *pem,
		   size_t len)
{
	struct cat_ctx *c = ctx;

	(void)name;
	if (c->len + len + 1 > c->cap) {
		size_t cap = (c->cap ? c->cap * 2 : 65536) + len;
		char *buf = realloc(c->buf, cap);
		if (!buf)
			return c->oom = 1;
		c->buf = buf;
		c->cap = cap;
	}
	memcpy(c->buf + c->len, pem, len);
	c->len += len;
	c->buf[c->len] = 0;
	if (a->mtime_ns > c->a->mtime_ns)
		c->a->mtime_ns = a->mtime_ns;
	return 0;
}

enum pk_err pk_view_cafile(struct pk_store *s, char **pem, size_t *len, struct pk_attr *a)
{
	struct cat_ctx c = {.a = a};
	struct pk_attr d;
	enum pk_err e;

	memset(a, 0, sizeof(*a));
	e = walk(s, -1, 0, cat_one, &c);
	if (e == PK_OK && c.oom)
		e = PK_E_NOMEM;
	if (e != PK_OK) {
		free(c.buf);
		return e;
	}
	/* A removal changes the content without a newer member: folder times. */
	for (int f = 0; f < PK_F_COUNT; f++)
		if (pk_folder_feeds_views(f) && pk_store_dir_attr(s, f, &d) == PK_OK &&
		    d.mtime_ns > a->mtime_ns)
			a->mtime_ns = d.mtime_ns;
	a->ino = PK_VIEW_INO_BASE - 1;
	a->mode = 0444;
	a->ctime_ns = a->mtime_ns;
	a->size = c.len;
	*pem = c.buf ? c.buf : calloc(1, 1);
	*len = c.len;
	return *pem ? PK_OK : PK_E_NOMEM;
}
