/*
 * cli_log.c: following the audit log.
 *
 * The audit table is the one record of what was accepted and refused, and
 * every row is committed with its change: following it (new rows after the
 * last id seen, every 250 ms) gives `pkifs log --follow` and the daemon's
 * log lines without a second logging path, and never shows what was rolled
 * back.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "cli_log.h"

#define FOLLOW_NS 250000000L

/* The id of the newest row now (0 for an empty log). */
static int64_t newest_id(struct pk_store *s)
{
	struct pk_audit_filter all = {0};
	FILE *null = fopen("/dev/null", "w");
	int64_t id = 0;

	if (null) {
		pk_audit_print_filtered(s, null, 1, &all, &id);
		fclose(null);
	}
	return id;
}

int log_run(struct pk_store *s, struct pk_audit_filter *f, long n, int follow)
{
	int64_t start = follow ? newest_id(s) : 0, last = 0;

	if (pk_audit_print_filtered(s, stdout, n, f, &last) != PK_OK)
		return 1;
	f->after_id = last > start ? last : start;
	while (follow) {
		fflush(stdout);
		nanosleep(&(struct timespec){0, FOLLOW_NS}, NULL);
		if (pk_audit_print_filtered(s, stdout, 0, f, &f->after_id) != PK_OK)
			return 1;
	}
	return 0;
}

/* Send the rows committed since the last call to stderr or syslog. */
static void daemonlog_flush(struct daemonlog *dl)
{
	struct pk_audit_filter f = {.after_id = dl->last};
	char *buf = NULL, *save = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);

	if (!mem)
		return;
	pk_audit_print_filtered(dl->s, mem, 0, &f, &dl->last);
	fclose(mem);
	for (char *line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (dl->foreground)
			fprintf(stderr, "pkifs: %s\n", line);
		else
			syslog(LOG_NOTICE, "%s", line);
	}
	free(buf);
}

/* The thread: flush every 250 ms until told to stop. */
static void *daemonlog_main(void *arg)
{
	struct daemonlog *dl = arg;
	struct timespec ts;

	pthread_mutex_lock(&dl->lock);
	while (!dl->stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += FOLLOW_NS;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&dl->cond, &dl->lock, &ts);
		daemonlog_flush(dl);
	}
	pthread_mutex_unlock(&dl->lock);
	return NULL;
}

int daemonlog_start(struct daemonlog *dl, struct pk_store *s, int foreground)
{
	memset(dl, 0, sizeof(*dl));
	pthread_mutex_init(&dl->lock, NULL);
	pthread_cond_init(&dl->cond, NULL);
	dl->s = s;
	dl->foreground = foreground;
	dl->stop = 0;
	dl->last = newest_id(s);
	if (!foreground)
		openlog("pkifs", LOG_PID, LOG_DAEMON);
	dl->running = pthread_create(&dl->thread, NULL, daemonlog_main, dl) == 0;
	return dl->running ? 0 : -1;
}

void daemonlog_stop(struct daemonlog *dl)
{
	if (!dl->running)
		return;
	pthread_mutex_lock(&dl->lock);
	dl->stop = 1;
	pthread_cond_signal(&dl->cond);
	pthread_mutex_unlock(&dl->lock);
	pthread_join(dl->thread, NULL);
	dl->running = 0;
	if (!dl->foreground)
		closelog();
}
