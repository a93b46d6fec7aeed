/*
 * ctx.h: what every FUSE operation needs — the store, the caller, handles.
 */
#ifndef PKIFS_FS_CTX_H
#define PKIFS_FS_CTX_H

#include <sys/statvfs.h>

#include "daemon.h"
#include "ops.h"
#include "path.h"
#include "pending.h"
#include "pkifs/trust.h"

/* An open file: a pending record (writers, staged files) or a snapshot of
 * the committed bytes (readers). */
struct handle {
	struct pending *p;
	char *data;
	size_t len;
	int writer; /* opened for writing: its close commits and reports */
	int isdir;  /* a directory handle: data is its path */
	/* a directory listing's cursor: the names the last readdir gave, with
	 * their offsets (dirfill.h) */
	struct dir_marks *dir_marks;
};


/* Resolve a path that is to be changed: -EROFS outside the live tree. */
int fs_resolve_live(const char *path, struct node *n);

/* Wall-clock time in nanoseconds (new files' mtime). */
int64_t pk_now_wall(void);

/* Refuse (logged, -EINVAL) a new name path_name_ok refuses. */
int fs_check_name(const char *op, const struct node *n);

/* Attributes of a new file or lock directory, owned by the caller. */
void fs_new_attr(struct pk_attr *a, mode_t mode);
/* A new file record at f/name, owned by the caller. */
struct pending *fs_new_pending(enum pk_folder f, const char *name, mode_t mode);

/* The request the calling thread serves (ll.c; NULL outside one). */
const struct fuse_ctx *fs_req_ctx(void);

/* Who is calling, from the FUSE request context. */
void fs_caller(struct pk_caller *c);
/* Fill st for an entry or a folder. */
void fs_stat(struct stat *st, const struct pk_attr *a, int isdir);
/* Log a refusal that fs/ decided, and return -errno for it. */
int fs_refuse(const char *op, enum pk_folder f, const char *name, enum pk_err err,
	      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Return -errno for a core refusal (logged from its audit row, cli_log.h). */
int fs_error(const char *op, const struct pk_status *st);

static inline struct handle *fs_handle(struct fuse_file_info *fi)
{
	return fi ? (struct handle *)(uintptr_t)fi->fh : NULL;
}

/* The path of an operation: with nullpath_ok libfuse may give none for an
 * open directory, whose handle keeps it. */
static inline const char *fs_path(const char *path, struct fuse_file_info *fi)
{
	struct handle *h = fs_handle(fi);

	return path ? path : h && h->isdir ? h->data : NULL;
}

/* Operations split across files. */
int fs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi);
typedef int (*dir_filler)(void *buf, const char *name, const struct stat *st, off_t off,
			  int plus);
int fs_readdir(const char *path, void *buf, dir_filler fill, off_t off,
	       struct fuse_file_info *fi, int plus);
int fs_opendir(const char *path, struct fuse_file_info *fi);
int fs_releasedir(const char *path, struct fuse_file_info *fi);
int fs_statfs(const char *path, struct statvfs *sv);
int fs_symlink(const char *target, const char *path);
int fs_link(const char *from, const char *path);
int fs_mknod(const char *path, mode_t mode, dev_t dev);
int fs_mkdir(const char *path, mode_t mode);
int fs_rmdir(const char *path);
int fs_create(const char *path, mode_t mode, struct fuse_file_info *fi);
int fs_open(const char *path, struct fuse_file_info *fi);
int fs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi);
int fs_write(const char *path, const char *buf, size_t size, off_t off,
	     struct fuse_file_info *fi);
int fs_flush(const char *path, struct fuse_file_info *fi);
int fs_release(const char *path, struct fuse_file_info *fi);
int fs_fsync(const char *path, int datasync, struct fuse_file_info *fi);
int fs_truncate(const char *path, off_t size, struct fuse_file_info *fi);
int fs_unlink(const char *path);
int fs_rename(const char *from, const char *to, unsigned int flags);
int fs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi);
int fs_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi);
int fs_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi);

#endif
