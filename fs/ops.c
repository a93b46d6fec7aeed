/*
 * ops.c: the helpers every operation shares (ctx.h), and the read-only ops
 * (getattr, readdir, statfs) plus the refusals of links and devices, by
 * path; ll.c is the operations table that reaches them from node ids.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "ctx.h"
#include "inval.h"
#include "lockdir.h"
#include "roops.h"
#include "pkifs/view.h"

void fs_new_attr(struct pk_attr *a, mode_t mode)
{
	const struct fuse_ctx *fc = fs_req_ctx();

	memset(a, 0, sizeof(*a));
	a->ino = pk_store_new_ino(fs_store());
	a->mode = mode & 07777;
	a->uid = fc ? fc->uid : getuid();
	a->gid = fc ? fc->gid : getgid();
	a->mtime_ns = a->ctime_ns = pk_now_wall();
}

struct pending *fs_new_pending(enum pk_folder f, const char *name, mode_t mode)
{
	struct pk_attr a;

	fs_new_attr(&a, mode);
	return pending_new(fs_pending(), f, name, &a);
}

int64_t pk_now_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void fs_caller(struct pk_caller *c)
{
	const struct fuse_ctx *fc = fs_req_ctx();
	char path[64];
	int fd;
	ssize_t n = 0;

	memset(c, 0, sizeof(*c));
	if (!fc)
		return;
	c->uid = fc->uid;
	c->gid = fc->gid;
	c->pid = fc->pid;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)fc->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, c->comm, sizeof(c->comm) - 1);
		close(fd);
	}
	if (n > 0 && c->comm[n - 1] == '\n')
		n--;
	c->comm[n > 0 ? n : 0] = 0;
}

void fs_stat(struct stat *st, const struct pk_attr *a, int isdir)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = a->ino;
	st->st_mode = (isdir ? S_IFDIR : S_IFREG) | (a->mode & 07777);
	st->st_nlink = isdir ? 2 : 1;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_size = (off_t)a->size;
	st->st_blksize = 4096;
	st->st_blocks = (blkcnt_t)((a->size + 511) / 512);
	st->st_mtim.tv_sec = a->mtime_ns / 1000000000;
	st->st_mtim.tv_nsec = a->mtime_ns % 1000000000;
	st->st_atim = st->st_mtim;
	st->st_ctim.tv_sec = a->ctime_ns / 1000000000;
	st->st_ctim.tv_nsec = a->ctime_ns % 1000000000;
}

int fs_resolve_live(const char *path, struct node *n)
{
	int rc = path_resolve(path, n);

	if (rc == -ENOENT) /* only a new name gets here (the kernel looked) */
		return lockdir_inside("create", path);
	return rc == 0 && n->area != AREA_LIVE ? -EROFS : rc;
}

int fs_check_name(const char *op, const struct node *n)
{
	char why[160];

	if (path_name_ok(n->name, why, sizeof(why)))
		return 0;
	return fs_refuse(op, n->folder, n->name, PK_E_NAME, "%s", why);
}

int fs_error(const char *op, const struct pk_status *st)
{
	if (st->err == PK_OK) /* a failure without its reason: still a failure */
		return -EIO;
	(void)op; /* the refusal's audit row is the daemon's log line */
	return -pk_err_errno(st->err);
}

int fs_refuse(const char *op, enum pk_folder f, const char *name, enum pk_err err,
	      const char *fmt, ...)
{
	struct pk_status st = {.err = err};
	struct pk_caller c;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st.reason, sizeof(st.reason), fmt, ap);
	va_end(ap);
	fs_caller(&c);
	pk_trust_refused(fs_store(), &c, op, f, name, &st);
	return fs_error(op, &st);
}

/* Attributes of folder/name: a pending record first, then the store. */
static int name_attr(enum pk_folder f, const char *name, struct stat *st)
{
	struct pending *p = pending_get(fs_pending(), f, name);
	struct pk_attr a;

	if (p) {
		pending_lock(fs_pending());
		a = p->attr;
		a.size = p->len;
		pending_unlock(fs_pending());
		fs_stat(st, &a, p->isdir);
		pending_put(p);
		return 0;
	}
	if (pk_store_lookup(fs_store(), f, name, &a) != PK_OK)
		return -ENOENT;
	fs_stat(st, &a, 0);
	return 0;
}

int fs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct handle *h = fs_handle(fi);
	struct pk_attr a;
	struct node n;
	int rc;

	if (h && h->p) {
		pending_lock(fs_pending());
		a = h->p->attr;
		a.size = h->p->len;
		pending_unlock(fs_pending());
		fs_stat(st, &a, 0);
		return 0;
	}
	path = fs_path(path, fi);
	if (!path) { /* a reader of a removed file: what it still reads */
		memset(&a, 0, sizeof(a));
		a.mode = 0444;
		a.size = h ? h->len : 0;
		fs_stat(st, &a, 0);
		return 0;
	}
	rc = path_resolve(path, &n);
	if (rc)
		return rc;
	if (n.area != AREA_LIVE)
		return ro_getattr(&n, st);
	if (n.type == NODE_NAME)
		return name_attr(n.folder, n.name, st);
	if (pk_store_dir_attr(fs_store(), n.folder, &a) != PK_OK)
		return -EIO;
	a.ino = PATH_SPELL_INO(a.ino, n.via);
	fs_stat(st, &a, 1);
	return 0;
}

/* A live folder's names: the stored ones merged, in name order, with the
 * lock directories and the files written but not committed yet (a touch
 * whose release is still on its way), a batch of those at a time. The
 * pending table is never locked inside the store's listing (commits lock
 * them the other way round): a new batch stops the listing, and it goes on
 * after the last name passed. */
struct merge {
	struct dir_fill *d;
	enum pk_folder folder;
	struct pending_name *v;
	size_t n, i;
	int more;	/* pending names after v's last */
	int refill;	/* the listing stopped for the next batch */
	char last[256]; /* the last name passed ("": none yet) */
};

#define MERGE_BATCH 64

/* Pass one name; 1 once the buffer is full. */
static int pass(struct merge *m, const char *name, const struct pk_attr *a, int isdir)
{
	struct stat st;

	fs_stat(&st, a, isdir);
	if (dir_fill_stored(m->d, name, &st))
		return 1;
	snprintf(m->last, sizeof(m->last), "%s", name);
	return 0;
}

/* Pass the pending names before `before` (NULL: all of this batch); a
 * name also stored is passed once, as stored. 1 once the buffer is full,
 * 2 when the batch ran out and more are pending. */
static int give_pending(struct merge *m, const char *before)
{
	while (m->i < m->n) {
		const struct pending_name *q = &m->v[m->i];
		int cmp = before ? strcmp(q->name, before) : -1;
		if (cmp > 0)
			return 0;
		m->i++;
		if (cmp < 0 && pass(m, q->name, &q->attr, q->isdir))
			return 1;
	}
	return m->more ? 2 : 0;
}

/* The next batch of pending names, after the last one of this batch. */
static void refill(struct merge *m)
{
	char last[sizeof(m->v->name)];

	memcpy(last, m->v[m->n - 1].name, sizeof(last));
	m->n = pending_names_after(fs_pending(), m->folder, last, m->v, MERGE_BATCH, &m->more);
	m->i = 0;
}

/* A stored name (a pk_list_fn): the pending names before it, then it. */
static int fill_entry(void *ctx, const char *name, const struct pk_attr *a)
{
	struct merge *m = ctx;
	int rc = give_pending(m, name);

	if (rc == 2)
		m->refill = 1;
	return rc ? 1 : pass(m, name, a, 0);
}

/* The names of live folder f, after the resume point. */
static int fill_names(struct dir_fill *d, enum pk_folder f)
{
	struct merge m = {.d = d, .folder = f};
	const char *after = dir_fill_resume(d);
	int rc = 0;

	if (d->full || !(m.v = malloc(MERGE_BATCH * sizeof(*m.v))))
		return d->full ? 0 : -ENOMEM;
	snprintf(m.last, sizeof(m.last), "%s", after ? after : "");
	m.n = pending_names_after(fs_pending(), f, after, m.v, MERGE_BATCH, &m.more);
	do {
		m.refill = 0;
		if (pk_store_list_after(fs_store(), f, m.last[0] ? m.last : NULL, fill_entry,
					&m) != PK_OK) {
			rc = -EIO;
			break;
		}
		if (m.refill)
			refill(&m);
	} while (m.refill);
	while (rc == 0 && !d->full && give_pending(&m, NULL) == 2)
		refill(&m);
	free(m.v);
	return rc;
}

/* ".", "..", and the fixed child folders of f. */
static void fill_folders(struct dir_fill *fc, enum pk_folder f, int via)
{
	struct dir_child kids[PK_F_COUNT + 2];
	int n = path_children(f, via, kids);
	struct pk_attr a;
	struct stat st;

	pk_store_dir_attr(fs_store(), f, &a);
	a.ino = PATH_SPELL_INO(a.ino, via);
	fs_stat(&st, &a, 1);
	dir_fill_dots(fc, &st, 0,
		      PK_FOLDER_INO(f == PK_F_ROOT ? f : pk_folder_info(f)->parent));
	for (int i = 0; i < n; i++) {
		pk_store_dir_attr(fs_store(), kids[i].folder, &a);
		a.ino = PATH_SPELL_INO(a.ino, kids[i].via);
		fs_stat(&st, &a, 1);
		dir_fill_emit(fc, kids[i].name, &st, 1);
	}
}

/* The root's extras: snapshot/ and the views that are switched on. */
static void fill_extras(struct dir_fill *fc)
{
	const char *names[] = {path_snapshot_dir, path_capath_dir, path_cafile};
	struct node n;
	struct stat st;
	char path[300];

	for (int i = 0; i < 3; i++) {
		if (!names[i])
			continue;
		snprintf(path, sizeof(path), "/%s", names[i]);
		if (path_resolve(path, &n) == 0 && ro_getattr(&n, &st) == 0)
			dir_fill_emit(fc, names[i], &st, 1);
	}
}

/* A directory handle keeps its path: with nullpath_ok, readdir may get
 * none. */
int fs_opendir(const char *path, struct fuse_file_info *fi)
{
	struct handle *h = calloc(1, sizeof(*h));

	if (!h || !(h->data = strdup(path ? path : "/"))) {
		free(h);
		return -ENOMEM;
	}
	h->isdir = 1;
	fi->fh = (uintptr_t)h;
	return 0;
}

int fs_releasedir(const char *path, struct fuse_file_info *fi)
{
	struct handle *h = fs_handle(fi);

	(void)path;
	dir_fill_free(h);
	free(h->data);
	free(h);
	return 0;
}

int fs_readdir(const char *path, void *buf, dir_filler fill, off_t off,
	       struct fuse_file_info *fi, int plus)
{
	struct dir_fill d;
	struct node n;
	int rc = path_resolve(fs_path(path, fi), &n);

	if (rc)
		return rc;
	dir_fill_init(&d, buf, fill, plus, off, fs_handle(fi));
	if (n.area != AREA_LIVE)
		return ro_readdir(&n, &d);
	if (n.type != NODE_DIR)
		return lockdir_list(&n, &d);
	fill_folders(&d, n.folder, n.via);
	if (n.folder == PK_F_ROOT && n.via == 0)
		fill_extras(&d);
	return path_lists_names(n.folder, n.via) ? fill_names(&d, n.folder) : 0;
}

int fs_statfs(const char *path, struct statvfs *sv)
{
	(void)path;
	if (statvfs(".", sv) != 0)
		memset(sv, 0, sizeof(*sv));
	sv->f_namemax = 255;
	return 0;
}

/* Links, symlinks and device files have no place in a PKI tree. */
int fs_symlink(const char *target, const char *path)
{
	struct node n;

	(void)target;
	int rc = fs_resolve_live(path, &n);

	if (rc || n.type != NODE_NAME)
		return rc ? rc : -EEXIST;
	return fs_refuse("symlink", n.folder, n.name, PK_E_PERM,
			 "symbolic links cannot be stored in a PKI tree");
}

int fs_link(const char *from, const char *path)
{
	struct node n;

	(void)from;
	int rc = fs_resolve_live(path, &n);

	if (rc || n.type != NODE_NAME)
		return rc ? rc : -EEXIST;
	return fs_refuse("link", n.folder, n.name, PK_E_PERM,
			 "hard links cannot be made in a PKI tree; copy the file");
}

int fs_mknod(const char *path, mode_t mode, dev_t dev)
{
	struct node n;

	(void)dev;
	int rc = fs_resolve_live(path, &n);

	if (rc || n.type != NODE_NAME)
		return rc ? rc : -EEXIST;
	return fs_refuse("mknod", n.folder, n.name, PK_E_PERM,
			 "only regular files can be stored (mode 0%o refused)", (unsigned)mode);
}
