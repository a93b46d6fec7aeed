/*
 * service.c: restarts, signals and mount(8)'s options.
 *
 * `fusermount3 -u M && pkifs mount M` must not fail because the old daemon
 * is still closing the store: the unmount returns as soon as the kernel
 * has let go, while the daemon checkpoints and closes. Its lock tells it is
 * still there; its mount being gone tells it is on its way out.
 */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "mounts.h"
#include "service.h"

#define LOCK_WAIT_STEPS 200 /* of 50 ms: 10 s */

int service_lock_db(const char *db, int *fd)
{
	int said = 0;

	*fd = open(db, O_RDONLY | O_CLOEXEC);
	for (int i = 0; *fd >= 0 && i <= LOCK_WAIT_STEPS; i++) {
		if (flock(*fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (mounts_of_db(db, NULL, 0) == 0 || i == LOCK_WAIT_STEPS)
			break;
		if (!said++)
			fprintf(stderr, "pkifs: waiting for the previous daemon to close %s\n",
				db);
		nanosleep(&(struct timespec){0, 50000000}, NULL);
	}
	fprintf(stderr, "pkifs: database %s is in use by another pkifs daemon\n", db);
	return -1;
}

/* SIGTERM and SIGINT, the signals that stop the daemon. */
static sigset_t stop_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	return set;
}

void service_signals_hold(void)
{
	sigset_t set = stop_signals();

	signal(SIGHUP, SIG_IGN);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

void service_signals_ready(void)
{
	sigset_t set = stop_signals();

	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

int service_ignored_opt(const char *opt)
{
	static const char *const names[] = {"defaults", "auto",	 "noauto", "nofail",
					    "_netdev",	"user",	 "users",  "nouser",
					    "owner",	"group", NULL};

	for (int i = 0; names[i]; i++)
		if (strcmp(opt, names[i]) == 0)
			return 1;
	return strncmp(opt, "x-", 2) == 0 || strncmp(opt, "comment=", 8) == 0;
}
