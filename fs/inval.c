/*
 * inval.c: the invalidation thread (see inval.h).
 */
#define FUSE_USE_VERSION 314
#include <fuse.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inval.h"
#include "path.h"
#include "pkifs/store.h"

struct item {
	struct item *next;
	char path[512];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static struct item *head;
static int running;
static pthread_t thread;
static struct fuse *fuse;
static struct pk_store *store;

#define POLL_NS 250000000L /* how often commits of other processes are looked for */

/* Take the whole queue, waiting up to one poll interval; 0 when stopping. */
static int take(struct item **list)
{
	struct timespec until;
	int go;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += POLL_NS;
	if (until.tv_nsec >= 1000000000L)
		until.tv_sec++, until.tv_nsec -= 1000000000L;
	pthread_mutex_lock(&lock);
	while (running && !head && pthread_cond_timedwait(&cond, &lock, &until) == 0)
		;
	*list = head;
	head = NULL;
	go = running;
	pthread_mutex_unlock(&lock);
	return go;
}

static void *worker(void *arg)
{
	struct item *list;
	char snap[300];

	(void)arg;
	snprintf(snap, sizeof(snap), "/%s", path_snapshot_dir);
	while (take(&list)) {
		while (list) {
			struct item *next = list->next;
			fuse_invalidate_path(fuse, list->path);
			free(list);
			list = next;
		}
		/* a restore or snapshot by the CLI: what it changed is queued */
		if (pk_store_poll(store))
			fuse_invalidate_path(fuse, snap);
	}
	return NULL;
}

int inval_start(struct fuse *f, struct pk_store *s)
{
	fuse = f;
	store = s;
	running = 1;
	return pthread_create(&thread, NULL, worker, NULL);
}

void inval_stop(void)
{
	pthread_mutex_lock(&lock);
	running = 0;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
	pthread_join(thread, NULL);
	while (head) {
		struct item *next = head->next;
		free(head);
		head = next;
	}
}

/* Queue one path. */
static void push(const char *path)
{
	struct item *it = malloc(sizeof(*it));

	if (!it)
		return; /* the entry timeout bounds how long it stays stale */
	snprintf(it->path, sizeof(it->path), "%s", path);
	pthread_mutex_lock(&lock);
	it->next = head;
	head = it;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
}

/* The views are made from the trust folders: they change with them. */
static void push_views(enum pk_folder f)
{
	char path[512];

	if (f < PK_F_TRUSTED_CERTS || f > PK_F_ISSUERS_CRL)
		return;
	if (path_cafile) {
		snprintf(path, sizeof(path), "/%s", path_cafile);
		push(path);
	}
	if (path_capath_dir) {
		snprintf(path, sizeof(path), "/%s", path_capath_dir);
		push(path);
	}
}

/* A changed name (or, name NULL, a folder whose content changed): its
 * attributes and cached pages, under both spellings of its folder. */
void inval_queue(void *ctx, enum pk_folder f, const char *name)
{
	char path[512], alias[600];

	(void)ctx;
	if (!name)
		push_views(f);
	path_format(path, sizeof(path), f, name);
	push(path);
	if (f == PK_F_REJECTED)
		snprintf(alias, sizeof(alias), "/rejected/certs%s%s", name ? "/" : "",
			 name ? name : "");
	else if (f == PK_F_ISSUERS_CERTS || f == PK_F_ISSUERS_CRL)
		snprintf(alias, sizeof(alias), "/issuer%s", path + strlen("/issuers"));
	else
		return;
	push(alias);
}
