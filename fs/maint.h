/*
 * maint.h: the daemon's background upkeep — pruning history past its
 * retention in bounded steps, and automatic snapshots on a schedule.
 */
#ifndef PKIFS_FS_MAINT_H
#define PKIFS_FS_MAINT_H

#include <pthread.h>

#include "pkifs/store.h"

struct maint_opts {
	int64_t retention_s;  /* history kept, seconds (default 30 days) */
	int64_t auto_every_s; /* automatic snapshot interval; 0: off */
	unsigned auto_keep;   /* automatic snapshots kept (oldest dropped) */
};

/* The upkeep thread of one daemon. */
struct maint {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int running;
	struct pk_store *store;
	struct maint_opts opts;
};

void maint_defaults(struct maint_opts *o);
int maint_start(struct maint *m, struct pk_store *s, const struct maint_opts *o);
void maint_stop(struct maint *m);

#endif
