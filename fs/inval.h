/*
 * inval.h: dropping stale names from the kernel's caches.
 *
 * When a change removes names the kernel did not ask about (an eviction
 * from rejected/, a refreshed duplicate), the kernel must forget them. The
 * notification is queued and sent from a thread of its own, never from
 * inside the FUSE operation that caused it (that could deadlock).
 */
#ifndef PKIFS_FS_INVAL_H
#define PKIFS_FS_INVAL_H

#include "pkifs/folder.h"

struct fuse;

int inval_start(struct fuse *f);
void inval_stop(void);
/* Queue folder/name for invalidation (a pk_removed_fn). */
void inval_queue(void *ctx, enum pk_folder f, const char *name);

#endif
