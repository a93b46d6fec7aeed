/*
 * mount.h: mounting a store and running the daemon.
 */
#ifndef PKIFS_FS_MOUNT_H
#define PKIFS_FS_MOUNT_H

#include "fleet.h"
#include "maint.h"
#include "pkifs/folder.h"

struct mount_opts {
	const char *db;		/* absolute path of the database */
	const char *mountpoint; /* absolute path */
	int foreground;
	int debug;
	struct pk_limits limits;
	struct maint_opts maint;
	struct fleet_opts fleet; /* -o etcd=...: the trust lists a fleet shares */
	long trust_group;     /* -o trust_group=GROUP: gid that may change trust, or -1 */
	size_t pending_max;   /* -o pending_max=BYTES: all files being written (0: default) */
	size_t max_locks;     /* -o max_locks=N: lock directories at once (0: default) */
	char fuse_opts[1024]; /* -o options passed on to libfuse */
};

/* Parse "-o a,b=c" (mountopt.c): pkifs's own options go to o, the rest to fuse_opts.
 * Returns 0, or -1 with a message printed. */
int mount_parse_opts(struct mount_opts *o, const char *list);

/* Free what mount_parse_opts allocated. */
void mount_free_opts(struct mount_opts *o);

/* Check, mount, daemonize and serve until unmounted. Exit status. */
int mount_run(struct mount_opts *o);

/* Unmount mountpoint and wait for its daemon to close the database. */
int mount_umount(const char *mountpoint);

/* A pkifs mount at mountpoint whose daemon is gone (listed, but statfs
 * says ENOTCONN) is lazily unmounted, saying so on stderr. 0 when none is left. */
int mount_clear_stale(const char *mountpoint);

#endif
