/*
 * inval.h: dropping stale names from the kernel's caches.
 *
 * The kernel keeps names and attributes for long (ll.h), so every change
 * must reach it: each commit reports the names and folders it changed,
 * side effects included (an eviction from rejected/, a refreshed duplicate,
 * the views made from a folder), and the thread here also looks every
 * 250 ms for commits of other processes (the CLI's restore). Node ids are
 * the store's inode numbers, so each is exact: a name is dropped from its
 * folder's node (under both spellings), the entry it holds now has its
 * attributes and pages dropped, a folder its attributes. The
 * notifications are queued and sent from this thread, never from inside
 * the FUSE operation that caused them (that could deadlock).
 */
#ifndef PKIFS_FS_INVAL_H
#define PKIFS_FS_INVAL_H

#include "pkifs/folder.h"

struct fuse_session;
struct pk_store;

int inval_start(struct fuse_session *se, struct pk_store *s);
void inval_stop(void);
/* Wait (at most a second) until what is queued so far has reached the
 * kernel: a close that committed or refused a file returns only then, so
 * the caller's next stat sees the outcome. Only for requests during which
 * the kernel holds no directory lock (flush, release): the notifications
 * may need those locks. */
void inval_wait(void);
/* Take in what other processes committed (the CLI's restore) and wait
 * until the kernel has dropped what it changed: a statfs does, so the CLI
 * returns only once the mount shows its change. Same rule as inval_wait. */
void inval_sync(void);
/* Queue folder/name for invalidation (a pk_changed_fn). */
void inval_queue(void *ctx, enum pk_folder f, const char *name);

#endif
