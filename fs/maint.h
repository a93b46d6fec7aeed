/*
 * maint.h: the daemon's background upkeep — pruning history past its
 * retention in bounded steps, and automatic snapshots on a schedule.
 */
#ifndef PKIFS_FS_MAINT_H
#define PKIFS_FS_MAINT_H

#include "pkifs/store.h"

struct maint_opts {
	int64_t retention_s;  /* history kept, seconds (default 30 days) */
	int64_t auto_every_s; /* automatic snapshot interval; 0: off */
	unsigned auto_keep;   /* automatic snapshots kept (oldest dropped) */
};

void maint_defaults(struct maint_opts *o);
int maint_start(struct pk_store *s, const struct maint_opts *o);
void maint_stop(void);

#endif
