/*
 * lockdir.c: lock directories (lockdir.h).
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "lockdir.h"

int lockdir_make(const struct node *n, mode_t mode)
{
	struct pending *p;
	struct pk_attr a;
	size_t bytes, bytes_max, locks, locks_max;
	int rc;

	fs_new_attr(&a, mode);
	p = pending_new_lockdir(fs_pending(), n->folder, n->name, &a, &rc);
	if (p) {
		pending_put(p);
		return 0;
	}
	if (rc != -ENOSPC)
		return rc;
	pending_usage(fs_pending(), &bytes, &bytes_max, &locks, &locks_max);
	return fs_refuse("mkdir", n->folder, n->name, PK_E_NOSPC,
			 "%zu lock directories exist, as many as -o max_locks=%zu allows; "
			 "remove one first",
			 locks, locks_max);
}

/* Is f/name a lock directory? Its attributes in *a if so. */
static int is_lockdir(enum pk_folder f, const char *name, struct pk_attr *a)
{
	struct pending *p = pending_get(fs_pending(), f, name);
	int isdir = p && p->isdir;

	if (isdir) {
		pending_lock(fs_pending());
		*a = p->attr;
		pending_unlock(fs_pending());
	}
	if (p)
		pending_put(p);
	return isdir;
}

int lockdir_list(const struct node *n, struct dir_fill *d)
{
	struct pk_attr a;
	struct stat st;

	if (!is_lockdir(n->folder, n->name, &a))
		return pk_store_lookup(fs_store(), n->folder, n->name, NULL) == PK_OK ? -ENOTDIR
										    : -ENOENT;
	a.size = 0;
	fs_stat(&st, &a, 1);
	dir_fill_dots(d, &st, 0, PK_FOLDER_INO(n->folder));
	return 0;
}

int lockdir_inside(const char *op, const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;
	char parent[PATH_MAX];
	struct pk_attr a;
	struct node n;
	size_t len;

	if (!slash || slash == path || (len = (size_t)(slash - path)) >= sizeof(parent))
		return -ENOENT;
	memcpy(parent, path, len);
	parent[len] = '\0';
	if (path_resolve(parent, &n) != 0 || n.area != AREA_LIVE || n.type != NODE_NAME ||
	    !is_lockdir(n.folder, n.name, &a))
		return -ENOENT;
	return fs_refuse(op, n.folder, path + (n.name - parent), PK_E_PERM,
			 "%s is a lock directory, and lock directories stay empty", n.name);
}
