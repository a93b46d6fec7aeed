/*
 * mount.c: the daemon's life — checks, mount, daemonize, serve, close.
 *
 * Errors a user can make (no mountpoint, a database that is not ours, a
 * mount already there) are found before anything is mounted and reported in
 * one line. The database is opened once in the parent to check it, then again
 * in the daemon after the fork (SQLite handles must not cross a fork). The
 * daemon holds an flock on the database file for its whole life: a second
 * daemon on the same file is refused, and `pkifs umount` waits on that lock
 * to know the daemon has closed the database.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "deadconn.h"
#include "lockdir.h"
#include "cli_log.h"
#include "mount.h"
#include "mounts.h"
#include "pkifs/check.h"
#include "ops.h"
#include "path.h"
#include "service.h"
#include "pkifs/trust.h"

/* Default of -o pending_max: an eighth of the machine's memory, at most
 * 128 MiB (eight CRLs at the 16 MiB cap written at once), and never less
 * than one file at the largest size cap. */
static size_t default_pending_max(const struct pk_limits *l)
{
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	size_t max = (size_t)128 << 20, least = l->crl_max;

	if (pages > 0 && page > 0 && (size_t)pages / 8 < max / (size_t)page)
		max = (size_t)pages / 8 * (size_t)page;
	if (l->cert_max > least)
		least = l->cert_max;
	if (l->aux_max > least)
		least = l->aux_max;
	return max > least ? max : least;
}

/* The trust folders belong to the trust group, which may write them
 * (audited as setattr; own/ and its key folder stay as they are). */
static void grant_trust_group(struct pk_store *s, long gid)
{
	struct pk_caller c = {
		.uid = getuid(), .gid = getgid(), .pid = getpid(), .comm = "pkifs"};
	struct pk_status st;
	struct pk_attr a;

	for (int f = 0; gid >= 0 && f < PK_F_COUNT; f++) {
		if (!pk_folder_trust_group((enum pk_folder)f) ||
		    pk_store_dir_attr(s, (enum pk_folder)f, &a) != PK_OK)
			continue;
		a.gid = (unsigned)gid;
		a.mode |= 0070;
		pk_trust_setattr(s, &c, (enum pk_folder)f, NULL, &a, PK_SET_GID | PK_SET_MODE, &st);
	}
}

/* The checks before mounting, each with its own one-line message. */
static int precheck(struct mount_opts *o, int *lockfd)
{
	struct pk_store_opts so = {o->limits, 1, 0};
	struct pk_status st = {0};
	struct pk_store *s;
	struct stat sb;

	if (stat(o->mountpoint, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "pkifs: mountpoint %s: %s\n", o->mountpoint,
			errno == ENOENT || S_ISDIR(sb.st_mode) ? "no such directory"
							       : "not a directory");
		return -1;
	}
	if (mounts_any_at(o->mountpoint)) {
		fprintf(stderr, "pkifs: %s is already mounted\n", o->mountpoint);
		return -1;
	}
	if (pk_store_open(o->db, &so, &s, &st) != PK_OK) {
		fprintf(stderr, "pkifs: %s\n", st.reason);
		return -1;
	}
	grant_trust_group(s, o->trust_group); /* before the mount is usable */
	pk_store_note_limits(s);	      /* for `pkifs check`; read-only: none */
	pk_store_close(s);
	return service_lock_db(o->db, lockfd);
}

/* Build libfuse's argument list from the options. */
static void fuse_argv(struct mount_opts *o, struct fuse_args *args)
{
	char buf[PATH_MAX + 64];

	fuse_opt_add_arg(args, "pkifs");
	snprintf(buf, sizeof(buf), "fsname=pkifs:%s,subtype=pkifs,default_permissions%s", o->db,
		 geteuid() == 0 ? ",allow_other" : "");
	fuse_opt_add_arg(args, "-o");
	fuse_opt_add_arg(args, buf);
	if (o->fuse_opts[0]) {
		fuse_opt_add_arg(args, "-o");
		fuse_opt_add_arg(args, o->fuse_opts);
	}
	if (o->debug)
		fuse_opt_add_arg(args, "-d");
}

/* The daemon's state for store s (the store's commits feed the
 * invalidations from now on). */
static void daemon_init(struct daemon *d, struct pk_store *s, const struct mount_opts *o)
{
	d->store = s;
	nodes_init(&d->nodes);
	pending_init(&d->pending);
	pending_set_caps(&d->pending,
			 o->pending_max ? o->pending_max : default_pending_max(&o->limits),
			 o->max_locks ? o->max_locks : LOCKDIR_MAX_DEFAULT);
	inval_init(&d->inval, s);
	pk_store_on_change(s, inval_queue, &d->inval);
}

/* Serve until unmounted: the daemon's part. */
static int serve(struct fuse_session *se, struct mount_opts *o, struct daemon *d)
{
	struct pk_store_opts so = {o->limits, 1, 0};
	struct pk_status st = {0};
	struct fuse_loop_config *cfg;
	struct pk_store *s;
	int rc;

	/* one malloc arena per core, not per FUSE thread: what one thread
	 * frees, the next reuses (peak RSS at 100k entries, see README) */
	mallopt(M_ARENA_MAX, 2);
	if (pk_store_open(o->db, &so, &s, &st) != PK_OK) {
		fprintf(stderr, "pkifs: %s\n", st.reason);
		return 1;
	}
	daemon_init(d, s, o);
	if (fleet_start(&d->fleet, s, &o->fleet) != 0) {
		pk_store_close(s);
		return 1;
	}
	maint_start(&d->maint, s, &o->maint);
	daemonlog_start(&d->log, s, o->foreground);
	cfg = fuse_loop_cfg_create();
	fuse_loop_cfg_set_max_threads(cfg, 16);
	fuse_loop_cfg_set_idle_threads(cfg, 4);
	service_notify("READY=1");
	rc = fuse_session_loop_mt(se, cfg);
	service_notify("STOPPING=1");
	fuse_loop_cfg_destroy(cfg);
	fuse_remove_signal_handlers(se);
	fuse_session_unmount(se);
	fuse_session_destroy(se);
	maint_stop(&d->maint);
	fleet_stop(&d->fleet);
	daemonlog_stop(&d->log);
	pending_clear(&d->pending);
	pk_store_close(s);
	/* libfuse ends the loop with the signal's number: a stop, not a failure */
	return rc == 0 || rc == SIGTERM || rc == SIGINT ? 0 : 1;
}

int mount_run(struct mount_opts *o)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct daemon d = {0};
	struct fuse_session *se;
	int lockfd = -1, rc = 1;

	if (precheck(o, &lockfd) != 0)
		goto out_lock;
	fuse_argv(o, &args);
	se = fuse_session_new(&args, fs_lowlevel_ops(), sizeof(struct fuse_lowlevel_ops), &d);
	if (!(d.session = se))
		goto out_args;
	if (fuse_session_mount(se, o->mountpoint) != 0)
		goto out_destroy;
	service_signals_hold();
	if (fuse_daemonize(o->foreground) != 0 ||
	    fuse_set_signal_handlers(se) != 0) {
		fuse_session_unmount(se);
		goto out_destroy;
	}
	service_signals_ready();
	rc = serve(se, o, &d);
	goto out_args;
out_destroy:
	fuse_session_destroy(se);
out_args:
	fuse_opt_free_args(&args);
out_lock:
	if (lockfd >= 0)
		close(lockfd);
	return rc;
}

/* Wait (bounded) until no daemon holds the database's lock. */
static void wait_closed(const char *db)
{
	int fd = open(db, O_RDONLY | O_CLOEXEC);

	for (int i = 0; fd >= 0 && i < 200; i++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			break;
		nanosleep(&(struct timespec){0, 50000000}, NULL);
	}
	if (fd >= 0)
		close(fd);
}

/* Run fusermount3 -u [-z] mountpoint; 0 when it succeeded. */
static int fusermount_u(const char *mountpoint, int lazy)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		if (lazy)
			execlp("fusermount3", "fusermount3", "-u", "-z", mountpoint,
			       (char *)NULL);
		else
			execlp("fusermount3", "fusermount3", "-u", mountpoint, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return -1;
	return 0;
}

int mount_umount(const char *mountpoint)
{
	char db[PATH_MAX];

	if (mounts_db_at(mountpoint, db, sizeof(db)) != 0) {
		fprintf(stderr, "pkifs: %s is not a pkifs mount\n", mountpoint);
		return 1;
	}
	if (deadconn_abort(mountpoint, db) > 0)
		return fusermount_u(mountpoint, 1) == 0 ? (wait_closed(db), 0) : 1;
	if (fusermount_u(mountpoint, 0) != 0) {
		fprintf(stderr, "pkifs: fusermount3 -u %s failed\n", mountpoint);
		return 1;
	}
	wait_closed(db);
	return 0;
}

int mount_clear_stale(const char *mountpoint)
{
	char db[PATH_MAX];
	struct statvfs sv;

	if (mounts_db_at(mountpoint, db, sizeof(db)) != 0)
		return 0;
	if (deadconn_abort(mountpoint, db) < 0)
		return -1;
	/* statfs always asks the daemon; stat may answer from the kernel's cache */
	if (statvfs(mountpoint, &sv) == 0 ||
	    errno != ENOTCONN)
		return 0;
	fprintf(stderr,
		"pkifs: %s is a stale pkifs mount (its daemon is gone); clearing it "
		"with fusermount3 -u -z\n",
		mountpoint);
	if (fusermount_u(mountpoint, 1) != 0 || mounts_db_at(mountpoint, db, sizeof(db)) == 0) {
		fprintf(stderr, "pkifs: could not clear it; run: fusermount3 -u -z %s\n",
			mountpoint);
		return -1;
	}
	return 0;
}
