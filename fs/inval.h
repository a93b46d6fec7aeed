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

#include <pthread.h>
#include <stdint.h>

struct fuse_session;
struct pk_store;

/* The queue and its thread (one per daemon). */
struct inval {
	pthread_mutex_t lock;
	pthread_cond_t cond, sent;
	uint64_t n_queued, n_sent; /* notifications queued, and sent up to */
	struct item *head;
	int running;
	pthread_t thread;
	struct fuse_session *session;
	struct pk_store *store;
};

/* An empty queue for store s (its commits are queued from now on). */
void inval_init(struct inval *iv, struct pk_store *s);
/* Start sending to session se. */
int inval_start(struct inval *iv, struct fuse_session *se);
void inval_stop(struct inval *iv);
/* Wait (at most a second) until what is queued so far has reached the
 * kernel: a close that committed or refused a file returns only then, so
 * the caller's next stat sees the outcome. Only for requests during which
 * the kernel holds no directory lock (flush, release): the notifications
 * may need those locks. */
void inval_wait(struct inval *iv);
/* Take in what other processes committed (the CLI's restore) and wait
 * until the kernel has dropped what it changed: a statfs does, so the CLI
 * returns only once the mount shows its change. Same rule as inval_wait. */
void inval_sync(struct inval *iv);
/* Queue folder/name for invalidation (a pk_changed_fn; ctx the struct inval). */
void inval_queue(void *ctx, enum pk_folder f, const char *name);

#endif
