/*
 * ll.c: the operations table on libfuse's low-level API — lookups, forgets,
 * attributes, listings and names. A node id is the store's inode number
 * (nodes.h); each request finds its node's path in the node table and hands
 * it to the operation by path (ops.c, attrops.c, nameops.c), so the rules
 * stay where they are and the kernel's nodes are exactly the store's.
 * File handles are in llfile.c.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctx.h"
#include "inval.h"
#include "ll.h"
#include "nodes.h"

static __thread fuse_req_t current;

const struct fuse_ctx *fs_req_ctx(void)
{
	return current ? fuse_req_ctx(current) : NULL;
}

struct daemon *fs_daemon(void)
{
	return current ? fuse_req_userdata(current) : NULL;
}

void ll_begin(fuse_req_t req)
{
	current = req;
}

void ll_end(void)
{
	current = NULL;
}

int ll_child_path(fuse_ino_t parent, const char *name, char *buf, size_t size)
{
	size_t len;
	int rc = nodes_path(fs_nodes(), parent, buf, size);

	if (rc)
		return rc;
	len = strlen(buf);
	if (strlen(name) > 255)
		return -ENAMETOOLONG;
	if (snprintf(buf + len, size - len, "%s%s", len > 1 ? "/" : "", name) >=
	    (int)(size - len))
		return -ENAMETOOLONG;
	return 0;
}

/* How long the kernel may keep a name: every change of the PKI tree and the
 * snapshots is invalidated (inval.h), so for long; the CApath view's names
 * come and go with the trust folders, unannounced one by one, so briefly. */
static double timeout_of(const char *path)
{
	struct node n;

	if (path && path_resolve(path, &n) == 0 && n.area == AREA_CAPATH && n.type == NODE_NAME)
		return 1.0;
	return LL_TIMEOUT;
}

void ll_entry(struct fuse_entry_param *e, const struct stat *st, const char *path)
{
	memset(e, 0, sizeof(*e));
	e->ino = st->st_ino;
	e->attr = *st;
	e->attr_timeout = e->entry_timeout = timeout_of(path);
}

int ll_reply_entry(fuse_req_t req, fuse_ino_t parent, const char *name, const char *path)
{
	struct fuse_entry_param e;
	struct stat st;
	int rc = fs_getattr(path, &st, NULL);

	if (rc)
		return rc;
	ll_entry(&e, &st, path);
	if (nodes_ref(fs_nodes(), e.ino, parent, name, &st) != 0)
		return -ENOMEM;
	if (fuse_reply_entry(req, &e) != 0)
		nodes_forget(fs_nodes(), e.ino, 1); /* interrupted: the kernel holds nothing */
	return 0;
}

static void ll_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	char path[PATH_MAX];
	int rc;

	ll_begin(req);
	rc = ll_child_path(parent, name, path, sizeof(path));
	if (!rc)
		rc = ll_reply_entry(req, parent, name, path);
	if (rc)
		fuse_reply_err(req, -rc);
	ll_end();
}

/* Forgets are not begun like other requests: they get no reply. */
static void ll_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct daemon *d = fuse_req_userdata(req);

	nodes_forget(&d->nodes, ino, nlookup);
	fuse_reply_none(req);
}

static void ll_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *v)
{
	struct daemon *d = fuse_req_userdata(req);

	for (size_t i = 0; i < count; i++)
		nodes_forget(&d->nodes, v[i].ino, v[i].nlookup);
	fuse_reply_none(req);
}

int ll_node_attr(fuse_ino_t ino, struct fuse_file_info *fi, char *path, size_t size,
		 struct stat *st)
{
	int rc = nodes_path(fs_nodes(), ino, path, size);

	if (rc == 0)
		rc = fs_getattr(path, st, fi);
	/* its name gone, or another file's now: an open node answers for
	 * itself, as it would on a local filesystem */
	if ((rc || st->st_ino != ino) && nodes_orphan_attr(fs_nodes(), ino, st) == 0) {
		path[0] = 0;
		return 0;
	}
	if (rc == 0 && st->st_ino == ino)
		nodes_set_attr(fs_nodes(), ino, st);
	return rc;
}

/* Answer a getattr or setattr and end the request. */
static void reply_attr(fuse_req_t req, int rc, const struct stat *st, const char *path)
{
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, st, timeout_of(path[0] ? path : NULL));
	ll_end();
}

static void ll_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	char path[PATH_MAX];
	struct stat st;
	int rc;

	ll_begin(req);
	rc = ll_node_attr(ino, fi, path, sizeof(path), &st);
	reply_attr(req, rc, &st, path);
}

/* The changes setattr asks for, by path (NULL: an open node whose name is
 * gone, which changes its own copy only). */
static int set_by_path(const char *path, const struct stat *a, int to_set,
		       struct fuse_file_info *fi)
{
	struct timespec tv[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
	int rc = 0;

	if (to_set & FUSE_SET_ATTR_MODE)
		rc = fs_chmod(path, a->st_mode, fi);
	if (!rc && (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)))
		rc = fs_chown(path, to_set & FUSE_SET_ATTR_UID ? a->st_uid : (uid_t)-1,
			      to_set & FUSE_SET_ATTR_GID ? a->st_gid : (gid_t)-1, fi);
	if (!rc && (to_set & FUSE_SET_ATTR_SIZE))
		rc = fs_truncate(path, a->st_size, fi);
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		tv[1].tv_nsec = UTIME_NOW;
	else if (to_set & FUSE_SET_ATTR_MTIME)
		tv[1] = a->st_mtim;
	if (!rc && tv[1].tv_nsec != UTIME_OMIT)
		rc = fs_utimens(path, tv, fi);
	return rc;
}

/* An orphan's own attributes, changed as asked. */
static void set_orphan(struct stat *st, const struct stat *a, int to_set)
{
	struct timespec now;

	if (to_set & FUSE_SET_ATTR_MODE)
		st->st_mode = (st->st_mode & S_IFMT) | (a->st_mode & 07777);
	if (to_set & FUSE_SET_ATTR_UID)
		st->st_uid = a->st_uid;
	if (to_set & FUSE_SET_ATTR_GID)
		st->st_gid = a->st_gid;
	if (to_set & FUSE_SET_ATTR_SIZE)
		st->st_size = a->st_size;
	if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
		clock_gettime(CLOCK_REALTIME, &now);
		st->st_mtim = now;
	} else if (to_set & FUSE_SET_ATTR_MTIME) {
		st->st_mtim = a->st_mtim;
	}
}

static void ll_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	char path[PATH_MAX];
	struct stat st;
	int rc;

	ll_begin(req);
	rc = ll_node_attr(ino, fi, path, sizeof(path), &st);
	if (rc == 0 && !path[0]) { /* an open file whose name is gone */
		set_by_path(NULL, attr, to_set, fi);
		set_orphan(&st, attr, to_set);
		nodes_set_attr(fs_nodes(), ino, &st);
		st.st_nlink = 0;
	} else if (rc == 0 && (rc = set_by_path(path, attr, to_set, fi)) == 0) {
		rc = ll_node_attr(ino, fi, path, sizeof(path), &st);
	}
	reply_attr(req, rc, &st, path);
}

/* The entries of one readdir request, into a buffer of the kernel's size. */
struct ll_dir {
	fuse_req_t req;
	fuse_ino_t ino;
	int plus;
	off_t start;   /* the kernel has entries up to here */
	off_t counted; /* entries given whole (offset 0) so far */
	char *buf;
	size_t size, used;
};

static int is_dots(const char *name)
{
	return name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]));
}

/* Add one entry (a dir_filler); 1 once the buffer is full. */
static int add_entry(void *ctx, const char *name, const struct stat *st, off_t off, int plus)
{
	struct ll_dir *d = ctx;
	struct fuse_entry_param e = {0};
	size_t room = d->size - d->used, need;

	if (off == 0 && (off = ++d->counted) <= d->start)
		return 0; /* a listing given whole: the kernel has this one */
	if (!d->plus) {
		need = fuse_add_direntry(d->req, d->buf + d->used, room, name, st, off);
		if (need > room)
			return 1;
		d->used += need;
		return 0;
	}
	need = fuse_add_direntry_plus(d->req, NULL, 0, name, NULL, 0);
	if (need > room)
		return 1;
	e.attr.st_ino = st->st_ino;
	e.attr.st_mode = st->st_mode;
	/* "." and "..", and entries given without attributes: no lookup */
	if (plus && !is_dots(name) && nodes_ref(fs_nodes(), st->st_ino, d->ino, name, st) == 0)
		ll_entry(&e, st, NULL);
	d->used += fuse_add_direntry_plus(d->req, d->buf + d->used, room, name, &e, off);
	return 0;
}

static void readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi, int plus)
{
	struct ll_dir d = {req, ino, plus, off, 0, malloc(size ? size : 1), size, 0};
	int rc;

	ll_begin(req);
	rc = d.buf ? fs_readdir(NULL, &d, add_entry, off, fi, plus) : -ENOMEM;
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_buf(req, d.buf, d.used);
	free(d.buf);
	ll_end();
}

static void ll_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	readdir_common(req, ino, size, off, fi, 0);
}

static void ll_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	readdir_common(req, ino, size, off, fi, 1);
}

static void ll_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	char path[PATH_MAX];
	int rc;

	ll_begin(req);
	rc = nodes_path(fs_nodes(), ino, path, sizeof(path));
	if (!rc)
		rc = fs_opendir(path, fi);
	if (rc)
		fuse_reply_err(req, -rc);
	else if (fuse_reply_open(req, fi) != 0)
		fs_releasedir(NULL, fi);
	ll_end();
}

static void ll_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	fs_releasedir(NULL, fi);
	fuse_reply_err(req, 0);
}

static void ll_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	(void)ino;
	inval_sync(&((struct daemon *)fuse_req_userdata(req))->inval); /* the CLI's, after
									  a write of its own */
	fs_statfs("/", &sv);
	fuse_reply_statfs(req, &sv);
}

static void ll_init(void *data, struct fuse_conn_info *conn)
{
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	/* always plus: a stack lists a folder, then opens every file */
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
	inval_start(&((struct daemon *)data)->inval, ((struct daemon *)data)->session);
}

static void ll_destroy(void *data)
{
	struct daemon *d = data;

	inval_stop(&d->inval);
	nodes_clear(&d->nodes);
}

static const struct fuse_lowlevel_ops operations = {
	.init = ll_init,
	.destroy = ll_destroy,
	.lookup = ll_lookup,
	.forget = ll_forget,
	.forget_multi = ll_forget_multi,
	.getattr = ll_getattr,
	.setattr = ll_setattr,
	.opendir = ll_opendir,
	.readdir = ll_readdir,
	.readdirplus = ll_readdirplus,
	.releasedir = ll_releasedir,
	.statfs = ll_statfs,
	.mknod = ll_mknod,
	.mkdir = ll_mkdir,
	.unlink = ll_unlink,
	.rmdir = ll_rmdir,
	.symlink = ll_symlink,
	.rename = ll_rename,
	.link = ll_link,
	.create = ll_create,
	.open = ll_open,
	.read = ll_read,
	.write = ll_write,
	.flush = ll_flush,
	.release = ll_release,
	.fsync = ll_fsync,
};

const struct fuse_lowlevel_ops *fs_lowlevel_ops(void)
{
	return &operations;
}
