/*
 * doctor.c: findings an operator should act on (doctor.h). One query or
 * one walk over the inventory per kind of finding.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "pkifs/doctor.h"
#include "pkifs/inventory.h"
#include "store_int.h"

struct doctor {
	struct pk_store *s;
	pk_violation_fn fn;
	void *ctx;
	unsigned n;
};

/* Report one finding (counted); what is printf-style. */
static void find(struct doctor *d, const char *kind, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void find(struct doctor *d, const char *kind, const char *path, const char *fmt, ...)
{
	va_list ap;

	d->n++;
	va_start(ap, fmt);
	pk_violation_vemit(d->fn, d->ctx, kind, path, fmt, ap);
	va_end(ap);
}

/* Each row of sql (folder, name, text) is a finding of kind. */
static void rows(struct doctor *d, const char *kind, const char *sql)
{
	sqlite3_stmt *q = NULL;
	char path[600];

	sqlite3_prepare_v2(d->s->db, sql, -1, &q, NULL);
	while (q && sqlite3_step(q) == SQLITE_ROW) {
		int f = sqlite3_column_int(q, 0);
		snprintf(path, sizeof(path), "%s/%s",
			 f >= 0 && f < PK_F_COUNT ? pk_folder_info(f)->path : "?",
			 sqlite3_column_text(q, 1));
		find(d, kind, path, "%s", sqlite3_column_text(q, 2));
	}
	sqlite3_finalize(q);
}

/* The folder of role r in group g. */
#define IN(g, r) pk_folder_in_group(g, r)

/* CAs without a CRL, keys and certificates without their pair, names
 * that hold the same certificate, within certificate group g. */
static void store_findings(struct doctor *d, enum pk_group g)
{
	char sql[1024];

	snprintf(sql, sizeof(sql),
		 "SELECT e.folder, e.name, 'a CA without a CRL in trusted/crl or issuers/crl:"
		 " stacks reject what it issued (revocation unknown)' FROM entry e JOIN blob b"
		 " ON b.id = e.blob WHERE e.died IS NULL AND e.folder IN (%d, %d) AND b.kind = "
		 "%d"
		 " AND b.is_ca AND NOT EXISTS (SELECT 1 FROM entry c JOIN blob r ON r.id = "
		 "c.blob"
		 " WHERE c.died IS NULL AND c.folder IN (%d, %d) AND r.kind = %d"
		 " AND r.issuer_hash = b.subject_hash) ORDER BY e.folder, e.name",
		 IN(g, PK_F_TRUSTED_CERTS), IN(g, PK_F_ISSUERS_CERTS), PK_KIND_CERT,
		 IN(g, PK_F_TRUSTED_CRL), IN(g, PK_F_ISSUERS_CRL), PK_KIND_CRL);
	rows(d, "ca-without-crl", sql);
	snprintf(sql, sizeof(sql),
		 "SELECT e.folder, e.name, CASE e.folder WHEN %d THEN 'an own certificate"
		 " without its private key in own/private' ELSE 'a private key without its"
		 " certificate in own/certs' END FROM entry e JOIN blob b ON b.id = e.blob"
		 " WHERE e.died IS NULL AND e.folder IN (%d, %d) AND b.pubkey IS NOT NULL"
		 " AND NOT EXISTS (SELECT 1 FROM entry o JOIN blob p ON p.id = o.blob"
		 " WHERE o.died IS NULL AND o.folder = %d + %d - e.folder AND p.pubkey = "
		 "b.pubkey)"
		 /* an encrypted key's public half is unknown: it may be the pair */
		 " AND NOT (e.folder = %d AND EXISTS (SELECT 1 FROM entry k JOIN blob c"
		 " ON c.id = k.blob WHERE k.died IS NULL AND k.folder = %d AND c.encrypted))"
		 " ORDER BY e.folder, e.name",
		 IN(g, PK_F_OWN_CERTS), IN(g, PK_F_OWN_CERTS), IN(g, PK_F_OWN_PRIVATE),
		 IN(g, PK_F_OWN_CERTS), IN(g, PK_F_OWN_PRIVATE), IN(g, PK_F_OWN_CERTS),
		 IN(g, PK_F_OWN_PRIVATE));
	rows(d, "unpaired", sql);
	snprintf(sql, sizeof(sql),
		 "SELECT e.folder, e.name, 'also held as ' || (SELECT min(o.name) FROM entry o"
		 " WHERE o.died IS NULL AND o.folder = e.folder AND o.blob IN (SELECT id FROM "
		 "blob"
		 " WHERE thumb = b.thumb) AND o.name <> e.name) FROM entry e JOIN blob b"
		 " ON b.id = e.blob WHERE e.died IS NULL AND b.kind = %d AND e.folder IN (%d, "
		 "%d, %d)"
		 " AND EXISTS (SELECT 1 FROM entry o JOIN blob p ON p.id = o.blob WHERE"
		 " o.died IS NULL AND o.folder = e.folder AND p.thumb = b.thumb AND o.name < "
		 "e.name)"
		 " ORDER BY e.folder, e.name",
		 PK_KIND_CERT, IN(g, PK_F_OWN_CERTS), IN(g, PK_F_TRUSTED_CERTS),
		 IN(g, PK_F_ISSUERS_CERTS));
	rows(d, "duplicate", sql);
}

/* One inventory item: expired, past next update, weak key or signature. */
static int item_findings(void *ctx, const struct pk_item *it)
{
	struct doctor *d = ctx;
	const struct pk_details *x = &it->d;
	char path[600];
	int64_t now = (int64_t)time(NULL);

	if (pk_folder_role(it->folder) == PK_F_REJECTED)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", pk_folder_info(it->folder)->path, it->name);
	if (x->kind == PK_KIND_CERT && x->not_after && x->not_after < now)
		find(d, "expired", path, "expired %lld days ago",
		     (long long)((now - x->not_after) / 86400));
	if (x->kind == PK_KIND_CRL && x->not_after && x->not_after < now)
		find(d, "crl-stale", path,
		     "past its next update (%lld days): stacks reject "
		     "what its CA issued",
		     (long long)((now - x->not_after) / 86400));
	if (!strcmp(x->key_type, "RSA") && x->key_bits && x->key_bits < 2048)
		find(d, "weak-key", path, "RSA key of %d bits (2048 at least)", x->key_bits);
	if (strstr(x->sig_alg, "sha1") || strstr(x->sig_alg, "SHA1"))
		find(d, "weak-signature", path, "SHA-1 signature (%s)", x->sig_alg);
	return 0;
}

/* Group g's rejected folder near its cap. */
static void rejected_findings(struct doctor *d, enum pk_group g, int64_t cap)
{
	char sql[128];
	int64_t n;

	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM entry WHERE folder = %d AND died IS NULL",
		 IN(g, PK_F_REJECTED));
	n = pk_query_int(d->s, sql);
	if (cap > 0 && n * 10 >= cap * 9)
		find(d, "rejected-full", pk_folder_info(IN(g, PK_F_REJECTED))->path,
		     "%lld of %lld entries: the oldest are evicted as new clients are refused",
		     (long long)n, (long long)cap);
}

/* The rejected folders near their cap, the file's mode, the audit log's
 * size. */
static void file_findings(struct doctor *d, const char *db)
{
	int64_t cap =
		pk_query_int(d->s, "SELECT value FROM setting WHERE key = 'max_rejected'");
	int64_t audit = pk_query_int(d->s, "SELECT count(*) FROM audit");
	struct stat sb;

	if (cap <= 0)
		cap = d->s->limits.max_rejected;
	for (int g = 0; g < PK_G_COUNT; g++)
		rejected_findings(d, g, cap);
	if (db && stat(db, &sb) == 0 && (sb.st_mode & 077))
		find(d, "store-mode", db, "mode %04o: the store holds private keys; chmod 600",
		     (unsigned)(sb.st_mode & 07777));
	if (audit > 1000000)
		find(d, "audit-size", "-", "%lld audit rows (about %lld MB)", (long long)audit,
		     (long long)(audit * 120 / 1000000));
}

enum pk_err pk_doctor(struct pk_store *s, const char *db, pk_violation_fn fn, void *ctx,
		      unsigned *n, struct pk_status *st)
{
	struct doctor d = {s, fn, ctx, 0};
	enum pk_err e;

	pthread_mutex_lock(&s->lock);
	for (int g = 0; g < PK_G_COUNT; g++)
		store_findings(&d, g);
	file_findings(&d, db);
	pthread_mutex_unlock(&s->lock);
	e = pk_inventory(s, 0, item_findings, &d);
	*n = d.n;
	if (e != PK_OK)
		pk_fail(st, e, "cannot read the store");
	return e;
}
