/*
 * attr.c: changing modes, owners and times of entries and folders.
 *
 * An entry's new attributes are a new row version (same ino, same blob), so
 * history and snapshots keep what the entry looked like before. Private keys
 * never get group or other permission bits. Mode and owner changes are
 * audited; time changes (rsync, tar, touch set them on every file) are not.
 */
#include <string.h>

#include "entry.h"
#include "pkifs/audit.h"
#include "pkifs/trust.h"

/* Copy the fields selected by which from a into out. */
static void apply(struct pk_attr *out, const struct pk_attr *a, unsigned which)
{
	if (which & PK_SET_MODE)
		out->mode = a->mode & 07777;
	if (which & PK_SET_UID)
		out->uid = a->uid;
	if (which & PK_SET_GID)
		out->gid = a->gid;
	if (which & PK_SET_MTIME)
		out->mtime_ns = a->mtime_ns;
	out->ctime_ns = pk_now_ns();
}

/* New attributes for a folder. */
static enum pk_err set_dir(struct pk_store *s, enum pk_folder f, const struct pk_attr *a,
			   unsigned which, struct pk_status *st)
{
	struct pk_attr cur = {0};
	sqlite3_stmt *q = pk_stmt(s, Q_DIR_GET);
	int rc = SQLITE_ERROR;

	if (q) {
		sqlite3_bind_int(q, 1, f);
		rc = sqlite3_step(q);
	}
	if (rc == SQLITE_ROW) {
		cur.mode = (unsigned)sqlite3_column_int(q, 0);
		cur.uid = (unsigned)sqlite3_column_int64(q, 1);
		cur.gid = (unsigned)sqlite3_column_int64(q, 2);
		cur.mtime_ns = sqlite3_column_int64(q, 3);
	}
	if (q)
		sqlite3_reset(q);
	if (rc != SQLITE_ROW)
		return pk_sql_fail(s, rc, st);
	apply(&cur, a, which);
	return dir_set(s, f, &cur);
}

/* New attributes for an entry: a new row version. */
static enum pk_err set_entry(struct pk_store *s, enum pk_folder f, const char *name,
			     const struct pk_attr *a, unsigned which, struct pk_status *st)
{
	struct entry_row row;
	enum pk_err e = entry_get(s, f, name, &row);

	if (e == PK_E_NOENT)
		return pk_fail(st, e, "%s/%s does not exist", pk_folder_info(f)->path, name);
	if (e != PK_OK)
		return pk_sql_fail(s, sqlite3_errcode(s->db), st);
	if ((which & PK_SET_MODE) && pk_folder_info(f)->content == PK_C_KEY && (a->mode & 077))
		return pk_fail(st, PK_E_PERM,
			       "private keys stay readable by their owner only (mode "
			       "0%o refused)",
			       a->mode & 07777);
	apply(&row.attr, a, which);
	e = entry_kill(s, f, name);
	if (e == PK_OK)
		e = entry_insert(s, f, name, &row);
	return e;
}

enum pk_err pk_trust_setattr(struct pk_store *s, const struct pk_caller *c, enum pk_folder f,
			     const char *name, const struct pk_attr *a, unsigned which,
			     struct pk_status *st)
{
	struct pk_audit_rec r = {"setattr", f, name, PK_F_NONE, NULL, NULL, c, PK_OK, NULL, 0};
	int audited = (which & (PK_SET_MODE | PK_SET_UID | PK_SET_GID)) != 0;
	char note[64];
	enum pk_err e;

	st->err = PK_OK;
	st->reason[0] = 0;
	snprintf(note, sizeof(note), "mode 0%o uid %u gid %u", a->mode & 07777, a->uid, a->gid);
	r.reason = note;
	pthread_mutex_lock(&s->lock);
	e = pk_tx_begin(s, st);
	if (e == PK_OK) {
		e = name ? set_entry(s, f, name, a, which, st) : set_dir(s, f, a, which, st);
		if (e == PK_OK && audited && name)
			e = pk_audit_append(s, &r);
		if (e == PK_OK)
			e = pk_tx_commit(s, st);
		else
			pk_tx_rollback(s);
	}
	if (e != PK_OK && st->err == PK_OK)
		pk_fail(st, e, "%s", sqlite3_errmsg(s->db));
	if (e != PK_OK && audited && name && pk_tx_begin(s, NULL) == PK_OK) {
		r.err = e;
		r.reason = st->reason;
		if (pk_audit_append(s, &r) != PK_OK || pk_tx_commit(s, NULL) != PK_OK)
			pk_tx_rollback(s);
	}
	pthread_mutex_unlock(&s->lock);
	return e;
}
