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

void maint_defaults(struct maint_opts *o)
{
	o->retention_s = 30LL * 24 * 3600;
	o->auto_every_s = 0;
	o->auto_keep = 24;
}

/* Sleep up to sec seconds; 0 when asked to stop. */
static int nap(struct maint *m, int sec)
{
	struct timespec until;
	int go;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += sec;
	pthread_mutex_lock(&m->lock);
	while (m->running && pthread_cond_timedwait(&m->cond, &m->lock, &until) == 0)
		;
	go = m->running;
	pthread_mutex_unlock(&m->lock);
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
static void auto_snapshot(struct maint *m)
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
	pk_snapshot_create(m->store, &c, name, 0, &st);
	do {
		memset(&a, 0, sizeof(a));
		pk_snapshot_list(m->store, count_auto, &a);
	} while (a.count > m->opts.auto_keep &&
		 pk_snapshot_delete(m->store, &c, a.oldest, &st) == PK_OK);
}

static void *worker(void *arg)
{
	struct maint *m = arg;
	time_t last_auto = time(NULL);
	unsigned deleted;

	/* wake every 5 s, or as often as automatic snapshots are due */
	while (nap(m, m->opts.auto_every_s > 0 && m->opts.auto_every_s < 5 ? (int)m->opts.auto_every_s
								  : 5)) {
		do {
			deleted = 0;
			if (pk_history_prune(m->store, m->opts.retention_s * 1000000000LL, 256,
					     &deleted) != PK_OK)
				break;
		} while (deleted > 0 && nap(m, 0));
		if (m->opts.auto_every_s > 0 && time(NULL) - last_auto >= m->opts.auto_every_s) {
			auto_snapshot(m);
			last_auto = time(NULL);
		}
	}
	return NULL;
}

int maint_start(struct maint *m, struct pk_store *s, const struct maint_opts *o)
{
	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->cond, NULL);
	m->store = s;
	m->opts = *o;
	m->running = 1;
	if (pthread_create(&m->thread, NULL, worker, m) == 0)
		return 0;
	m->running = 0;
	return -1;
}

void maint_stop(struct maint *m)
{
	if (!m->running)
		return;
	pthread_mutex_lock(&m->lock);
	m->running = 0;
	pthread_cond_signal(&m->cond);
	pthread_mutex_unlock(&m->lock);
	pthread_join(m->thread, NULL);
}
