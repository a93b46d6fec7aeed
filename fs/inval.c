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

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t sent = PTHREAD_COND_INITIALIZER;
static uint64_t n_queued, n_sent; /* notifications queued, and sent up to */
static struct item *head;
static int running;
static pthread_t thread;
static struct fuse_session *session;
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

/* Make the kernel forget a name under every spelling of its folder (its
 * node is looked up again: it may be gone, or another file's now), and
 * drop the cached attributes and pages of the entry the name holds now. */
static void send_name(enum pk_folder f, const char *name)
{
	uint64_t dirs[2];
	struct pk_attr a;
	int n = path_dir_inos(f, dirs);

	for (int i = 0; i < n; i++)
		fuse_lowlevel_notify_inval_entry(session, dirs[i], name, strlen(name));
	if (pk_store_lookup(store, f, name, &a) == PK_OK)
		fuse_lowlevel_notify_inval_inode(session, a.ino, 0, 0);
}

/* A folder's attributes (its mtime) under every spelling. */
static void send_folder(enum pk_folder f)
{
	uint64_t dirs[2];
	int n = path_dir_inos(f, dirs);

	for (int i = 0; i < n; i++)
		fuse_lowlevel_notify_inval_inode(session, dirs[i], 0, 0);
}

/* A snapshot the CLI took or dropped: snapshot/ is looked up again. */
static void send_snapshots(void)
{
	fuse_lowlevel_notify_inval_inode(session, PATH_SNAPROOT_INO, 0, 0);
	fuse_lowlevel_notify_inval_entry(session, FUSE_ROOT_ID, path_snapshot_dir,
					 strlen(path_snapshot_dir));
}

static void send(const struct item *it)
{
	if (it->folder == PK_F_NONE && it->ino == PATH_SNAPROOT_INO)
		send_snapshots();
	else if (it->folder == PK_F_NONE) /* a view: its node only */
		fuse_lowlevel_notify_inval_inode(session, it->ino, 0, 0);
	else if (it->name[0])
		send_name(it->folder, it->name);
	else
		send_folder(it->folder);
}

static void push(enum pk_folder f, const char *name, uint64_t ino);

/* A restore or snapshot by the CLI: the names it changed are queued, and
 * snapshot/ (a snapshot it took or dropped may be cached). */
static void catch_up(void)
{
	if (pk_store_poll(store) && path_snapshot_dir)
		push(PK_F_NONE, NULL, PATH_SNAPROOT_INO);
}

static void *worker(void *arg)
{
	struct item *list;
	uint64_t upto;

	(void)arg;
	while (take(&list, &upto)) {
		while (list) {
			struct item *next = list->next;
			send(list);
			free(list);
			list = next;
		}
		pthread_mutex_lock(&lock);
		n_sent = upto;
		pthread_cond_broadcast(&sent);
		pthread_mutex_unlock(&lock);
		catch_up();
	}
	return NULL;
}

int inval_start(struct fuse_session *se, struct pk_store *s)
{
	session = se;
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

/* Queue one item. */
static void push(enum pk_folder f, const char *name, uint64_t ino)
{
	struct item *it = malloc(sizeof(*it));

	if (!it)
		return; /* the entry timeout bounds how long it stays stale */
	it->folder = f;
	it->ino = ino;
	snprintf(it->name, sizeof(it->name), "%s", name ? name : "");
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

/* The views are made from the trust folders: they change with them (the
 * CApath view's names are kept briefly, ll.c). */
static void push_views(enum pk_folder f)
{
	if (f < PK_F_TRUSTED_CERTS || f > PK_F_ISSUERS_CRL)
		return;
	if (path_cafile)
		push(PK_F_NONE, NULL, PATH_CAFILE_INO);
	if (path_capath_dir)
		push(PK_F_NONE, NULL, PATH_CAPATH_INO);
}

/* A changed name (or, name NULL, a folder whose content changed). */
void inval_queue(void *ctx, enum pk_folder f, const char *name)
{
	(void)ctx;
	if (!name)
		push_views(f);
	push(f, name, 0);
}

void inval_sync(void)
{
	catch_up();
	inval_wait();
}
