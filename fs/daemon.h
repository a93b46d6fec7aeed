/*
 * daemon.h: the state of one mounted daemon.
 *
 * Everything the daemon keeps while it serves a mount lives here, made in
 * mount.c before the session starts and handed to libfuse as the session's
 * user data: a request reaches it through fuse_req_userdata (fs_daemon()
 * for the request the calling thread serves, ll.c), the daemon's threads
 * get their part when they start. No file-scope state is left in fs/.
 */
#ifndef PKIFS_FS_DAEMON_H
#define PKIFS_FS_DAEMON_H

#include "cli_log.h"
#include "fleet.h"
#include "inval.h"
#include "maint.h"
#include "nodes.h"
#include "pending.h"

struct daemon {
	struct pk_store *store;
	struct fuse_session *session;
	struct nodes nodes;	    /* the nodes the kernel holds */
	struct pending_table pending; /* files being written, lock directories */
	struct inval inval;	    /* invalidations on their way to the kernel */
	struct maint maint;	    /* history pruning, automatic snapshots */
	struct daemonlog log;	    /* audit rows to stderr or syslog */
	struct fleet fleet;	    /* the trust lists shared through etcd */
};

/* The daemon of the request the calling thread serves (ll_begin), or NULL
 * outside a request. */
struct daemon *fs_daemon(void);

/* Its parts, for the operations. */
static inline struct pk_store *fs_store(void)
{
	return fs_daemon()->store;
}

static inline struct pending_table *fs_pending(void)
{
	return &fs_daemon()->pending;
}

static inline struct nodes *fs_nodes(void)
{
	return &fs_daemon()->nodes;
}

static inline struct inval *fs_inval(void)
{
	return &fs_daemon()->inval;
}

#endif
