/*
 * fileops.c: opening, writing and closing files.
 *
 * Writers fill a pending record; flush (close) commits it to the store as
 * one trust operation, or reports the refusal as close(2)'s errno. Readers
 * get a private copy of the committed bytes, so a concurrent replacement is
 * seen whole or not at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctx.h"
#include "drop.h"
#include "inval.h"
#include "roops.h"
#include "viewsink.h"

/* Largest file folder f accepts (its cap; 0: no files). */
static size_t cap_of(enum pk_folder f)
{
	if ((int)f >= PK_F_COUNT) /* a dropped write into a view */
		return pk_store_limits(fs_store())->aux_max;
	return pk_folder_max_size(pk_store_limits(fs_store()), f);
}

/* Refuse (logged, -ENOSPC) what would take the bytes held for files being
 * written past -o pending_max. */
static int refuse_room(const char *op, enum pk_folder f, const char *name)
{
	size_t used, max, locks, locks_max;

	pending_usage(fs_pending(), &used, &max, &locks, &locks_max);
	return fs_refuse(op, f, name, PK_E_NOSPC,
			 "files being written hold %zu bytes, and -o pending_max=%zu "
			 "allows no more until some are closed",
			 used, max);
}

static int attach(struct fuse_file_info *fi, struct pending *p, char *data, size_t len)
{
	struct handle *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	h->writer = (fi->flags & O_ACCMODE) != O_RDONLY;
	h->p = p;
	h->data = data;
	h->len = len;
	fi->fh = (uintptr_t)h;
	return 0;
}

int fs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct pending *p;
	struct node n;
	int rc = path_resolve(path, &n);

	if (rc == 0 && is_view(&n)) {
		rc = sink_create(&n, mode, &p);
		return rc ? rc : attach(fi, p, NULL, 0);
	}
	rc = fs_resolve_live(path, &n);
	if (rc)
		return rc;
	if (n.type != NODE_NAME)
		return -EISDIR;
	if ((rc = fs_check_name("create", &n)))
		return rc;
	p = fs_new_pending(n.folder, n.name, mode);
	if (!p)
		return -ENOMEM;
	p->dirty = 1;
	fs_caller(&p->who);
	rc = attach(fi, p, NULL, 0);
	if (rc)
		pending_unlist(p), pending_put(p);
	return rc;
}

/* A writer on a committed file (or, truncating, on one another writer is
 * still writing, whose attributes are like): a pending record of its own. */
static int open_for_write(struct node *n, struct fuse_file_info *fi, const struct pk_attr *like)
{
	struct pk_attr a;
	void *data = NULL;
	size_t len = 0;
	struct pending *p;
	int trunc = (fi->flags & O_TRUNC) != 0, rc;

	if (pk_store_read(fs_store(), n->folder, n->name, &data, &len, &a) != PK_OK) {
		if (!like || !trunc)
			return -ENOENT;
		a = *like;
	}
	p = pending_new(fs_pending(), n->folder, n->name, &a);
	if (!p) {
		free(data);
		return -ENOMEM;
	}
	p->staged = 0;
	fs_caller(&p->who);
	if (trunc) {
		free(data);
		p->dirty = 1;
	} else if (pending_adopt(p, data, len)) {
		free(data);
		pending_unlist(p);
		pending_put(p);
		return refuse_room("open", n->folder, n->name);
	}
	rc = attach(fi, p, NULL, 0);
	if (rc)
		pending_unlist(p), pending_put(p);
	return rc;
}

int fs_open(const char *path, struct fuse_file_info *fi)
{
	struct pending *p;
	struct node n;
	void *data;
	size_t len;
	int rc = path_resolve(path, &n);

	if (rc)
		return rc;
	if (n.area != AREA_LIVE && (p = sink_get(&n)))
		return attach(fi, p, NULL, 0);
	if (n.area != AREA_LIVE) {
		char *data = NULL;
		size_t len = 0;
		rc = ro_open(&n, fi, &data, &len);
		return rc ? rc : attach(fi, NULL, data, len);
	}
	if (n.type != NODE_NAME)
		return -EISDIR;
	p = pending_get(fs_pending(), n.folder, n.name);
	if (p && !p->staged && !p->isdir && (fi->flags & O_TRUNC)) {
		/* another writer's file: write a copy of our own, last close wins,
		 * so two writers never interleave their bytes */
		struct pk_attr like;
		pending_lock(fs_pending());
		like = p->attr;
		pending_unlock(fs_pending());
		pending_put(p);
		return open_for_write(&n, fi, &like);
	}
	if (p) {
		if (fi->flags & O_TRUNC) {
			pending_lock(fs_pending());
			pending_resize(p, 0, cap_of(n.folder));
			pending_unlock(fs_pending());
		}
		rc = attach(fi, p, NULL, 0);
		if (rc)
			pending_put(p);
		return rc;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		rc = open_for_write(&n, fi, NULL);
		/* a name the kernel still caches but the store no longer has
		 * (evicted from rejected/, removed under its folder's other
		 * spelling, undone by a restore): the kernel sends OPEN, not
		 * CREATE, for an open(O_CREAT) of it, so it is made anew */
		return rc == -ENOENT ? fs_create(path, 0644, fi) : rc;
	}
	if (pk_store_read(fs_store(), n.folder, n.name, &data, &len, NULL) != PK_OK)
		return -ENOENT;
	fi->noflush = 1; /* a reader's close has nothing to commit */
	return attach(fi, NULL, data, len);
}

int fs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct handle *h = fs_handle(fi);
	const char *data = h->data;
	size_t len = h->len, n = 0;

	(void)path;
	if (h->p) { /* reads are served without ll_begin: the record knows its table */
		pending_lock(h->p->table);
		data = h->p->buf;
		len = h->p->len;
	}
	if ((size_t)off < len) {
		n = len - (size_t)off < size ? len - (size_t)off : size;
		memcpy(buf, data + off, n);
	}
	if (h->p)
		pending_unlock(h->p->table);
	return (int)n;
}

/* Mark p refused with err: invisible, reported once by flush; its bytes
 * are dropped at once, their room going back to other writers. */
static void fail_pending(struct pending *p, int err)
{
	p->failed = 1;
	p->err = err;
	pending_unlist(p);
	pending_drop_buf(p);
}

int fs_write(const char *path, const char *buf, size_t size, off_t off,
	     struct fuse_file_info *fi)
{
	struct pending *p = fs_handle(fi)->p;
	size_t max;
	int rc;

	(void)path;
	if (!p || p->failed)
		return p ? -p->err : -EBADF;
	max = cap_of(p->folder);
	pending_lock(fs_pending());
	rc = pending_write(p, buf, size, (size_t)off, max);
	pending_unlock(fs_pending());
	if (rc == -EFBIG)
		fs_refuse("write", p->folder, p->name, PK_E_TOO_BIG,
			  "over the %zu byte cap of %s", max, pk_folder_info(p->folder)->path);
	else if (rc == -ENOSPC)
		refuse_room("write", p->folder, p->name);
	if (rc == -EFBIG || rc == -ENOSPC)
		fail_pending(p, -rc);
	return rc ? rc : (int)size;
}

/* Commit a dirty, unstaged pending record as a put of its bytes. */
static int commit(struct pending *p)
{
	struct pk_status st;
	struct pk_caller c;
	struct pk_file file;
	enum pk_folder to;
	unsigned flags = 0;
	enum pk_err e;

	fs_caller(&c);
	if (c.pid == 0) /* release has no caller: use the opener */
		c = p->who;
	pending_lock(fs_pending());
	file.data = p->buf;
	file.len = p->len;
	file.attr = p->attr;
	e = drop_route(&c, "put", p->folder, p->name, p->buf, p->len, &to, &flags, &st);
	if (e == PK_OK)
		e = pk_trust_put(fs_store(), &c, to, p->name, &file, flags, &st);
	if (e == PK_OK)
		p->dirty = 0;
	pending_unlock(fs_pending());
	if (e != PK_OK) {
		fail_pending(p, pk_err_errno(e));
		/* the kernel cached the refused bytes of a rewrite: drop them */
		inval_queue(fs_inval(), p->folder, p->name);
		inval_wait(fs_inval());
		return fs_error("put", &st);
	}
	pending_unlist(p);
	if (to != p->folder)
		drop_forget(p->folder, p->name);
	inval_wait(fs_inval()); /* the folder's mtime, evictions from rejected/ */
	return 0;
}

int fs_flush(const char *path, struct fuse_file_info *fi)
{
	struct pending *p = fs_handle(fi)->p;

	(void)path;
	if (!p || p->staged || !fs_handle(fi)->writer)
		return 0; /* readers of a file being written report nothing */
	if (p->failed) {
		int err = p->err;
		p->err = 0;
		return -err;
	}
	/* Nothing written yet: a shell's dup2/close before its write, or a
	 * touch. Committing now would show an empty file in place of the one
	 * being written; release commits it if nothing else comes. */
	if (!p->written)
		return 0;
	return p->dirty ? commit(p) : 0;
}

int fs_release(const char *path, struct fuse_file_info *fi)
{
	struct handle *h = fs_handle(fi);

	(void)path;
	if (h->p && h->writer && !h->p->staged && !h->p->failed && h->p->dirty &&
	    pending_last_handle(h->p))
		commit(h->p);
	if (h->p)
		pending_release(h->p);
	free(h->data);
	free(h);
	return 0;
}

int fs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	int rc = fs_flush(path, fi);

	(void)datasync;
	if (rc == 0 && pk_store_sync(fs_store()) != PK_OK)
		rc = -EIO;
	return rc;
}

/* truncate(2) of a committed file by path: one put of the cut bytes. */
static int truncate_committed(struct node *n, off_t size)
{
	struct pk_status st;
	struct pk_caller c;
	struct pk_file file = {0};
	void *data = NULL;
	size_t len = 0;
	enum pk_err e;

	if (pk_store_read(fs_store(), n->folder, n->name, &data, &len, &file.attr) != PK_OK)
		return -ENOENT;
	if ((size_t)size == len) {
		free(data);
		return 0;
	}
	if ((size_t)size > len) {
		void *grown = realloc(data, (size_t)size);
		if (!grown) {
			free(data);
			return -ENOMEM;
		}
		memset((char *)grown + len, 0, (size_t)size - len);
		data = grown;
	}
	file.data = data;
	file.len = (size_t)size;
	fs_caller(&c);
	e = pk_trust_put(fs_store(), &c, n->folder, n->name, &file, 0, &st);
	free(data);
	return e == PK_OK ? 0 : fs_error("truncate", &st);
}

int fs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct handle *h = fs_handle(fi);
	struct pending *p = h ? h->p : NULL, *held = NULL;
	struct node n;
	int rc;

	if (size < 0)
		return -EINVAL;
	if (!p && !path)
		return -EBADF;
	if (!p) {
		rc = fs_resolve_live(path, &n);
		if (rc || n.type != NODE_NAME)
			return rc ? rc : -EISDIR;
		/* a file being written: our reference keeps it alive until we are
		 * done, though its writer may close it and unlink take it away */
		p = held = pending_get(fs_pending(), n.folder, n.name);
		if (!p)
			return truncate_committed(&n, size);
	}
	pending_lock(fs_pending());
	rc = pending_resize(p, (size_t)size, cap_of(p->folder));
	/* ftruncate through a writer's descriptor changes the content as a
	 * write does: its close commits (and reports) instead of the release,
	 * which comes after close(2) has returned */
	if (rc == 0 && !held)
		p->written = 1;
	pending_unlock(fs_pending());
	if (rc == -ENOSPC)
		rc = refuse_room("truncate", p->folder, p->name);
	if (held)
		pending_put(held);
	return rc;
}
