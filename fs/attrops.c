/*
 * attrops.c: chmod, chown and utimens — on a file being written (its
 * pending record), a committed entry, a folder, or a lock directory.
 */
#include <errno.h>
#include <time.h>

#include "ctx.h"
#include "inval.h"
#include "viewsink.h"

/* The pending record that path or fi designates, with a reference. */
static struct pending *pending_of(struct node *n, struct fuse_file_info *fi)
{
	struct handle *h = fs_handle(fi);

	if (h && h->p && h->p->listed) {
		pending_lock(fs_pending());
		h->p->refs++;
		pending_unlock(fs_pending());
		return h->p;
	}
	return n->type == NODE_NAME ? pending_get(fs_pending(), n->folder, n->name) : NULL;
}

/* Change the attributes of committed entry (or folder, name NULL) in f. */
static int store_setattr(enum pk_folder f, const char *name, const struct pk_attr *a,
			 unsigned which)
{
	struct pk_status st;
	struct pk_caller c;

	fs_caller(&c);
	if (pk_trust_setattr(fs_store(), &c, f, name, a, which, &st) != PK_OK)
		return st.err == PK_E_NOENT ? -ENOENT : fs_error("setattr", &st);
	if (!name)
		inval_wait(fs_inval()); /* a folder's other spelling shows its new mode at once */
	return 0;
}

/* Change the attributes of a file being written, named n. Its close commits
 * them with its bytes; but a writer's copy of a committed file with nothing
 * written yet (touch -d, fchmod before any write) commits nothing at close,
 * so the change goes to the store now too. */
static int set_pending(struct pending *p, const struct node *n, const struct pk_attr *a,
		       unsigned which)
{
	struct pk_attr old;
	int clean, rc;

	if (!p->isdir && (which & PK_SET_MODE) &&
	    pk_folder_info(p->folder)->content == PK_C_KEY && (a->mode & 077))
		return fs_refuse("chmod", p->folder, p->name, PK_E_PERM,
				 "private keys stay readable by their owner only "
				 "(mode 0%o refused)",
				 a->mode & 07777);
	pending_lock(fs_pending());
	old = p->attr;
	clean = p->listed && !p->dirty && !p->staged && !p->isdir && !p->failed;
	pending_unlock(fs_pending());
	pending_set_attr(p, a, which);
	if (!clean)
		return 0;
	rc = store_setattr(n->folder, n->name, a, which);
	if (rc)
		pending_set_attr(p, &old, which);
	return rc;
}

/* Change attributes wherever path (or fi) lives. */
static int setattr(const char *path, struct fuse_file_info *fi, const struct pk_attr *a,
		   unsigned which)
{
	struct pending *p;
	struct node n;
	int rc;

	path = fs_path(path, fi);
	if (!path) { /* an open file that was removed: only its own copy */
		struct handle *h = fs_handle(fi);
		if (h && h->p)
			pending_set_attr(h->p, a, which);
		return 0;
	}
	rc = path_resolve(path, &n);
	if (rc == 0 && is_view(&n))
		return sink_setattr(&n, a, which);
	rc = fs_resolve_live(path, &n);
	if (rc)
		return rc;
	p = pending_of(&n, fi);
	if (p) {
		rc = set_pending(p, &n, a, which);
		pending_put(p);
		return rc;
	}
	return store_setattr(n.folder, n.type == NODE_NAME ? n.name : NULL, a, which);
}

int fs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct pk_attr a = {.mode = mode};

	return setattr(path, fi, &a, PK_SET_MODE);
}

int fs_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	struct pk_attr a = {.uid = uid, .gid = gid};
	unsigned which = 0;

	if (uid != (uid_t)-1)
		which |= PK_SET_UID;
	if (gid != (gid_t)-1)
		which |= PK_SET_GID;
	return which ? setattr(path, fi, &a, which) : 0;
}

int fs_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	struct pk_attr a = {0};
	struct timespec now;

	if (tv[1].tv_nsec == UTIME_OMIT)
		return 0;
	if (tv[1].tv_nsec == UTIME_NOW) {
		clock_gettime(CLOCK_REALTIME, &now);
		a.mtime_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	} else {
		a.mtime_ns = (int64_t)tv[1].tv_sec * 1000000000 + tv[1].tv_nsec;
	}
	return setattr(path, fi, &a, PK_SET_MTIME);
}
