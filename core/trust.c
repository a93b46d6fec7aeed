/*
 * trust.c: the validated, audited operations that change the store.
 *
 * Shape of every operation: parse and check what needs no store outside
 * the lock; then, under the lock, one transaction that checks what needs
 * the store (duplicates, a CRL's CA), changes rows, bumps the folder's
 * mtime and appends the audit row. A refusal rolls everything back and is
 * audited in a transaction of its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_int.h"
#include "entry.h"
#include "trust_int.h"

/* What one operation is doing, for checks and the audit row. */
struct op {
	struct pk_store *s;
	const struct pk_caller *c;
	struct pk_status *st;
	struct pk_object obj;
	char held[41]; /* for the audit row: what an emptied name held */
	char note[320];
	uint64_t base; /* the fleet's log revision the checks saw */
};

/* How often a change a fleet's other machine overtook is validated again. */
#define FLEET_TRIES 3

/* f's changes go through the fleet's log. */
static int fleet(const struct pk_store *s, enum pk_folder f)
{
	return s->repl.commit && f != PK_F_NONE && pk_folder_info(f)->replicated;
}

/* The thumbprint the audit row names. */
static const char *audit_thumb(const struct op *op)
{
	return op->held[0] ? op->held : op->obj.thumb;
}

/* Make sure a failure is in st too (row helpers report none), in words. */
static enum pk_err settle(struct op *op, enum pk_err e)
{
	if (e != PK_OK && op->st->err == PK_OK)
		pk_fail(op->st, e, "%s",
			e == PK_E_READONLY ? "the database is read-only"
					   : sqlite3_errmsg(op->s->db));
	return e;
}

/* Audit a refusal in its own transaction (best effort: the refusal stands). */
static void audit_refusal(struct op *op, const char *what, enum pk_folder f, const char *name,
			  enum pk_folder f2, const char *n2)
{
	struct pk_audit_rec r = {what,	f,	     name,	     f2, n2, audit_thumb(op),
				 op->c, op->st->err, op->st->reason, 0};

	pk_audit_refusal(op->s, &r);
}

/* A file dropped into f's parent and filed in f (PK_DROPPED): say so. */
static void note_dropped(struct op *op, enum pk_folder f, unsigned flags)
{
	char note[sizeof(op->note)];

	if (!(flags & PK_DROPPED))
		return;
	snprintf(note, sizeof(note), "dropped into %s/%s%.200s",
		 pk_folder_info(pk_folder_info(f)->parent)->path, op->note[0] ? "; " : "",
		 op->note);
	memcpy(op->note, note, sizeof(note));
}

/* Commit with an audit row for the accepted operation. */
static enum pk_err commit_ok(struct op *op, const char *what, enum pk_folder f,
			     const char *name, enum pk_folder f2, const char *n2)
{
	struct pk_audit_rec r = {what,	f,     name,	 f2, n2, audit_thumb(op),
				 op->c, PK_OK, op->note, 0};

	return pk_audit_commit(op->s, &r, op->st);
}

/* A CRL of folder f must verify with a CA certificate in the trusted/certs
 * or issuers/certs of f's certificate group. */
static enum pk_err check_crl(struct op *op, enum pk_folder f, const void *crl, size_t len)
{
	sqlite3_stmt *q = pk_stmt(op->s, Q_CA_BY_HASH);
	enum pk_group g = pk_folder_group(f);
	enum pk_folder tc = pk_folder_in_group(g, PK_F_TRUSTED_CERTS);
	enum pk_folder ic = pk_folder_in_group(g, PK_F_ISSUERS_CERTS);
	enum pk_err e = PK_E_NO_ISSUER;
	struct pk_status why = {0};

	if (!q)
		return pk_sql_fail(op->s, sqlite3_errcode(op->s->db), op->st);
	sqlite3_bind_int64(q, 1, op->obj.issuer_hash);
	sqlite3_bind_int(q, 2, tc);
	sqlite3_bind_int(q, 3, ic);
	while (e != PK_OK && sqlite3_step(q) == SQLITE_ROW) {
		e = pk_crl_verify(crl, len, sqlite3_column_blob(q, 0),
				  (size_t)sqlite3_column_bytes(q, 0), &why);
		if (e == PK_OK)
			snprintf(op->note, sizeof(op->note), "signed by %s/%s",
				 pk_folder_info(sqlite3_column_int(q, 1))->path,
				 sqlite3_column_text(q, 2));
	}
	sqlite3_reset(q);
	if (e == PK_E_NO_ISSUER)
		return pk_fail(op->st, e, "no CA certificate for CRL issuer %s in %s or %s",
			       op->obj.issuer, pk_folder_info(tc)->path,
			       pk_folder_info(ic)->path);
	if (e != PK_OK)
		return pk_fail(op->st, PK_E_BAD_SIG, "CRL of %s: %s", op->obj.issuer,
			       why.reason);
	return PK_OK;
}

/* A second name for a certificate a trust folder already holds is allowed
 * (editors and `sed -i` write a copy beside the original, then rename it
 * over): note the other name for the audit row. rejected/ refreshes. */
static enum pk_err note_duplicate(struct op *op, enum pk_folder f, const char *name)
{
	char other[256];
	enum pk_err e = thumb_holder(op->s, f, op->obj.thumb, name, other, sizeof(other));

	if (e == PK_E_NOENT)
		return PK_OK;
	if (e != PK_OK)
		return pk_fail(op->st, e, "database error looking for duplicates");
	snprintf(op->note, sizeof(op->note), "also held as %s/%s", pk_folder_info(f)->path,
		 other);
	return PK_OK;
}

/* Note which own certificate a key pairs with, or the reverse (within the
 * group). */
static void note_pairing(struct op *op, enum pk_folder f)
{
	enum pk_folder r = pk_folder_role(f);
	enum pk_folder other = pk_folder_in_group(
		pk_folder_group(f), r == PK_F_OWN_PRIVATE ? PK_F_OWN_CERTS : PK_F_OWN_PRIVATE);
	char name[256];

	if ((r != PK_F_OWN_PRIVATE && r != PK_F_OWN_CERTS) || !op->obj.has_pubkey) {
		if (r == PK_F_OWN_PRIVATE && op->obj.encrypted)
			snprintf(op->note, sizeof(op->note),
				 "encrypted key: pairing not checked");
		return;
	}
	if (pubkey_holder(op->s, other, op->obj.pubkey_sha256, name, sizeof(name)) == PK_OK)
		snprintf(op->note, sizeof(op->note), "paired with %s/%s",
			 pk_folder_info(other)->path, name);
	else if (r == PK_F_OWN_PRIVATE)
		snprintf(op->note, sizeof(op->note),
			 "no own certificate with this public key yet");
}

/* Every rule of folder f for the object in op; data is the file's bytes. */
static enum pk_err check_content(struct op *op, enum pk_folder f, const char *name,
				 const void *data, size_t len)
{
	enum pk_content content = pk_folder_info(f)->content;
	enum pk_err e = pk_folder_check(f, &op->obj, op->st);

	if (e != PK_OK || op->obj.kind == PK_KIND_EMPTY)
		return e;
	if (content == PK_C_CRL)
		return check_crl(op, f, data, len);
	if (content == PK_C_CERT || content == PK_C_CA_CERT)
		e = note_duplicate(op, f, name);
	if (e == PK_OK && !op->note[0])
		note_pairing(op, f);
	return e;
}

/* A rejected folder f: drop other names holding this certificate (a
 * refresh). */
static enum pk_err refresh_rejected(struct op *op, enum pk_folder f, const char *name)
{
	char other[256];
	enum pk_err e;

	while ((e = thumb_holder(op->s, f, op->obj.thumb, name, other, sizeof(other))) ==
	       PK_OK) {
		e = entry_kill(op->s, f, other);
		if (e == PK_OK)
			e = entry_forget(op->s, f, other);
		if (e != PK_OK)
			return e;
		snprintf(op->note, sizeof(op->note), "refreshed; was %s", other);
	}
	return e == PK_E_NOENT ? PK_OK : e;
}

/* A rejected folder f (each group has one, each with the cap): evict the
 * oldest entries beyond the cap, each audited. */
static enum pk_err cap_rejected(struct op *op, enum pk_folder f)
{
	char oldest[256], why[64];
	enum pk_err e = PK_OK;

	snprintf(why, sizeof(why), "%s/ is over its cap", pk_folder_info(f)->path);
	while (e == PK_OK && entry_count(op->s, f) > (int64_t)op->s->limits.max_rejected) {
		struct pk_audit_rec r = {"evict", f,	 oldest, PK_F_NONE, NULL,
					 NULL,	  op->c, PK_OK,	 why,	    0};
		e = entry_oldest(op->s, f, oldest, sizeof(oldest));
		if (e == PK_OK)
			e = entry_kill(op->s, f, oldest);
		if (e == PK_OK)
			e = entry_forget(op->s, f, oldest);
		if (e == PK_OK)
			e = pk_audit_append(op->s, &r);
	}
	return e;
}

/* Write row as f/name, replacing what is there unless PK_NOREPLACE. */
static enum pk_err place(struct op *op, enum pk_folder f, const char *name,
			 struct entry_row *row, unsigned flags)
{
	struct entry_row old = {0};
	enum pk_err e = entry_get(op->s, f, name, &old);
	int rejected = pk_folder_info(f)->content == PK_C_REJECTED;

	if (e == PK_OK && (flags & PK_NOREPLACE))
		return pk_fail(op->st, PK_E_EXISTS, "%s/%s exists", pk_folder_info(f)->path,
			       name);
	if (e == PK_OK)
		e = entry_kill(op->s, f, name);
	else if (e == PK_E_NOENT)
		e = PK_OK;
	if (e == PK_OK && rejected && op->obj.kind == PK_KIND_CERT)
		e = refresh_rejected(op, f, name);
	if (!row->attr.ino)
		row->attr.ino = old.attr.ino ? old.attr.ino : op->s->next_ino++;
	row->attr.mode = pk_folder_entry_mode(f, row->attr.mode);
	if (e == PK_OK)
		e = entry_insert(op->s, f, name, row);
	if (e == PK_OK && rejected)
		e = cap_rejected(op, f);
	if (e == PK_OK)
		e = dir_touch(op->s, f);
	if (e != PK_OK && op->st->err == PK_OK)
		pk_sql_fail(op->s, sqlite3_errcode(op->s->db), op->st);
	return e;
}

/* Folder f's size cap. */
static enum pk_err check_size(struct op *op, enum pk_folder f, size_t len)
{
	size_t max = pk_folder_max_size(&op->s->limits, f);

	if (len > max && max > 0)
		return pk_fail(op->st, PK_E_TOO_BIG, "%zu bytes is over the %zu byte cap of %s",
			       len, max, pk_folder_info(f)->path);
	return PK_OK;
}

/* Parse data and apply the checks that need no store. */
static enum pk_err precheck(struct op *op, enum pk_folder f, const void *data, size_t len)
{
	enum pk_err e = check_size(op, f, len);

	if (e != PK_OK)
		return e;
	e = pk_object_parse(data, len, &op->obj, op->st);
	if (e != PK_OK && pk_folder_info(f)->content == PK_C_AUX) {
		/* auxiliary files are kept verbatim, whatever they look like */
		memset(&op->obj, 0, sizeof(op->obj));
		op->obj.kind = PK_KIND_NONE;
		op->st->err = PK_OK;
		op->st->reason[0] = 0;
		e = PK_OK;
	}
	if (e != PK_OK)
		return e;
	return pk_folder_check(f, &op->obj, op->st);
}

/* The audit name of a put: "truncate" when it empties a name that held a
 * certificate, CRL or key (it is no longer trusted, or no longer the key),
 * with what it held; "put" otherwise. */
static const char *put_name(struct op *op, enum pk_folder f, const char *name, size_t len)
{
	struct entry_row old;
	struct pk_object held;

	if (len || entry_get(op->s, f, name, &old) != PK_OK || !old.attr.size ||
	    blob_meta(op->s, old.blob, &held) != PK_OK || held.kind == PK_KIND_NONE)
		return "put";
	snprintf(op->held, sizeof(op->held), "%s", held.thumb);
	snprintf(op->note, sizeof(op->note), "emptied: no longer holds %s",
		 pk_kind_words(held.kind));
	return "truncate";
}

/* The rows of one put inside the running transaction; *what gets its
 * audit name. */
static enum pk_err put_rows(struct op *op, enum pk_folder f, const char *name,
			    const struct pk_file *file, unsigned flags, const char **what)
{
	struct entry_row row = {.attr = file->attr};
	enum pk_err e = check_content(op, f, name, file->data, file->len);

	if (e == PK_OK)
		*what = put_name(op, f, name, file->len);
	if (e == PK_OK)
		e = blob_intern(op->s, file->data, file->len, &op->obj, &row.blob);
	row.attr.size = file->len;
	row.attr.ctime_ns = pk_now_ns();
	if (e == PK_OK)
		e = place(op, f, name, &row, flags);
	note_dropped(op, f, flags);
	return e;
}

/* A change for the fleet's log passed the checks: note the log revision
 * they saw and undo the rows (the log's copy of it is what gets applied). */
static void validated(struct op *op)
{
	op->base = pk_replica_rev_locked(op->s);
	pk_tx_rollback(op->s);
}

/* Hand validated changes to the fleet's log; a refusal there (no quorum)
 * is audited like any other. */
static enum pk_err hand_on(struct op *op, const char *what, const struct pk_repl_change *ch,
			   size_t n, enum pk_folder f, const char *name, enum pk_folder f2,
			   const char *n2)
{
	struct pk_store *s = op->s;
	enum pk_err e = s->repl.commit(s->repl.ctx, op->c, what, op->base, ch, n, op->st);

	if (e != PK_OK) {
		pthread_mutex_lock(&s->lock);
		audit_refusal(op, what, f, name, f2, n2);
		pthread_mutex_unlock(&s->lock);
	}
	return e;
}

static enum pk_err put_once(struct pk_store *s, const struct pk_caller *c, enum pk_folder f,
			    const char *name, const struct pk_file *file, unsigned flags,
			    struct pk_status *st)
{
	struct op op = {.s = s, .c = c, .st = st};
	const char *what = "put";
	enum pk_err e;

	st->err = PK_OK;
	st->reason[0] = 0;
	e = precheck(&op, f, file->data, file->len);
	pthread_mutex_lock(&s->lock);
	if (e == PK_OK)
		e = pk_tx_begin(s, st);
	if (e == PK_OK) {
		e = put_rows(&op, f, name, file, flags, &what);
		if (e == PK_OK && !fleet(s, f))
			e = commit_ok(&op, what, f, name, PK_F_NONE, NULL);
		else
			validated(&op);
	}
	if (settle(&op, e) != PK_OK)
		audit_refusal(&op, what, f, name, PK_F_NONE, NULL);
	pthread_mutex_unlock(&s->lock);
	if (e == PK_OK && fleet(s, f)) {
		struct pk_repl_change ch = {.f = f,
					    .name = name,
					    .data = file->data,
					    .len = file->len,
					    .mode = file->attr.mode,
					    .mtime_ns = file->attr.mtime_ns,
					    .ino = file->attr.ino};
		e = hand_on(&op, what, &ch, 1, f, name, PK_F_NONE, NULL);
	}
	return e;
}

enum pk_err pk_trust_put(struct pk_store *s, const struct pk_caller *c, enum pk_folder f,
			 const char *name, const struct pk_file *file, unsigned flags,
			 struct pk_status *st)
{
	enum pk_err e;
	int tries = 0;

	do
		e = put_once(s, c, f, name, file, flags, st);
	while (e == PK_E_BUSY && fleet(s, f) && ++tries < FLEET_TRIES);
	return e;
}

/* The first put of a pair, audited inside the running transaction. */
static enum pk_err put_first(struct op *op, const struct pk_put *p)
{
	const char *what = "put";
	enum pk_err e = put_rows(op, p->folder, p->name, p->file, p->flags, &what);
	struct pk_audit_rec r = {what,	p->folder, p->name,  PK_F_NONE, NULL, audit_thumb(op),
				 op->c, PK_OK,	   op->note, 0};

	if (e == PK_OK && (e = pk_audit_append(op->s, &r)) != PK_OK)
		pk_sql_fail(op->s, sqlite3_errcode(op->s->db), op->st);
	return e;
}

enum pk_err pk_trust_put_pair(struct pk_store *s, const struct pk_caller *c,
			      const struct pk_put *a, const struct pk_put *b,
			      struct pk_status *st)
{
	struct op op[2] = {{.s = s, .c = c, .st = st}, {.s = s, .c = c, .st = st}};
	const struct pk_put *p[2] = {a, b};
	const char *what = "put";
	enum pk_err e = PK_OK;
	int at = 0; /* the put being done, or that failed */

	st->err = PK_OK;
	st->reason[0] = 0;
	for (at = 0; at < 2 && e == PK_OK; at++)
		e = precheck(&op[at], p[at]->folder, p[at]->file->data, p[at]->file->len);
	at = e == PK_OK ? 0 : at - 1;
	pthread_mutex_lock(&s->lock);
	if (e == PK_OK && (e = pk_tx_begin(s, st)) == PK_OK) {
		e = put_first(&op[0], a);
		if (e == PK_OK) {
			at = 1;
			e = put_rows(&op[1], b->folder, b->name, b->file, b->flags, &what);
		}
		if (e == PK_OK)
			e = commit_ok(&op[1], what, b->folder, b->name, PK_F_NONE, NULL);
		else
			pk_tx_rollback(s);
	}
	if (settle(&op[at], e) != PK_OK)
		audit_refusal(&op[at], "put", p[at]->folder, p[at]->name, PK_F_NONE, NULL);
	pthread_mutex_unlock(&s->lock);
	return e;
}

/* The audit name of a move: trust, distrust, or a plain rename. */
static const char *move_name(enum pk_folder f1, enum pk_folder f2)
{
	int r1 = pk_folder_role(f1) == PK_F_REJECTED, r2 = pk_folder_role(f2) == PK_F_REJECTED;

	if (r1 && !r2)
		return "trust";
	if (r2 && !r1)
		return "distrust";
	return "rename";
}

/* A certificate or key moves on the metadata parsed when it was stored: a
 * trust operation parses nothing (OpenSSL's parse was most of a move's
 * time). Its bytes are what was parsed then, under the same rules. */
static int stored_is_enough(const struct pk_object *o)
{
	return o->kind == PK_KIND_CERT || o->kind == PK_KIND_KEY || o->kind == PK_KIND_PKCS12;
}

/* Load the source entry, then check it against f2's rules; CRLs and files
 * that are no PKI object are parsed again (a CRL's signature is checked
 * against the CAs the store has now). */
static enum pk_err move_check(struct op *op, enum pk_folder f1, const char *n1,
			      enum pk_folder f2, const char *n2, struct entry_row *row)
{
	void *data = NULL;
	size_t len = 0;
	enum pk_err e = entry_get(op->s, f1, n1, row);

	if (e == PK_E_NOENT)
		return pk_fail(op->st, e, "%s/%s does not exist", pk_folder_info(f1)->path, n1);
	if (e == PK_OK)
		e = blob_meta(op->s, row->blob, &op->obj);
	if (e == PK_OK && stored_is_enough(&op->obj)) {
		if (f1 != f2 && (e = check_size(op, f2, (size_t)row->attr.size)) == PK_OK)
			e = check_content(op, f2, n2, NULL, 0);
		return e;
	}
	if (e == PK_OK)
		e = blob_data(op->s, row->blob, &data, &len);
	if (e != PK_OK && op->st->err == PK_OK)
		pk_sql_fail(op->s, sqlite3_errcode(op->s->db), op->st);
	/* within a folder of files kept verbatim there is nothing to parse */
	if (e == PK_OK && f1 == f2 && pk_folder_info(f1)->content != PK_C_AUX)
		e = pk_object_parse(data, len, &op->obj, op->st);
	else if (e == PK_OK)
		e = precheck(op, f2, data, len);
	if (e == PK_OK && f1 != f2)
		e = check_content(op, f2, n2, data, len);
	free(data);
	return e;
}

/* A move that passed its checks, as the fleet's log sees it: the source
 * goes if it is replicated, the destination comes with the source's bytes
 * if it is. *data is malloc'd. */
static int fleet_move(struct op *op, const struct entry_row *row, enum pk_folder f1,
		      const char *n1, enum pk_folder f2, const char *n2,
		      struct pk_repl_change ch[2], void **data, size_t *size)
{
	size_t len = 0;
	int n = 0;

	if (blob_data(op->s, row->blob, data, &len) != PK_OK) {
		pk_sql_fail(op->s, sqlite3_errcode(op->s->db), op->st);
		return -1;
	}
	if (fleet(op->s, f1))
		ch[n++] = (struct pk_repl_change){.f = f1, .name = n1};
	if (fleet(op->s, f2))
		ch[n++] = (struct pk_repl_change){.f = f2,
						  .name = n2,
						  .data = *data ? *data : "",
						  .len = len,
						  .mode = row->attr.mode,
						  .mtime_ns = row->attr.mtime_ns,
						  .ino = row->attr.ino};
	*size = len;
	return n;
}

/* The rest of a move between a replicated folder and a local one, once
 * the log has the replicated half: put or remove the local half. */
static enum pk_err local_half(struct op *op, enum pk_folder f1, const char *n1,
			      enum pk_folder f2, const char *n2, const struct entry_row *row,
			      const void *data, size_t len)
{
	struct pk_file file = {data, len, {0, row->attr.mode, 0, 0, row->attr.mtime_ns, 0, 0}};

	if (!fleet(op->s, f1)) {
		enum pk_err e = pk_trust_remove(op->s, op->c, f1, n1, op->st);
		if (e == PK_E_NOENT) { /* the applied change took it (unreject) */
			op->st->err = PK_OK;
			op->st->reason[0] = 0;
			e = PK_OK;
		}
		return e;
	}
	if (!fleet(op->s, f2)) {
		file.attr.uid = op->c->uid;
		file.attr.gid = op->c->gid;
		return pk_trust_put(op->s, op->c, f2, n2, &file, 0, op->st);
	}
	return PK_OK;
}

static enum pk_err rename_once(struct pk_store *s, const struct pk_caller *c, enum pk_folder f1,
			       const char *n1, enum pk_folder f2, const char *n2, unsigned flags,
			       struct pk_status *st)
{
	struct op op = {.s = s, .c = c, .st = st};
	struct entry_row row;
	const char *what = move_name(f1, f2);
	int same = f1 == f2 && strcmp(n1, n2) == 0;
	int shared = !same && (fleet(s, f1) || fleet(s, f2));
	struct pk_repl_change ch[2];
	void *data = NULL;
	size_t len = 0;
	int n = 0;
	enum pk_err e;

	st->err = PK_OK;
	st->reason[0] = 0;
	pthread_mutex_lock(&s->lock);
	e = pk_tx_begin(s, st);
	if (e == PK_OK) {
		e = move_check(&op, f1, n1, f2, n2, &row);
		if (e == PK_OK && !same) {
			row.attr.ctime_ns = pk_now_ns();
			e = entry_kill(s, f1, n1);
			if (e == PK_OK)
				e = place(&op, f2, n2, &row, flags);
			if (e == PK_OK)
				e = dir_touch(s, f1);
		}
		note_dropped(&op, f2, flags);
		if (e == PK_OK && shared && (n = fleet_move(&op, &row, f1, n1, f2, n2, ch, &data, &len)) < 0)
			e = op.st->err;
		if (e == PK_OK && !shared)
			e = commit_ok(&op, what, f1, n1, f2, n2);
		else if (e == PK_OK)
			validated(&op);
		else
			pk_tx_rollback(s);
	}
	if (settle(&op, e) != PK_OK)
		audit_refusal(&op, what, f1, n1, f2, n2);
	pthread_mutex_unlock(&s->lock);
	if (e == PK_OK && shared)
		e = hand_on(&op, what, ch, (size_t)n, f1, n1, f2, n2);
	if (e == PK_OK && shared)
		e = local_half(&op, f1, n1, f2, n2, &row, data, len);
	free(data);
	return e;
}

enum pk_err pk_trust_rename(struct pk_store *s, const struct pk_caller *c, enum pk_folder f1,
			    const char *n1, enum pk_folder f2, const char *n2, unsigned flags,
			    struct pk_status *st)
{
	enum pk_err e;
	int tries = 0;

	do
		e = rename_once(s, c, f1, n1, f2, n2, flags, st);
	while (e == PK_E_BUSY && (fleet(s, f1) || fleet(s, f2)) && ++tries < FLEET_TRIES);
	return e;
}

/* The rows of a removal of f/name inside the running transaction. */
static enum pk_err remove_rows(struct op *op, enum pk_folder f, const char *name)
{
	struct entry_row row;
	enum pk_err e = entry_get(op->s, f, name, &row);

	if (e == PK_E_NOENT)
		pk_fail(op->st, e, "%s/%s does not exist", pk_folder_info(f)->path, name);
	if (e == PK_OK)
		e = entry_kill(op->s, f, name);
	if (e == PK_OK)
		e = dir_touch(op->s, f);
	return e;
}

static enum pk_err remove_once(struct pk_store *s, const struct pk_caller *c, enum pk_folder f,
			       const char *name, struct pk_status *st)
{
	struct op op = {.s = s, .c = c, .st = st};
	struct pk_repl_change ch = {.f = f, .name = name};
	enum pk_err e;

	st->err = PK_OK;
	st->reason[0] = 0;
	pthread_mutex_lock(&s->lock);
	e = pk_tx_begin(s, st);
	if (e == PK_OK) {
		e = remove_rows(&op, f, name);
		if (e == PK_OK && !fleet(s, f))
			e = commit_ok(&op, "remove", f, name, PK_F_NONE, NULL);
		else if (e == PK_OK)
			validated(&op);
		else
			pk_tx_rollback(s);
	}
	settle(&op, e);
	pthread_mutex_unlock(&s->lock);
	if (e == PK_OK && fleet(s, f))
		e = hand_on(&op, "remove", &ch, 1, f, name, PK_F_NONE, NULL);
	return e;
}

enum pk_err pk_trust_remove(struct pk_store *s, const struct pk_caller *c, enum pk_folder f,
			    const char *name, struct pk_status *st)
{
	enum pk_err e;
	int tries = 0;

	do
		e = remove_once(s, c, f, name, st);
	while (e == PK_E_BUSY && fleet(s, f) && ++tries < FLEET_TRIES);
	return e;
}

/* A certificate the fleet trusts (or holds as an issuer) leaves this
 * machine's rejected/ of its group: stacks look there first (node-opcua
 * refuses what rejected/ holds before it looks at trusted/), so a client
 * refused here and trusted elsewhere must not stay refused here. */
static enum pk_err unreject(struct op *op, enum pk_folder f, const char *note)
{
	enum pk_folder r = pk_folder_in_group(pk_folder_group(f), PK_F_REJECTED);
	char name[256], why[400];
	enum pk_err e = PK_OK;

	if (op->obj.kind != PK_KIND_CERT || pk_folder_info(f)->content == PK_C_CRL)
		return PK_OK;
	snprintf(why, sizeof(why), "%s/ holds it now (%s)", pk_folder_info(f)->path, note);
	while (e == PK_OK && thumb_holder(op->s, r, op->obj.thumb, NULL, name, sizeof(name)) ==
				     PK_OK) {
		struct pk_audit_rec a = {"remove", r,	  name,	 PK_F_NONE, NULL,
					 op->obj.thumb, op->c, PK_OK, why,	 0};
		e = entry_kill(op->s, r, name);
		if (e == PK_OK)
			e = entry_forget(op->s, r, name);
		if (e == PK_OK)
			e = dir_touch(op->s, r);
		if (e == PK_OK)
			e = pk_audit_append(op->s, &a);
	}
	return e;
}

/* Join the log's note and the checks' own ("also held as ..."). */
static void apply_note(struct op *op, const char *note)
{
	char own[sizeof(op->note)];

	snprintf(own, sizeof(own), "%s", op->note);
	snprintf(op->note, sizeof(op->note), "%s%s%.200s", note, own[0] ? "; " : "", own);
}

enum pk_err pk_trust_apply(struct pk_store *s, const struct pk_caller *c, const char *what,
			   const char *note, const struct pk_repl_change *ch,
			   struct pk_status *st)
{
	struct op op = {.s = s, .c = c, .st = st};
	struct pk_file file = {ch->data, ch->len,
			       {ch->ino, ch->mode, c->uid, c->gid, ch->mtime_ns, 0, 0}};
	struct entry_row row;
	const char *put_what = what;
	enum pk_err e;

	if (!ch->data) {
		if (entry_get(s, ch->f, ch->name, &row) == PK_E_NOENT)
			return PK_OK; /* never here, or gone already */
		e = remove_rows(&op, ch->f, ch->name);
	} else {
		e = precheck(&op, ch->f, ch->data, ch->len);
		if (e == PK_OK)
			e = put_rows(&op, ch->f, ch->name, &file, 0, &put_what);
		if (e == PK_OK)
			e = unreject(&op, ch->f, note);
	}
	apply_note(&op, note);
	if (e == PK_OK) {
		struct pk_audit_rec r = {ch->data ? what : "remove", ch->f, ch->name, PK_F_NONE,
					 NULL, audit_thumb(&op), c, PK_OK, op.note, 0};
		e = pk_audit_append(s, &r);
	}
	return settle(&op, e);
}

void pk_trust_refused(struct pk_store *s, const struct pk_caller *c, const char *what,
		      enum pk_folder f, const char *name, const struct pk_status *st)
{
	struct pk_status copy = *st;
	struct op op = {.s = s, .c = c, .st = &copy};

	pthread_mutex_lock(&s->lock);
	audit_refusal(&op, what, f, name, PK_F_NONE, NULL);
	pthread_mutex_unlock(&s->lock);
}
