/*
 * attr.c: changing modes, owners and times of entries and folders.
 *
 * An entry's new attributes are a new row version (same ino, same blob), so
 * history and snapshots keep what the entry looked like before. Private keys
 * never get group or other permission bits (refused); their folder never
 * does either (the bits are dropped, so rsync -a and tar x of a tree made
 * under umask 022 still succeed). A change to what already is, is no
 * change: no generation, no audit row. Mode and owner changes of entries
 * and folders are audited with the old and the new value ("chmod": "mode
 * 0755 -> 0777", "chown": "owner 0:0 -> 0:1000", "setattr": both); time
 * changes (rsync, tar, touch set them on every file) are not.
 */
#include <string.h>

#include "audit_int.h"
#include "entry.h"

/* One change of attributes: what was, what will be, and the mode asked for
 * when group and other bits had to be dropped. */
struct change {
	struct pk_attr old, cur;
	unsigned asked;
	int dropped;
};

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

/* Which of mode (1) and owner (2) the change alters. */
static unsigned altered(const struct change *ch)
{
	unsigned m = ch->old.mode != ch->cur.mode || ch->dropped;
	unsigned o = ch->old.uid != ch->cur.uid || ch->old.gid != ch->cur.gid;

	return m | o << 1;
}

/* Are x and y the same mode, owner and mtime? */
static int same(const struct pk_attr *x, const struct pk_attr *y)
{
	return x->mode == y->mode && x->uid == y->uid && x->gid == y->gid &&
	       x->mtime_ns == y->mtime_ns;
}

/* Does the change leave everything as it was (ctime aside)? */
static int is_noop(const struct change *ch)
{
	return !ch->dropped && same(&ch->old, &ch->cur);
}

/* The audit op for a change of mode (1), owner (2) or both (3). */
static const char *op_name(unsigned what)
{
	return what == 1 ? "chmod" : what == 2 ? "chown" : what == 3 ? "setattr" : "utime";
}

/* The name the log gives entry f/name: the root folder itself is ".". */
static const char *log_name(enum pk_folder f, const char *name)
{
	return name || f != PK_F_ROOT ? name : ".";
}

/* The audit note of a change in folder f: old and new mode and owner. */
static void describe(const struct change *ch, enum pk_folder f, char *note, size_t size)
{
	unsigned what = altered(ch);
	int n = 0;

	note[0] = 0;
	if (what & 1)
		n = snprintf(note, size, "mode 0%03o -> 0%03o", ch->old.mode, ch->cur.mode);
	if (ch->dropped && n >= 0 && (size_t)n < size)
		n += snprintf(
			note + n, size - (size_t)n,
			" (asked 0%03o: group and other bits dropped, %s stays owner-only)",
			ch->asked, pk_folder_info(f)->path);
	if ((what & 2) && n >= 0 && (size_t)n < size)
		snprintf(note + n, size - (size_t)n, "%sowner %u:%u -> %u:%u", n ? ", " : "",
			 ch->old.uid, ch->old.gid, ch->cur.uid, ch->cur.gid);
}

/* The folder's current attributes. */
static enum pk_err dir_get(struct pk_store *s, enum pk_folder f, struct pk_attr *cur,
			   struct pk_status *st)
{
	sqlite3_stmt *q = pk_stmt(s, Q_DIR_GET);
	int rc = SQLITE_ERROR;

	if (q) {
		sqlite3_bind_int(q, 1, f);
		rc = sqlite3_step(q);
	}
	if (rc == SQLITE_ROW) {
		cur->mode = (unsigned)sqlite3_column_int(q, 0);
		cur->uid = (unsigned)sqlite3_column_int64(q, 1);
		cur->gid = (unsigned)sqlite3_column_int64(q, 2);
		cur->mtime_ns = sqlite3_column_int64(q, 3);
	}
	if (q)
		sqlite3_reset(q);
	return rc == SQLITE_ROW ? PK_OK : pk_sql_fail(s, rc, st);
}

/* New attributes for a folder; the key folder drops group and other bits. */
static enum pk_err set_dir(struct pk_store *s, enum pk_folder f, const struct pk_attr *a,
			   unsigned which, struct change *ch, struct pk_status *st)
{
	enum pk_err e = dir_get(s, f, &ch->old, st);

	if (e != PK_OK)
		return e;
	ch->cur = ch->old;
	apply(&ch->cur, a, which);
	if ((which & PK_SET_MODE) && pk_folder_dir_mode(f, ch->cur.mode) != ch->cur.mode) {
		ch->dropped = 1;
		ch->asked = ch->cur.mode;
		ch->cur.mode = pk_folder_dir_mode(f, ch->cur.mode);
	}
	if (same(&ch->old, &ch->cur))
		return PK_OK;	     /* nothing to store; a drop is still logged */
	pk_note_changed(s, f, NULL); /* cached under both spellings of its path */
	return dir_set(s, f, &ch->cur);
}

/* New attributes for an entry: a new row version. */
static enum pk_err set_entry(struct pk_store *s, enum pk_folder f, const char *name,
			     const struct pk_attr *a, unsigned which, struct change *ch,
			     struct pk_status *st)
{
	struct entry_row row;
	enum pk_err e = entry_get(s, f, name, &row);

	if (e == PK_E_NOENT)
		return pk_fail(st, e, "%s/%s does not exist", pk_folder_info(f)->path, name);
	if (e != PK_OK)
		return pk_sql_fail(s, sqlite3_errcode(s->db), st);
	if ((which & PK_SET_MODE) && pk_folder_check_mode(f, a->mode, st) != PK_OK)
		return st->err;
	ch->old = row.attr;
	apply(&row.attr, a, which);
	ch->cur = row.attr;
	if (is_noop(ch))
		return PK_OK;
	e = entry_kill(s, f, name);
	if (e == PK_OK)
		e = entry_insert(s, f, name, &row);
	return e;
}

/* Commit the change, with its audit row when it altered mode or owner
 * (and the refusals kept from failed transactions before it). */
static enum pk_err commit(struct pk_store *s, const struct pk_caller *c, enum pk_folder f,
			  const char *name, const struct change *ch, struct pk_status *st)
{
	char note[200];
	struct pk_audit_rec r = {op_name(altered(ch)),
				 f,
				 log_name(f, name),
				 PK_F_NONE,
				 NULL,
				 NULL,
				 c,
				 PK_OK,
				 note,
				 0};

	describe(ch, f, note, sizeof(note));
	return pk_audit_commit(s, altered(ch) ? &r : NULL, st);
}

/* The audit op of a refused change: what it asked to change. */
static const char *refused_name(unsigned which)
{
	return op_name((which & PK_SET_MODE ? 1u : 0u) |
		       (which & (PK_SET_UID | PK_SET_GID) ? 2u : 0u));
}

/* Make the change inside the running transaction and commit it; a change
 * to what already is rolls back (no generation, no row). */
static enum pk_err change(struct pk_store *s, const struct pk_caller *c, enum pk_folder f,
			  const char *name, const struct pk_attr *a, unsigned which,
			  struct pk_status *st)
{
	struct change ch = {0};
	enum pk_err e = name ? set_entry(s, f, name, a, which, &ch, st)
			     : set_dir(s, f, a, which, &ch, st);

	if (e != PK_OK || is_noop(&ch)) {
		pk_tx_rollback(s);
		return e;
	}
	return commit(s, c, f, name, &ch, st);
}

enum pk_err pk_trust_setattr(struct pk_store *s, const struct pk_caller *c, enum pk_folder f,
			     const char *name, const struct pk_attr *a, unsigned which,
			     struct pk_status *st)
{
	struct pk_audit_rec r = {
		refused_name(which), f, log_name(f, name), PK_F_NONE, NULL, NULL, c, PK_OK,
		st->reason,	     0};
	enum pk_err e;

	st->err = PK_OK;
	st->reason[0] = 0;
	pthread_mutex_lock(&s->lock);
	e = pk_tx_begin(s, st);
	if (e == PK_OK)
		e = change(s, c, f, name, a, which, st);
	if (e != PK_OK && st->err == PK_OK)
		pk_fail(st, e, "%s", sqlite3_errmsg(s->db));
	r.err = st->err;
	if (e != PK_OK) /* in a transaction of its own, or kept for the next */
		pk_audit_refusal(s, &r);
	pthread_mutex_unlock(&s->lock);
	return e;
}
