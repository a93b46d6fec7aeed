/*
 * inval.c: the invalidation thread (see inval.h).
 */
#define FUSE_USE_VERSION 314
#include <fuse.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdint.h>
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
static pthread_cond_t sent = PTHREAD_COND_INITIALIZER;
static uint64_t n_queued, n_sent; /* notifications queued, and sent up to */
static struct item *head;
static int running;
static pthread_t thread;
static struct fuse *fuse;
static struct pk_store *store;

/* Top-level folders whose names the kernel may hold although they are gone:
 * a removal it did not make (an eviction, a restore) or made under the
 * other spelling (issuer/ and issuers/, rejected/ and rejected/certs/).
 * Only a dentry invalidation makes it forget a name, and libfuse's path API
 * knows no folder's node id but the root's: the whole top-level folder's
 * names go, to be looked up again. */
static const char *const tops[] = {"own", "trusted", "issuers", "issuer", "rejected"};
#define TOPS_ALL ((1u << (sizeof(tops) / sizeof(tops[0]))) - 1)
static unsigned stale_tops;

#define POLL_NS 250000000L /* how often commits of other processes are looked for */

/* Take the whole queue, waiting up to one poll interval; 0 when stopping. */
static int take(struct item **list, unsigned *stale, uint64_t *upto)
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
	*stale = stale_tops;
	stale_tops = 0;
	*upto = n_queued;
	go = running;
	pthread_mutex_unlock(&lock);
	return go;
}

/* Make the kernel forget the names under the stale top-level folders. */
static void drop_tops(unsigned stale)
{
	struct fuse_session *se = fuse_get_session(fuse);

	for (size_t i = 0; i < sizeof(tops) / sizeof(tops[0]); i++)
		if (stale & (1u << i))
			fuse_lowlevel_notify_inval_entry(se, FUSE_ROOT_ID, tops[i],
							 strlen(tops[i]));
}

static void *worker(void *arg)
{
	struct item *list;
	unsigned stale;
	uint64_t upto;
	char snap[300];

	(void)arg;
	snprintf(snap, sizeof(snap), "/%s", path_snapshot_dir);
	while (take(&list, &stale, &upto)) {
		while (list) {
			struct item *next = list->next;
			fuse_invalidate_path(fuse, list->path);
			free(list);
			list = next;
		}
		drop_tops(stale);
		pthread_mutex_lock(&lock);
		n_sent = upto;
		pthread_cond_broadcast(&sent);
		pthread_mutex_unlock(&lock);
		/* a restore or snapshot by the CLI: what it changed is queued */
		if (pk_store_poll(store)) {
			fuse_invalidate_path(fuse, snap);
			pthread_mutex_lock(&lock);
			stale_tops |= TOPS_ALL;
			pthread_mutex_unlock(&lock);
		}
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
	pthread_cond_broadcast(&sent);
	pthread_mutex_unlock(&lock);
	pthread_join(thread, NULL);
	while (head) {
		struct item *next = head->next;
		free(head);
		head = next;
	}
}

/* Mark the top-level folders of f stale (see tops[]). */
static void mark_stale(enum pk_folder f)
{
	unsigned bits = f == PK_F_REJECTED				   ? 1u << 4
			: f == PK_F_ISSUERS_CERTS || f == PK_F_ISSUERS_CRL ? 3u << 2
									   : 0;

	if (!bits)
		return;
	pthread_mutex_lock(&lock);
	stale_tops |= bits;
	n_queued++;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
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
	n_queued++;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
}

void inval_wait(void)
{
	struct timespec until;
	uint64_t want;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 1; /* bounded: never a reason for a request to hang */
	pthread_mutex_lock(&lock);
	want = n_queued;
	while (running && n_sent < want && pthread_cond_timedwait(&sent, &lock, &until) == 0)
		;
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
	else
		mark_stale(f);
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
