/*
 * maint.c: background upkeep (see maint.h).
 *
 * One thread wakes every few seconds. Pruning deletes at most a few hundred
 * history rows per transaction and sleeps between steps, so readers and
 * writers never wait long behind it. Automatic snapshots are named
 * auto-YYYYmmddTHHMMSSZ; only those are dropped when over the keep count.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "maint.h"
#include "pkifs/snapshot.h"

static pthread_t thread;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int running;
static struct pk_store *store;
static struct maint_opts opts;

void maint_defaults(struct maint_opts *o)
{
	o->retention_s = 30LL * 24 * 3600;
	o->auto_every_s = 0;
	o->auto_keep = 24;
}

/* Sleep up to sec seconds; 0 when asked to stop. */
static int nap(int sec)
{
	struct timespec until;
	int go;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += sec;
	pthread_mutex_lock(&lock);
	while (running && pthread_cond_timedwait(&cond, &lock, &until) == 0)
		;
	go = running;
	pthread_mutex_unlock(&lock);
	return go;
}

struct autos {
	char oldest[256];
	unsigned count;
};

static int count_auto(void *ctx, const struct pk_snapshot *snap)
{
	struct autos *a = ctx;

	if (strncmp(snap->name, "auto-", 5) != 0)
		return 0;
	if (a->count++ == 0 || strcmp(snap->name, a->oldest) < 0)
		snprintf(a->oldest, sizeof(a->oldest), "%s", snap->name);
	return 0;
}

/* Take an automatic snapshot and drop the oldest beyond the keep count. */
static void auto_snapshot(void)
{
	struct pk_caller c = {.pid = 0};
	struct pk_status st;
	struct autos a;
	char name[64];
	time_t now = time(NULL);
	struct tm tm;

	snprintf(c.comm, sizeof(c.comm), "pkifs-auto");
	gmtime_r(&now, &tm);
	strftime(name, sizeof(name), "auto-%Y%m%dT%H%M%SZ", &tm);
	pk_snapshot_create(store, &c, name, 0, &st);
	do {
		memset(&a, 0, sizeof(a));
		pk_snapshot_list(store, count_auto, &a);
	} while (a.count > opts.auto_keep &&
		 pk_snapshot_delete(store, &c, a.oldest, &st) == PK_OK);
}

static void *worker(void *arg)
{
	time_t last_auto = time(NULL);
	unsigned deleted;

	(void)arg;
	/* wake every 5 s, or as often as automatic snapshots are due */
	while (nap(opts.auto_every_s > 0 && opts.auto_every_s < 5 ? (int)opts.auto_every_s
								  : 5)) {
		do {
			deleted = 0;
			if (pk_history_prune(store, opts.retention_s * 1000000000LL, 256,
					     &deleted) != PK_OK)
				break;
		} while (deleted > 0 && nap(0));
		if (opts.auto_every_s > 0 && time(NULL) - last_auto >= opts.auto_every_s) {
			auto_snapshot();
			last_auto = time(NULL);
		}
	}
	return NULL;
}

int maint_start(struct pk_store *s, const struct maint_opts *o)
{
	store = s;
	opts = *o;
	running = 1;
	return pthread_create(&thread, NULL, worker, NULL);
}

void maint_stop(void)
{
	pthread_mutex_lock(&lock);
	running = 0;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
	pthread_join(thread, NULL);
}
