/*
 * llfile.c: the low-level operations on open files — create, open, read,
 * write, flush, release and fsync — over the handles of fileops.c. The node
 * table counts each node's handles, so a file whose name is removed while
 * it is open still answers fstat (nodes.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "ctx.h"
#include "ll.h"
#include "nodes.h"

void ll_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	       struct fuse_file_info *fi)
{
	struct fuse_entry_param e;
	char path[PATH_MAX];
	struct stat st;
	int rc;

	ll_begin(req);
	rc = ll_child_path(parent, name, path, sizeof(path));
	if (!rc)
		rc = fs_create(path, mode, fi);
	if (!rc && (rc = fs_getattr(path, &st, fi)) != 0)
		fs_release(NULL, fi);
	if (!rc && nodes_ref(fs_nodes(), st.st_ino, parent, name, &st) != 0) {
		fs_release(NULL, fi);
		rc = -ENOMEM;
	}
	if (rc) {
		fuse_reply_err(req, -rc);
		ll_end();
		return;
	}
	ll_entry(&e, &st, path);
	nodes_open(fs_nodes(), e.ino);
	if (fuse_reply_create(req, &e, fi) != 0) { /* interrupted */
		fs_release(NULL, fi);
		nodes_close(fs_nodes(), e.ino);
		nodes_forget(fs_nodes(), e.ino, 1);
	}
	ll_end();
}

void ll_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	char path[PATH_MAX];
	struct handle *h;
	int rc;

	ll_begin(req);
	rc = nodes_path(fs_nodes(), ino, path, sizeof(path));
	if (!rc)
		rc = fs_open(path, fi);
	if (rc) {
		fuse_reply_err(req, -rc);
		ll_end();
		return;
	}
	/* a reader's copy of committed bytes: the pages may stay, as every
	 * change of them is invalidated (inval.h) */
	h = fs_handle(fi);
	if (!h->p && !fi->direct_io)
		fi->keep_cache = 1;
	nodes_open(fs_nodes(), ino);
	if (fuse_reply_open(req, fi) != 0) {
		fs_release(NULL, fi);
		nodes_close(fs_nodes(), ino);
	}
	ll_end();
}

void ll_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	char *buf = malloc(size ? size : 1);
	int n;

	(void)ino;
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = fs_read(NULL, buf, size, off, fi);
	if (n < 0)
		fuse_reply_err(req, -n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

void ll_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
	      struct fuse_file_info *fi)
{
	int rc;

	(void)ino;
	ll_begin(req);
	rc = fs_write(NULL, buf, size, off, fi);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_write(req, (size_t)rc);
	ll_end();
}

void ll_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int rc;

	(void)ino;
	ll_begin(req);
	rc = fs_flush(NULL, fi);
	fuse_reply_err(req, rc < 0 ? -rc : 0);
	ll_end();
}

void ll_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	ll_begin(req);
	fs_release(NULL, fi);
	nodes_close(fs_nodes(), ino);
	fuse_reply_err(req, 0);
	ll_end();
}

void ll_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	int rc;

	(void)ino;
	ll_begin(req);
	rc = fs_fsync(NULL, datasync, fi);
	fuse_reply_err(req, rc < 0 ? -rc : 0);
	ll_end();
}
