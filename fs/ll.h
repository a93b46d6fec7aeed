/*
 * ll.h: what the low-level operations (ll.c, llname.c, llfile.c) share.
 */
#ifndef PKIFS_FS_LL_H
#define PKIFS_FS_LL_H

#include <stddef.h>
#include <sys/stat.h>

#include "ops.h"

/* How long the kernel keeps names and attributes (seconds): every change
 * is invalidated explicitly (inval.h), so a scan costs one round trip a
 * file; absent names are never cached (a name just made must show). */
#define LL_TIMEOUT 60.0

/* Mark the calling thread as serving req (fs_req_ctx), and no longer. */
void ll_begin(fuse_req_t req);
void ll_end(void);

/* The path of parent's child name into buf: 0, or -ENOENT, -ENAMETOOLONG. */
int ll_child_path(fuse_ino_t parent, const char *name, char *buf, size_t size);

/* An entry reply's parameters for st, found at path (NULL: in a listing). */
void ll_entry(struct fuse_entry_param *e, const struct stat *st, const char *path);

/* Reply with the entry at path (parent's child name), counting the
 * kernel's reference: 0, or -errno with nothing replied. */
int ll_reply_entry(fuse_req_t req, fuse_ino_t parent, const char *name, const char *path);

/* Attributes of node ino with its path in path: 0; an open node whose name
 * has gone (or is another file's now) answers for itself, path then "". */
int ll_node_attr(fuse_ino_t ino, struct fuse_file_info *fi, char *path, size_t size,
		 struct stat *st);

/* The operations on names (llname.c) and on open files (llfile.c). */
void ll_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev);
void ll_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode);
void ll_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void ll_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void ll_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name);
void ll_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
	       const char *newname, unsigned int flags);
void ll_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname);
void ll_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	       struct fuse_file_info *fi);
void ll_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void ll_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi);
void ll_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
	      struct fuse_file_info *fi);
void ll_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void ll_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void ll_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);

#endif
