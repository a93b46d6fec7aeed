/*
 * inval.c: the invalidation thread (see inval.h).
 */
#define FUSE_USE_VERSION 314
#include <fuse.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inval.h"
#include "path.h"

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

/* Take the whole queue, or wait for one; NULL when stopping. */
static struct item *take(void)
{
	struct item *list;

	pthread_mutex_lock(&lock);
	while (running && !head)
		pthread_cond_wait(&cond, &lock);
	list = head;
	head = NULL;
	pthread_mutex_unlock(&lock);
	return list;
}

static void *worker(void *arg)
{
	struct item *list;

	(void)arg;
	while ((list = take())) {
		while (list) {
			struct item *next = list->next;
			fuse_invalidate_path(fuse, list->path);
			free(list);
			list = next;
		}
	}
	return NULL;
}

int inval_start(struct fuse *f)
{
	fuse = f;
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

void inval_queue(void *ctx, enum pk_folder f, const char *name)
{
	char path[512], alias[600];

	(void)ctx;
	if (!name) {
		/* a folder changed: the views made from it changed too */
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
		return;
	}
	path_format(path, sizeof(path), f, name);
	push(path);
	/* the same entry under its other spelling */
	if (f == PK_F_REJECTED)
		snprintf(alias, sizeof(alias), "/rejected/certs/%s", name);
	else if (f == PK_F_ISSUERS_CERTS || f == PK_F_ISSUERS_CRL)
		snprintf(alias, sizeof(alias), "/issuer%s", path + strlen("/issuers"));
	else
		return;
	push(alias);
}
