/*
 * inval.c: the invalidation thread (see inval.h).
 */
#define FUSE_USE_VERSION 314
#include <fuse.h>
#include <errno.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctx.h"
#include "inval.h"
#include "path.h"
#include "pkifs/store.h"

struct item {
	struct item *next;
	int name; /* an entry's name, not a folder or a view */
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

#define POLL_NS 250000000L /* how often commits of other processes are looked for */

/* The wall-clock time ns nanoseconds from now, for a timed wait. */
static struct timespec from_now(long ns)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += ns / 1000000000L;
	t.tv_nsec += ns % 1000000000L;
	if (t.tv_nsec >= 1000000000L)
		t.tv_sec++, t.tv_nsec -= 1000000000L;
	return t;
}

/* Take the whole queue, waiting up to one poll interval; 0 when stopping. */
static int take(struct item **list, uint64_t *upto)
{
	struct timespec until;
	int go;

	until = from_now(POLL_NS);
	pthread_mutex_lock(&lock);
	while (running && !head && pthread_cond_timedwait(&cond, &lock, &until) == 0)
		;
	*list = head;
	head = NULL;
	*upto = n_queued;
	go = running;
	pthread_mutex_unlock(&lock);
	return go;
}

/* Top-level names whose cached names were dropped in this batch. */
struct dropped {
	char name[8][256];
	int n;
};

/* Make the kernel forget the top-level entry of path and every name it
 * caches below it (once a batch). Only a dentry invalidation makes it forget
 * a name, and the root is the one folder whose node id libfuse's path API
 * lets us name: the folder's names are looked up again. */
static void drop_top(const char *path, struct dropped *d)
{
	const char *name = path + 1;
	size_t len = strcspn(name, "/");

	for (int i = 0; i < d->n; i++)
		if (strlen(d->name[i]) == len && strncmp(d->name[i], name, len) == 0)
			return;
	fuse_lowlevel_notify_inval_entry(fuse_get_session(fuse), FUSE_ROOT_ID, name, len);
	if (d->n < 8 && len < sizeof(d->name[0]))
		snprintf(d->name[d->n++], sizeof(d->name[0]), "%.*s", (int)len, name);
}

/* Drop path's cached attributes and pages. A name the kernel still holds
 * (libfuse has its node) but the store no longer has went away without the
 * kernel (an eviction, a removal under its folder's other spelling, a
 * restore): the kernel would answer for it from its cache, and send an
 * open(O_CREAT) of it as a plain open, so it must forget it. */
static void send(const struct item *it, struct dropped *d)
{
	struct stat st;

	if (fuse_invalidate_path(fuse, it->path) == 0 && it->name &&
	    fs_getattr(it->path, &st, NULL) == -ENOENT)
		drop_top(it->path, d);
}

static void *worker(void *arg)
{
	struct item *list;
	struct dropped d;
	uint64_t upto;
	char snap[300];

	(void)arg;
	snprintf(snap, sizeof(snap), "/%s", path_snapshot_dir);
	while (take(&list, &upto)) {
		d.n = 0;
		while (list) {
			struct item *next = list->next;
			send(list, &d);
			free(list);
			list = next;
		}
		pthread_mutex_lock(&lock);
		n_sent = upto;
		pthread_cond_broadcast(&sent);
		pthread_mutex_unlock(&lock);
		/* a restore or snapshot by the CLI: the names it changed are
		 * queued; a snapshot it dropped may be cached */
		if (pk_store_poll(store)) {
			fuse_invalidate_path(fuse, snap);
			drop_top(snap, &d);
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

/* Queue one path (name: an entry's). */
static void push(const char *path, int name)
{
	struct item *it = malloc(sizeof(*it));

	if (!it)
		return; /* the entry timeout bounds how long it stays stale */
	snprintf(it->path, sizeof(it->path), "%s", path);
	it->name = name;
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

	until = from_now(1000000000L); /* bounded: never a reason for a request to hang */
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
		push(path, 0);
	}
	if (path_capath_dir) {
		snprintf(path, sizeof(path), "/%s", path_capath_dir);
		push(path, 0);
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
	push(path, name != NULL);
	if (f == PK_F_REJECTED)
		snprintf(alias, sizeof(alias), "/rejected/certs%s%s", name ? "/" : "",
			 name ? name : "");
	else if (f == PK_F_ISSUERS || f == PK_F_ISSUERS_CERTS || f == PK_F_ISSUERS_CRL)
		snprintf(alias, sizeof(alias), "/issuer%s", path + strlen("/issuers"));
	else
		return;
	push(alias, name != NULL);
}
