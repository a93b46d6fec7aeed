/*
 * nameops.c: operations on names — unlink, rename, mkdir, rmdir.
 *
 * A rename of a committed file is one trust operation (trust, distrust or
 * a plain rename) under the destination folder's rules. A rename of a staged
 * file (rsync's .NAME.XXXXXX) onto a visible name is where its content is
 * checked and committed. Lock directories are the only directories that
 * can be made or removed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli_snapshot.h"
#include "ctx.h"
#include "drop.h"
#include "lockdir.h"
#include "roops.h"
#include "viewsink.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

/* Resolve path to a name inside a folder (not a folder itself). */
static int resolve_name(const char *path, struct node *n)
{
	int rc = fs_resolve_live(path, n);

	if (rc == 0 && n->type != NODE_NAME)
		return -EBUSY;
	return rc;
}

int fs_unlink(const char *path)
{
	struct pk_status st;
	struct pk_caller c;
	struct pending *p;
	struct node n;
	int rc = path_resolve(path, &n), staged = 0;

	if (rc == 0 && is_view(&n))
		return sink_unlink(&n);
	rc = resolve_name(path, &n);
	if (rc == -EROFS)
		return sink_refuse("unlink", &n);
	if (rc)
		return rc == -EBUSY ? -EISDIR : rc;
	p = pending_get(fs_pending(), n.folder, n.name);
	if (p) {
		if (p->isdir) {
			pending_put(p);
			return -EISDIR;
		}
		staged = p->staged;
		pending_lock(fs_pending());
		p->staged = 1; /* removed while open: its close commits nothing */
		pending_unlock(fs_pending());
		pending_unlist(p);
		pending_put(p);
		if (staged)
			return 0;
	}
	fs_caller(&c);
	if (pk_trust_remove(fs_store(), &c, n.folder, n.name, &st) != PK_OK)
		return p && st.err == PK_E_NOENT ? 0 : fs_error("remove", &st);
	return 0;
}

/* A refused rename: logged, and EPERM where EINVAL would make mv say "a
 * subdirectory of itself" (pk_err_rename_errno). */
static int rename_error(const struct pk_status *st)
{
	int rc = fs_error("rename", st);

	return rc == -EIO ? rc : -pk_err_rename_errno(st->err);
}

/* Commit staged file p as to (folder/name): rsync's rename over. */
static int rename_staged(struct pending *p, struct node *to, unsigned flags)
{
	struct pk_status st;
	struct pk_caller c;
	struct pk_file file;
	enum pk_folder f;
	enum pk_err e;

	if (to->name[0] == '.' && !pk_store_lookup(fs_store(), to->folder, to->name, NULL))
		return -EEXIST;
	if (to->name[0] == '.')
		return pending_rename(p, to->folder, to->name);
	fs_caller(&c);
	flags = flags & RENAME_NOREPLACE ? PK_NOREPLACE : 0;
	pending_lock(fs_pending());
	file.data = p->buf;
	file.len = p->len;
	file.attr = p->attr;
	e = drop_route(&c, "put", to->folder, to->name, p->buf, p->len, &f, &flags, &st);
	if (e == PK_OK)
		e = pk_trust_put(fs_store(), &c, f, to->name, &file, flags, &st);
	pending_unlock(fs_pending());
	if (e != PK_OK)
		return fs_error("put", &st);
	pending_unlist(p);
	if (f != to->folder)
		drop_forget(to->folder, to->name);
	return 0;
}

/* Rename a lock directory (a held lock handed on). */
static int rename_lockdir(struct pending *p, struct node *to)
{
	struct pending *q = pending_get(fs_pending(), to->folder, to->name);

	if (q) {
		pending_put(q);
		return -EEXIST;
	}
	if (pk_store_lookup(fs_store(), to->folder, to->name, NULL) == PK_OK)
		return -ENOTDIR;
	return pending_rename(p, to->folder, to->name);
}

/* Move committed a to b as one trust operation; a file dropped into
 * trusted/ or issuers/ is filed in its certs/ or crl/. */
static int rename_committed(struct node *a, struct node *b, unsigned flags)
{
	struct pk_status st = {0};
	struct pk_caller c;
	enum pk_folder f;
	unsigned fl = flags & RENAME_NOREPLACE ? PK_NOREPLACE : 0;

	fs_caller(&c);
	if (drop_route_entry(&c, a->folder, a->name, b->folder, b->name, &f, &fl, &st) != PK_OK)
		return rename_error(&st);
	/* RENAME_NOREPLACE speaks of the name asked for, which a drop folder
	 * never holds: mv tries it first, and an EEXIST for a name that stat
	 * then says is absent makes it fail ("cannot overwrite directory") */
	if (fl & PK_DROPPED)
		fl &= ~PK_NOREPLACE;
	if (pk_trust_rename(fs_store(), &c, a->folder, a->name, f, b->name, fl, &st) != PK_OK)
		return rename_error(&st);
	if (f != b->folder)
		drop_forget(b->folder, b->name); /* queued: the kernel holds our locks */
	return 0;
}

/* Rename a file someone is writing: its committed version (if any) moves
 * as a trust operation, and the writer's bytes follow to the new name, where
 * its close commits them under that folder's rules (POSIX: the open file
 * moves with its name). */
static int rename_writing(struct pending *p, struct node *a, struct node *b, unsigned flags)
{
	int rc = 0;

	if (pk_store_lookup(fs_store(), a->folder, a->name, NULL) == PK_OK)
		rc = rename_committed(a, b, flags);
	return rc ? rc : pending_rename(p, b->folder, b->name);
}

/* Log a rename that fs/ refuses before the store is asked: a folder
 * (EBUSY), or a read-only area (EROFS). */
static int refuse_rename(const char *from, const char *to, int rc)
{
	if (rc == -EBUSY)
		return fs_refuse("rename", PK_F_ROOT, from + 1, PK_E_BUSY,
				 "the folders of a PKI tree cannot be renamed (to %.200s)",
				 to + 1);
	return fs_refuse("rename", PK_F_ROOT, from + 1, PK_E_READONLY,
			 "snapshots and generated views are read-only (to %.200s)", to + 1);
}

/* A rename's new name: usable (path_name_ok), else EPERM (logged). */
static int check_target(const struct node *b)
{
	char why[160];

	if (path_name_ok(b->name, why, sizeof(why)))
		return 0;
	return fs_refuse("rename", b->folder, b->name, PK_E_PERM, "%s", why);
}

int fs_rename(const char *from, const char *to, unsigned int flags)
{
	struct node a, b;
	struct pending *p;
	int rc = path_resolve(from, &a);

	if (!rc)
		rc = path_resolve(to, &b);
	if (!rc && is_view(&b))
		return sink_rename(&a, &b);
	rc = resolve_name(from, &a);
	if (!rc)
		rc = resolve_name(to, &b);
	if (rc == -EBUSY || rc == -EROFS)
		return refuse_rename(from, to, rc);
	if (rc)
		return rc;
	if (flags & RENAME_EXCHANGE)
		return -EINVAL;
	if ((rc = check_target(&b)))
		return rc;
	p = pending_get(fs_pending(), a.folder, a.name);
	if (!p)
		return rename_committed(&a, &b, flags);
	rc = p->isdir	 ? rename_lockdir(p, &b)
	     : p->staged ? rename_staged(p, &b, flags)
			 : rename_writing(p, &a, &b, flags);
	pending_put(p);
	return rc;
}

/* Does the name end in ".lock" (a stack's lock directory)? */
static int is_lock_name(const char *name)
{
	size_t len = strlen(name);

	return len > 5 && strcmp(name + len - 5, ".lock") == 0;
}

/* mkdir snapshot/NAME: take a snapshot (a refusal is audited). */
static int mkdir_snapshot(const struct node *n)
{
	struct pk_status st = {0};
	struct pk_caller c;

	fs_caller(&c);
	if (snapshot_take(fs_store(), &c, n->snap, 0, &st) != PK_OK)
		return fs_error("snapshot", &st);
	return 0;
}

int fs_mkdir(const char *path, mode_t mode)
{
	struct pending *p;
	struct node n;
	int rc = path_resolve(path, &n);

	if (rc)
		return rc == -ENOENT ? lockdir_inside("mkdir", path) : rc;
	if (n.area == AREA_SNAPSHOT && n.snap[0] && n.type == NODE_DIR && n.folder == PK_F_ROOT)
		return mkdir_snapshot(&n);
	if (n.area != AREA_LIVE)
		return (rc = ro_mkdir(&n)) == -EROFS ? sink_refuse("mkdir", &n) : rc;
	if (n.type == NODE_DIR)
		return -EEXIST;
	p = pending_get(fs_pending(), n.folder, n.name);
	if (p || pk_store_lookup(fs_store(), n.folder, n.name, NULL) == PK_OK) {
		if (p)
			pending_put(p);
		return -EEXIST;
	}
	if ((rc = fs_check_name("mkdir", &n)))
		return rc;
	if (!is_lock_name(n.name))
		return fs_refuse("mkdir", n.folder, n.name, PK_E_PERM,
				 "only lock directories (NAME.lock) can be made "
				 "inside a PKI tree");
	return lockdir_make(&n, mode);
}

int fs_rmdir(const char *path)
{
	struct pending *p;
	struct node n;
	int rc = path_resolve(path, &n);

	if (rc)
		return rc;
	if (n.area != AREA_LIVE)
		return (rc = ro_rmdir(&n)) == -EROFS ? sink_refuse("rmdir", &n) : rc;
	if (n.type == NODE_DIR)
		return fs_refuse("rmdir", n.folder, NULL, PK_E_PERM,
				 "the folders of a PKI tree cannot be removed");
	p = pending_get(fs_pending(), n.folder, n.name);
	if (!p)
		return pk_store_lookup(fs_store(), n.folder, n.name, NULL) == PK_OK ? -ENOTDIR
										  : -ENOENT;
	rc = p->isdir ? 0 : -ENOTDIR;
	if (p->isdir)
		pending_unlist(p);
	pending_put(p);
	return rc;
}
