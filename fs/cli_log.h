/*
 * cli_log.h: printing and following the audit log (`pkifs log`), and the
 * daemon's own log of what it accepts and refuses.
 */
#ifndef PKIFS_FS_CLI_LOG_H
#define PKIFS_FS_CLI_LOG_H

#include <pthread.h>

#include "pkifs/audit.h"

/* Print the last n rows f lets through (n <= 0: all); with follow, go on
 * printing new ones as they are committed, until killed. Exit status. */
int log_run(struct pk_store *s, struct pk_audit_filter *f, long n, int follow);

/* The daemon's log: one line per audit row committed from now on (each
 * change and each refusal, by the mount or by another process), on stderr
 * in the foreground, to syslog (daemon facility) when detached. */
struct daemonlog {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct pk_store *s;
	int foreground, stop, running;
	int64_t last;
};
int daemonlog_start(struct daemonlog *dl, struct pk_store *s, int foreground);
/* Log what is left, and stop. */
void daemonlog_stop(struct daemonlog *dl);

#endif
