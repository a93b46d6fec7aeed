/*
 * lockdir.h: lock directories (NAME.lock), the only directories a stack
 * can make in the live tree.
 *
 * Stacks lock a file by making NAME.lock and removing it when done. They
 * live in the daemon's memory (pending.h), list as empty directories, and
 * stay empty: making anything inside one is EPERM. At most -o max_locks
 * exist at once; past that mkdir is ENOSPC, as a filesystem out of inodes
 * answers (the cap is global, so EMLINK, a full parent, would mislead).
 */
#ifndef PKIFS_FS_LOCKDIR_H
#define PKIFS_FS_LOCKDIR_H

#include "ctx.h"
#include "dirfill.h"

/* Default of -o max_locks. */
#define LOCKDIR_MAX_DEFAULT 10000

/* Make lock directory n (a free NAME.lock in the live tree): 0, -EEXIST,
 * or -ENOSPC (logged) past max_locks. */
int lockdir_make(const struct node *n, mode_t mode);

/* List name n as a directory: "." and ".." for a lock directory, else
 * -ENOTDIR (a file) or -ENOENT. */
int lockdir_list(const struct node *n, struct dir_fill *d);

/* A path that did not resolve: if it names something inside a lock
 * directory, refuse op there (EPERM, logged); else -ENOENT. */
int lockdir_inside(const char *op, const char *path);

#endif
