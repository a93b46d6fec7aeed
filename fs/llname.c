/*
 * llname.c: the low-level operations on names — mknod, mkdir, unlink,
 * rmdir, symlink, rename and link — each resolved to paths and handed to
 * the operation by path (nameops.c, ops.c).
 */
#include <errno.h>
#include <limits.h>

#include "ctx.h"
#include "ll.h"
#include "nodes.h"

static void reply_rc(fuse_req_t req, int rc)
{
	fuse_reply_err(req, rc < 0 ? -rc : 0);
	ll_end();
}

void ll_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	char path[PATH_MAX];
	int rc;

	ll_begin(req);
	rc = ll_child_path(parent, name, path, sizeof(path));
	if (!rc && !(rc = fs_mknod(path, mode, rdev)))
		rc = ll_reply_entry(req, parent, name, path);
	if (rc)
		reply_rc(req, rc);
	ll_end();
}

void ll_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	char path[PATH_MAX];
	int rc;

	ll_begin(req);
	rc = ll_child_path(parent, name, path, sizeof(path));
	if (!rc && !(rc = fs_mkdir(path, mode)))
		rc = ll_reply_entry(req, parent, name, path);
	if (rc)
		reply_rc(req, rc);
	ll_end();
}

/* A removal by name: op on the child's path. */
static void remove_child(fuse_req_t req, fuse_ino_t parent, const char *name,
			 int (*op)(const char *path))
{
	char path[PATH_MAX];
	int rc;

	ll_begin(req);
	rc = ll_child_path(parent, name, path, sizeof(path));
	reply_rc(req, rc ? rc : op(path));
}

void ll_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_child(req, parent, name, fs_unlink);
}

void ll_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_child(req, parent, name, fs_rmdir);
}

void ll_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	char path[PATH_MAX];
	int rc;

	ll_begin(req);
	rc = ll_child_path(parent, name, path, sizeof(path));
	reply_rc(req, rc ? rc : fs_symlink(link, path));
}

void ll_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	char from[PATH_MAX], to[PATH_MAX];
	int rc;

	ll_begin(req);
	rc = nodes_path(fs_nodes(), ino, from, sizeof(from));
	if (!rc)
		rc = ll_child_path(newparent, newname, to, sizeof(to));
	reply_rc(req, rc ? rc : fs_link(from, to));
}

/* A rename moves the kernel's node with its name: the node that was at
 * from (found before, as the rename may replace to's) is at to after. */
void ll_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
	       const char *newname, unsigned int flags)
{
	char from[PATH_MAX], to[PATH_MAX];
	struct stat st;
	int rc;

	ll_begin(req);
	rc = ll_child_path(parent, name, from, sizeof(from));
	if (!rc)
		rc = ll_child_path(newparent, newname, to, sizeof(to));
	if (!rc && fs_getattr(from, &st, NULL) != 0)
		st.st_ino = 0;
	if (!rc && !(rc = fs_rename(from, to, flags)) && st.st_ino)
		nodes_moved(fs_nodes(), st.st_ino, newparent, newname);
	reply_rc(req, rc);
}
