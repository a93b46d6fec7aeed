/*
 * entry.c: row-level changes for the trust layer (see entry.h).
 */
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "entry.h"

/* Run a statement that returns no rows; map failure to pk_err. */
static enum pk_err exec_done(struct pk_store *s, sqlite3_stmt *q)
{
	int rc = q ? sqlite3_step(q) : sqlite3_errcode(s->db);

	if (q)
		sqlite3_reset(q);
	return rc == SQLITE_DONE ? PK_OK : pk_sql_fail(s, rc, NULL);
}

enum pk_err entry_get(struct pk_store *s, enum pk_folder f, const char *name,
		      struct entry_row *r)
{
	sqlite3_stmt *q = pk_stmt(s, Q_ENTRY_LOOKUP);
	int rc;

	if (!q)
		return pk_sql_fail(s, sqlite3_errcode(s->db), NULL);
	sqlite3_bind_int(q, 1, f);
	sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		pk_row_attr(q, 0, &r->attr);
		r->blob = sqlite3_column_int64(q, 7);
	}
	sqlite3_reset(q);
	if (rc == SQLITE_ROW)
		return PK_OK;
	return rc == SQLITE_DONE ? PK_E_NOENT : pk_sql_fail(s, rc, NULL);
}

enum pk_err blob_data(struct pk_store *s, int64_t blob, void **data, size_t *len)
{
	sqlite3_stmt *q = pk_stmt(s, Q_BLOB_DATA);
	enum pk_err e = PK_E_NOENT;
	int rc;

	if (!q)
		return pk_sql_fail(s, sqlite3_errcode(s->db), NULL);
	sqlite3_bind_int64(q, 1, blob);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		size_t n = (size_t)sqlite3_column_bytes(q, 0);
		*data = malloc(n ? n : 1);
		e = *data ? PK_OK : PK_E_NOMEM;
		if (*data && n)
			memcpy(*data, sqlite3_column_blob(q, 0), n);
		*len = n;
	} else if (rc != SQLITE_DONE) {
		e = pk_sql_fail(s, rc, NULL);
	}
	sqlite3_reset(q);
	return e;
}

enum pk_err entry_kill(struct pk_store *s, enum pk_folder f, const char *name)
{
	sqlite3_stmt *q = pk_stmt(s, Q_ENTRY_KILL);

	pk_note_changed(s, f, name);
	if (q) {
		sqlite3_bind_int(q, 1, f);
		sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 3, (sqlite3_int64)s->gen);
	}
	return exec_done(s, q);
}

enum pk_err entry_insert(struct pk_store *s, enum pk_folder f, const char *name,
			 const struct entry_row *r)
{
	sqlite3_stmt *q = pk_stmt(s, Q_ENTRY_INSERT);

	pk_note_changed(s, f, name);
	if (q) {
		sqlite3_bind_int64(q, 1, (sqlite3_int64)r->attr.ino);
		sqlite3_bind_int(q, 2, f);
		sqlite3_bind_text(q, 3, name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 4, r->blob);
		sqlite3_bind_int64(q, 5, (sqlite3_int64)r->attr.size);
		sqlite3_bind_int(q, 6, (int)r->attr.mode);
		sqlite3_bind_int64(q, 7, r->attr.uid);
		sqlite3_bind_int64(q, 8, r->attr.gid);
		sqlite3_bind_int64(q, 9, r->attr.mtime_ns);
		sqlite3_bind_int64(q, 10, r->attr.ctime_ns);
		sqlite3_bind_int64(q, 11, (sqlite3_int64)s->gen);
	}
	return exec_done(s, q);
}

/* Bind the parsed metadata of o to the blob insert statement. */
static void bind_object(sqlite3_stmt *q, const struct pk_object *o)
{
	sqlite3_bind_int(q, 3, o->kind);
	if (o->thumb[0])
		sqlite3_bind_text(q, 4, o->thumb, -1, SQLITE_STATIC);
	if (o->has_pubkey)
		sqlite3_bind_blob(q, 5, o->pubkey_sha256, 32, SQLITE_STATIC);
	if (o->kind == PK_KIND_CERT || o->kind == PK_KIND_CRL) {
		sqlite3_bind_int64(q, 6, o->subject_hash);
		sqlite3_bind_int64(q, 7, o->issuer_hash);
		sqlite3_bind_text(q, 10, o->subject, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 11, o->issuer, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 12, o->serial, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 13, o->not_before);
		sqlite3_bind_int64(q, 14, o->not_after);
	}
	sqlite3_bind_int(q, 8, o->is_ca);
	sqlite3_bind_int(q, 9, o->self_signed);
	sqlite3_bind_int(q, 15, o->key_cert_sign);
	sqlite3_bind_int(q, 16, o->encrypted);
}

/* Copy column i of q (text) into buf. */
static void column_text(sqlite3_stmt *q, int i, char *buf, size_t size)
{
	const unsigned char *t = sqlite3_column_text(q, i);

	snprintf(buf, size, "%s", t ? (const char *)t : "");
}

/* o from the row of q (Q_BLOB_META). */
static void row_object(sqlite3_stmt *q, struct pk_object *o)
{
	memset(o, 0, sizeof(*o));
	o->kind = sqlite3_column_int(q, 0);
	column_text(q, 1, o->thumb, sizeof(o->thumb));
	o->has_pubkey = sqlite3_column_bytes(q, 2) == 32;
	if (o->has_pubkey)
		memcpy(o->pubkey_sha256, sqlite3_column_blob(q, 2), 32);
	o->subject_hash = (uint32_t)sqlite3_column_int64(q, 3);
	o->issuer_hash = (uint32_t)sqlite3_column_int64(q, 4);
	o->is_ca = sqlite3_column_int(q, 5);
	o->key_cert_sign = sqlite3_column_int(q, 6);
	o->self_signed = sqlite3_column_int(q, 7);
	o->encrypted = sqlite3_column_int(q, 8);
	column_text(q, 9, o->subject, sizeof(o->subject));
	column_text(q, 10, o->issuer, sizeof(o->issuer));
	column_text(q, 11, o->serial, sizeof(o->serial));
	o->not_before = sqlite3_column_int64(q, 12);
	o->not_after = sqlite3_column_int64(q, 13);
}

enum pk_err blob_meta(struct pk_store *s, int64_t blob, struct pk_object *o)
{
	sqlite3_stmt *q = pk_stmt(s, Q_BLOB_META);
	int rc;

	if (!q)
		return pk_sql_fail(s, sqlite3_errcode(s->db), NULL);
	sqlite3_bind_int64(q, 1, blob);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		row_object(q, o);
	sqlite3_reset(q);
	return rc == SQLITE_ROW	   ? PK_OK
	       : rc == SQLITE_DONE ? PK_E_NOENT
				   : pk_sql_fail(s, rc, NULL);
}

enum pk_err blob_intern(struct pk_store *s, const void *data, size_t len,
			const struct pk_object *o, int64_t *id)
{
	unsigned char sha[SHA256_DIGEST_LENGTH];
	sqlite3_stmt *q = pk_stmt(s, Q_BLOB_FIND);
	int rc;

	SHA256(data, len, sha);
	if (!q)
		return pk_sql_fail(s, sqlite3_errcode(s->db), NULL);
	sqlite3_bind_blob(q, 1, sha, sizeof(sha), SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	if (rc == SQLITE_ROW)
		return PK_OK;
	if (rc != SQLITE_DONE)
		return pk_sql_fail(s, rc, NULL);
	q = pk_stmt(s, Q_BLOB_INSERT);
	sqlite3_bind_blob(q, 1, sha, sizeof(sha), SQLITE_STATIC);
	sqlite3_bind_blob(q, 2, len ? data : "", (int)len, SQLITE_STATIC);
	bind_object(q, o);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return pk_sql_fail(s, rc, NULL);
	*id = sqlite3_last_insert_rowid(s->db);
	return PK_OK;
}

enum pk_err dir_touch(struct pk_store *s, enum pk_folder f)
{
	sqlite3_stmt *q = pk_stmt(s, Q_DIR_TOUCH);

	pk_note_changed(s, f, NULL); /* generated views depend on the folder */
	if (q) {
		sqlite3_bind_int(q, 1, f);
		sqlite3_bind_int64(q, 2, pk_now_ns());
	}
	return exec_done(s, q);
}

enum pk_err dir_set(struct pk_store *s, enum pk_folder f, const struct pk_attr *a)
{
	sqlite3_stmt *q = pk_stmt(s, Q_DIR_SET);

	if (q) {
		sqlite3_bind_int(q, 1, f);
		sqlite3_bind_int(q, 2, (int)a->mode);
		sqlite3_bind_int64(q, 3, a->uid);
		sqlite3_bind_int64(q, 4, a->gid);
		sqlite3_bind_int64(q, 5, a->mtime_ns);
		sqlite3_bind_int64(q, 6, a->ctime_ns);
	}
	return exec_done(s, q);
}

/* Step q for one text column into name: PK_OK, PK_E_NOENT or error. */
static enum pk_err first_name(struct pk_store *s, sqlite3_stmt *q, char *name, size_t size)
{
	int rc = q ? sqlite3_step(q) : sqlite3_errcode(s->db);

	if (rc == SQLITE_ROW)
		snprintf(name, size, "%s", (const char *)sqlite3_column_text(q, 0));
	if (q)
		sqlite3_reset(q);
	if (rc == SQLITE_ROW)
		return PK_OK;
	return rc == SQLITE_DONE ? PK_E_NOENT : pk_sql_fail(s, rc, NULL);
}

enum pk_err thumb_holder(struct pk_store *s, enum pk_folder f, const char *thumb,
			 const char *except, char *name, size_t size)
{
	sqlite3_stmt *q = pk_stmt(s, Q_ENTRY_BY_THUMB);

	if (q) {
		sqlite3_bind_int(q, 1, f);
		sqlite3_bind_text(q, 2, thumb, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, except ? except : "", -1, SQLITE_STATIC);
	}
	return first_name(s, q, name, size);
}

enum pk_err pubkey_holder(struct pk_store *s, enum pk_folder f, const unsigned char pubkey[32],
			  char *name, size_t size)
{
	sqlite3_stmt *q = pk_stmt(s, Q_ENTRY_BY_PUBKEY);

	if (q) {
		sqlite3_bind_int(q, 1, f);
		sqlite3_bind_blob(q, 2, pubkey, 32, SQLITE_STATIC);
	}
	return first_name(s, q, name, size);
}

enum pk_err entry_forget(struct pk_store *s, enum pk_folder f, const char *name)
{
	sqlite3_stmt *q = pk_stmt(s, Q_ENTRY_FORGET);
	int rc, oom = 0;

	if (!q)
		return pk_sql_fail(s, sqlite3_errcode(s->db), NULL);
	sqlite3_bind_int(q, 1, f);
	sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)s->gen);
	/* the blobs go at commit, once the transaction's inserts are in */
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		oom |= pk_gc_note(s, sqlite3_column_int64(q, 0));
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return pk_sql_fail(s, rc, NULL);
	return oom ? PK_E_NOMEM : PK_OK;
}

int64_t entry_count(struct pk_store *s, enum pk_folder f)
{
	sqlite3_stmt *q = pk_stmt(s, Q_ENTRY_COUNT);
	int64_t n = -1;

	if (!q)
		return -1;
	sqlite3_bind_int(q, 1, f);
	if (sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return n;
}

enum pk_err entry_oldest(struct pk_store *s, enum pk_folder f, char *name, size_t size)
{
	sqlite3_stmt *q = pk_stmt(s, Q_ENTRY_OLDEST);

	if (q)
		sqlite3_bind_int(q, 1, f);
	return first_name(s, q, name, size);
}
