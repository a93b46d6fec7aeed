/*
 * inval.c: the invalidation thread (see inval.h).
 */
#define FUSE_USE_VERSION 314
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

/* A name in a folder, a folder (name ""), or a view's node (folder
 * PK_F_NONE, ino). */
struct item {
	struct item *next;
	enum pk_folder folder;
	uint64_t ino;
	char name[256];
};

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
static int take(struct inval *iv, struct item **list, uint64_t *upto)
{
	struct timespec until;
	int go;

	until = from_now(POLL_NS);
	pthread_mutex_lock(&iv->lock);
	while (iv->running && !iv->head && pthread_cond_timedwait(&iv->cond, &iv->lock, &until) == 0)
		;
	*list = iv->head;
	iv->head = NULL;
	*upto = iv->n_queued;
	go = iv->running;
	pthread_mutex_unlock(&iv->lock);
	return go;
}

/* Make the kernel forget a name under every spelling of its folder (its
 * node is looked up again: it may be gone, or another file's now), and
 * drop the cached attributes and pages of the entry the name holds now. */
static void send_name(struct inval *iv, enum pk_folder f, const char *name)
{
	uint64_t dirs[4];
	struct pk_attr a;
	int n = path_dir_inos(f, dirs);

	for (int i = 0; i < n; i++)
		fuse_lowlevel_notify_inval_entry(iv->session, dirs[i], name, strlen(name));
	if (pk_store_lookup(iv->store, f, name, &a) == PK_OK)
		fuse_lowlevel_notify_inval_inode(iv->session, a.ino, 0, 0);
}

/* A folder's attributes (its mtime) under every spelling. */
static void send_folder(struct inval *iv, enum pk_folder f)
{
	uint64_t dirs[4];
	int n = path_dir_inos(f, dirs);

	for (int i = 0; i < n; i++)
		fuse_lowlevel_notify_inval_inode(iv->session, dirs[i], 0, 0);
}

/* A snapshot the CLI took or dropped: snapshot/ is looked up again. */
static void send_snapshots(struct inval *iv)
{
	fuse_lowlevel_notify_inval_inode(iv->session, PATH_SNAPROOT_INO, 0, 0);
	fuse_lowlevel_notify_inval_entry(iv->session, FUSE_ROOT_ID, path_snapshot_dir,
					 strlen(path_snapshot_dir));
}

static void send(struct inval *iv, const struct item *it)
{
	if (it->folder == PK_F_NONE && it->ino == PATH_SNAPROOT_INO)
		send_snapshots(iv);
	else if (it->folder == PK_F_NONE) /* a view: its node only */
		fuse_lowlevel_notify_inval_inode(iv->session, it->ino, 0, 0);
	else if (it->name[0])
		send_name(iv, it->folder, it->name);
	else
		send_folder(iv, it->folder);
}

static void push(struct inval *iv, enum pk_folder f, const char *name, uint64_t ino);

/* A restore or snapshot by the CLI: the names it changed are queued, and
 * snapshot/ (a snapshot it took or dropped may be cached). */
static void catch_up(struct inval *iv)
{
	if (pk_store_poll(iv->store) && path_snapshot_dir)
		push(iv, PK_F_NONE, NULL, PATH_SNAPROOT_INO);
}

static void *worker(void *arg)
{
	struct inval *iv = arg;
	struct item *list;
	uint64_t upto;

	while (take(iv, &list, &upto)) {
		while (list) {
			struct item *next = list->next;
			send(iv, list);
			free(list);
			list = next;
		}
		pthread_mutex_lock(&iv->lock);
		iv->n_sent = upto;
		pthread_cond_broadcast(&iv->sent);
		pthread_mutex_unlock(&iv->lock);
		catch_up(iv);
	}
	return NULL;
}

void inval_init(struct inval *iv, struct pk_store *s)
{
	memset(iv, 0, sizeof(*iv));
	pthread_mutex_init(&iv->lock, NULL);
	pthread_cond_init(&iv->cond, NULL);
	pthread_cond_init(&iv->sent, NULL);
	iv->store = s;
}

int inval_start(struct inval *iv, struct fuse_session *se)
{
	iv->session = se;
	iv->running = 1;
	if (pthread_create(&iv->thread, NULL, worker, iv) == 0)
		return 0;
	iv->running = 0;
	return -1;
}

void inval_stop(struct inval *iv)
{
	pthread_mutex_lock(&iv->lock);
	iv->running = 0;
	pthread_cond_signal(&iv->cond);
	pthread_cond_broadcast(&iv->sent);
	pthread_mutex_unlock(&iv->lock);
	pthread_join(iv->thread, NULL);
	while (iv->head) {
		struct item *next = iv->head->next;
		free(iv->head);
		iv->head = next;
	}
}

/* Queue one item. */
static void push(struct inval *iv, enum pk_folder f, const char *name, uint64_t ino)
{
	struct item *it = malloc(sizeof(*it));

	if (!it)
		return; /* the entry timeout bounds how long it stays stale */
	it->folder = f;
	it->ino = ino;
	snprintf(it->name, sizeof(it->name), "%s", name ? name : "");
	pthread_mutex_lock(&iv->lock);
	it->next = iv->head;
	iv->head = it;
	iv->n_queued++;
	pthread_cond_signal(&iv->cond);
	pthread_mutex_unlock(&iv->lock);
}

void inval_wait(struct inval *iv)
{
	struct timespec until;
	uint64_t want;

	until = from_now(1000000000L); /* bounded: never a reason for a request to hang */
	pthread_mutex_lock(&iv->lock);
	want = iv->n_queued;
	while (iv->running && iv->n_sent < want &&
	       pthread_cond_timedwait(&iv->sent, &iv->lock, &until) == 0)
		;
	pthread_mutex_unlock(&iv->lock);
}

/* The views are made from the trust folders: they change with them (the
 * CApath view's names are kept briefly, ll.c). */
static void push_views(struct inval *iv, enum pk_folder f)
{
	if (!pk_folder_feeds_views(f))
		return;
	if (path_cafile)
		push(iv, PK_F_NONE, NULL, PATH_CAFILE_INO);
	if (path_capath_dir)
		push(iv, PK_F_NONE, NULL, PATH_CAPATH_INO);
}

/* A changed name (or, name NULL, a folder whose content changed). */
void inval_queue(void *ctx, enum pk_folder f, const char *name)
{
	struct inval *iv = ctx;

	if (!name)
		push_views(iv, f);
	push(iv, f, name, 0);
}

void inval_sync(struct inval *iv)
{
	catch_up(iv);
	inval_wait(iv);
}
