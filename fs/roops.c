/*
 * roops.c: the read-only areas — snapshot/ and the generated views.
 *
 * snapshot/NAME/ shows the live layout as it was at the snapshot's
 * generation; inode numbers there carry the generation in their high bits
 * so no snapshot directory shares an inode with the live tree (find and
 * rsync would see a loop). `mkdir snapshot/NAME` takes a snapshot and
 * `rmdir` drops one; every other change inside is EROFS. The views are
 * computed from the live store at each open (direct I/O, so a reader never
 * gets stale bytes from the page cache).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "pkifs/snapshot.h"
#include "pkifs/view.h"
#include "roops.h"
#include "viewsink.h"

/* An inode number inside snapshot snap, distinct from the live tree's and
 * the views' (below 2^63) and from every other snapshot's: the top bit, the
 * generation (2^29 of them before one repeats), the live number (2^34). */
static uint64_t snap_ino(const struct pk_snapshot *snap, uint64_t ino)
{
	return 1ULL << 63 | ((uint64_t)snap->gen & ((1ULL << 29) - 1)) << 34 |
	       (ino & ((1ULL << 34) - 1));
}

/* snapshot/ itself: its mtime is the newest snapshot's. */
static int newest(void *ctx, const struct pk_snapshot *snap)
{
	struct pk_attr *a = ctx;

	if (snap->time_ns > a->mtime_ns)
		a->mtime_ns = a->ctime_ns = snap->time_ns;
	return 0;
}

static int snaproot_attr(struct pk_attr *a)
{
	if (pk_store_dir_attr(fs_store(), PK_F_ROOT, a) != PK_OK)
		return -EIO;
	a->ino = PATH_SNAPROOT_INO;
	a->mode = 0755;
	pk_snapshot_list(fs_store(), newest, a);
	return 0;
}

/* Attributes of a node inside snapshot n->snap (a folder or a name). */
static int snap_attr(struct node *n, struct pk_attr *a, int *isdir)
{
	struct pk_snapshot snap;

	*isdir = 1;
	if (!n->snap[0])
		return snaproot_attr(a);
	if (pk_snapshot_get(fs_store(), n->snap, &snap) != PK_OK)
		return -ENOENT;
	if (n->type == NODE_DIR) {
		if (pk_snapshot_dir_attr(fs_store(), &snap, n->folder, a) != PK_OK)
			return -EIO;
		if (n->folder == PK_F_ROOT)
			a->mtime_ns = a->ctime_ns = snap.time_ns;
		a->ino = PATH_SPELL_INO(a->ino, n->via);
	} else {
		*isdir = 0;
		if (pk_snapshot_lookup(fs_store(), &snap, n->folder, n->name, a) != PK_OK)
			return -ENOENT;
	}
	a->ino = snap_ino(&snap, a->ino);
	return 0;
}

/* The CApath directory: its mtime follows the folders it is made from. */
static int capath_dir_attr(struct pk_attr *a)
{
	struct pk_attr d;

	if (pk_store_dir_attr(fs_store(), PK_F_TRUSTED_CERTS, a) != PK_OK)
		return -EIO;
	for (int f = PK_F_TRUSTED_CRL; f <= PK_F_ISSUERS_CRL; f++)
		if (pk_store_dir_attr(fs_store(), f, &d) == PK_OK && d.mtime_ns > a->mtime_ns)
			*a = d;
	a->ino = PATH_CAPATH_INO;
	a->mode = 0555;
	return 0;
}

int ro_getattr(struct node *n, struct stat *st)
{
	struct pk_attr a = {0};
	char *pem = NULL;
	size_t len = 0;
	int rc = 0, isdir = n->type == NODE_DIR;
	struct pending *p = sink_get(n);

	if (p) { /* a temporary file being dropped into the view */
		pending_lock(fs_pending());
		a = p->attr;
		a.size = p->len;
		pending_unlock(fs_pending());
		pending_put(p);
		fs_stat(st, &a, 0);
		return 0;
	}
	if (n->area == AREA_SNAPSHOT)
		rc = snap_attr(n, &a, &isdir);
	else if (n->area == AREA_CAPATH && isdir)
		rc = capath_dir_attr(&a);
	else if (n->area == AREA_CAPATH)
		rc = pk_view_capath_get(fs_store(), n->name, NULL, NULL, &a) == PK_OK ? 0
										    : -ENOENT;
	else if (pk_view_cafile(fs_store(), &pem, &len, &a) != PK_OK)
		rc = -EIO;
	free(pem);
	if (rc == 0)
		fs_stat(st, &a, isdir);
	return rc;
}

/* Snapshot folders are listed a buffer at a time (an rsync of 100,000
 * entries); the list of snapshots and capath/ whole, as libfuse buffers. */
struct fill {
	struct dir_fill *d;
	int stream; /* a page at a time (dirfill.h), else the whole listing */
	const struct pk_snapshot *snap;
};

static int give(struct fill *f, const char *name, const struct stat *st)
{
	struct dir_fill *d = f->d;

	if (f->stream)
		return dir_fill_stored(d, name, st);
	return d->fill(d->buf, name, st, 0, d->plus);
}

static int fill_attr(void *ctx, const char *name, const struct pk_attr *a)
{
	struct fill *f = ctx;
	struct pk_attr b = *a;
	struct stat st;

	if (f->snap)
		b.ino = snap_ino(f->snap, a->ino);
	fs_stat(&st, &b, 0);
	return give(f, name, &st);
}

static int fill_snapshot(void *ctx, const struct pk_snapshot *snap)
{
	struct stat st;
	struct node n = {.area = AREA_SNAPSHOT, .type = NODE_DIR, .folder = PK_F_ROOT};
	struct pk_attr a;
	int isdir;

	snprintf(n.snap, sizeof(n.snap), "%s", snap->name);
	if (snap_attr(&n, &a, &isdir) != 0)
		return 0;
	fs_stat(&st, &a, 1);
	return give(ctx, snap->name, &st);
}

/* A folder inside a snapshot: its child folders, then its entries. */
static int snap_readdir(struct node *n, struct dir_fill *d)
{
	struct dir_child kids[PK_F_COUNT + 2];
	struct pk_snapshot snap;
	struct fill f = {d, 1, &snap}; /* with the snapshot, for inode numbers */
	struct pk_attr a;
	struct stat st;
	int k;

	if (pk_snapshot_get(fs_store(), n->snap, &snap) != PK_OK)
		return -ENOENT;
	dir_fill_dots(d, NULL, PK_FOLDER_INO(PK_F_ROOT), PK_FOLDER_INO(PK_F_ROOT));
	k = path_children(n->folder, n->via, kids);
	for (int i = 0; i < k; i++) {
		if (pk_snapshot_dir_attr(fs_store(), &snap, kids[i].folder, &a) != PK_OK)
			continue;
		a.ino = snap_ino(&snap, PATH_SPELL_INO(a.ino, kids[i].via));
		fs_stat(&st, &a, 1);
		dir_fill_emit(d, kids[i].name, &st, 1);
	}
	if (!d->full && path_lists_names(n->folder, n->via) &&
	    pk_snapshot_entries_after(fs_store(), &snap, n->folder, dir_fill_resume(d), fill_attr,
				      &f) != PK_OK)
		return -EIO;
	return 0;
}

int ro_readdir(struct node *n, struct dir_fill *d)
{
	struct fill f = {d, 0, NULL};
	struct stat dir = {.st_ino = PK_FOLDER_INO(PK_F_ROOT), .st_mode = S_IFDIR | 0755};

	if (n->type != NODE_DIR)
		return -ENOTDIR;
	if (n->area == AREA_SNAPSHOT && n->snap[0])
		return snap_readdir(n, d);
	/* listed whole (offset 0): "." and ".." typed as directories */
	d->fill(d->buf, ".", &dir, 0, 0);
	d->fill(d->buf, "..", &dir, 0, 0);
	if (n->area == AREA_CAPATH)
		return pk_view_capath_list(fs_store(), fill_attr, &f) == PK_OK ? 0 : -EIO;
	return pk_snapshot_list(fs_store(), fill_snapshot, &f) == PK_OK ? 0 : -EIO;
}

int ro_open(struct node *n, struct fuse_file_info *fi, char **data, size_t *len)
{
	struct pk_snapshot snap;
	struct pk_attr a;
	enum pk_err e;

	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
		return sink_refuse("open", n);
	if (n->type == NODE_DIR)
		return -EISDIR;
	fi->noflush = 1; /* read-only: a close has nothing to commit */
	if (n->area == AREA_SNAPSHOT) {
		if (pk_snapshot_get(fs_store(), n->snap, &snap) != PK_OK)
			return -ENOENT;
		e = pk_snapshot_read(fs_store(), &snap, n->folder, n->name, (void **)data, len,
				     &a);
		fi->keep_cache = 1; /* a snapshot's bytes never change */
	} else {
		fi->direct_io = 1;
		e = n->area == AREA_CAPATH
			    ? pk_view_capath_get(fs_store(), n->name, data, len, &a)
			    : pk_view_cafile(fs_store(), data, len, &a);
	}
	return e == PK_OK ? 0 : e == PK_E_NOENT ? -ENOENT : -EIO;
}

int ro_mkdir(struct node *n)
{
	struct pk_status st = {0};
	struct pk_caller c;

	if (n->area != AREA_SNAPSHOT || !n->snap[0] || n->folder != PK_F_ROOT ||
	    n->type != NODE_DIR)
		return -EROFS;
	fs_caller(&c);
	if (pk_snapshot_create(fs_store(), &c, n->snap, 0, &st) != PK_OK)
		return fs_error("snapshot", &st);
	return 0;
}

int ro_rmdir(struct node *n)
{
	struct pk_status st = {0};
	struct pk_caller c;

	if (n->area != AREA_SNAPSHOT || !n->snap[0] || n->folder != PK_F_ROOT ||
	    n->type != NODE_DIR)
		return -EROFS;
	fs_caller(&c);
	if (pk_snapshot_delete(fs_store(), &c, n->snap, &st) != PK_OK)
		return fs_error("snapshot-delete", &st);
	return 0;
}
