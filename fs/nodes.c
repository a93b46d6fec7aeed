/*
 * nodes.c: the nodes the kernel holds (nodes.h), a hash table by node id.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "nodes.h"

#define ROOT_ID 1 /* FUSE_ROOT_ID */

struct knode {
	struct knode *next; /* hash chain */
	uint64_t ino, parent;
	uint64_t nlookup;
	unsigned open;
	struct stat st;
	char *name;
};

static size_t bucket(const struct nodes *t, uint64_t ino)
{
	ino ^= ino >> 33;
	ino *= 0xff51afd7ed558ccdULL;
	ino ^= ino >> 33;
	return (size_t)(ino & (t->nbuckets - 1));
}

static struct knode *find(const struct nodes *t, uint64_t ino)
{
	struct knode *k = t->nbuckets ? t->table[bucket(t, ino)] : NULL;

	while (k && k->ino != ino)
		k = k->next;
	return k;
}

/* Double the buckets once the table is as full as it is wide. */
static int grow(struct nodes *t)
{
	size_t old = t->nbuckets, n = old ? old * 2 : 1024;
	struct knode **nt = calloc(n, sizeof(*nt)), **prev = t->table;

	if (!nt)
		return old ? 0 : -ENOMEM; /* longer chains, still correct */
	t->table = nt;
	t->nbuckets = n;
	for (size_t i = 0; i < old; i++)
		for (struct knode *k = prev[i], *next; k; k = next) {
			next = k->next;
			k->next = nt[bucket(t, k->ino)];
			nt[bucket(t, k->ino)] = k;
		}
	free(prev);
	return 0;
}

/* Give k the name (a copy); 0, or -ENOMEM with the old one kept. */
static int rename_node(struct knode *k, uint64_t parent, const char *name)
{
	char *copy;

	if (k->name && k->parent == parent && strcmp(k->name, name) == 0)
		return 0;
	if (!(copy = strdup(name)))
		return -ENOMEM;
	free(k->name);
	k->name = copy;
	k->parent = parent;
	return 0;
}

static void unlink_node(struct nodes *t, struct knode *k);

static struct knode *add(struct nodes *t, uint64_t ino)
{
	struct knode *k;

	if (t->count >= t->nbuckets && grow(t) != 0)
		return NULL;
	if (!(k = calloc(1, sizeof(*k))))
		return NULL;
	k->ino = ino;
	k->next = t->table[bucket(t, ino)];
	t->table[bucket(t, ino)] = k;
	t->count++;
	return k;
}

int nodes_ref(struct nodes *t, uint64_t ino, uint64_t parent, const char *name, const struct stat *st)
{
	struct knode *k;
	int rc = 0;

	if (ino == ROOT_ID)
		return 0;
	pthread_mutex_lock(&t->lock);
	k = find(t, ino);
	if (!k && !(k = add(t, ino)))
		rc = -ENOMEM;
	if (k && rename_node(k, parent, name) != 0 && !k->name)
		rc = -ENOMEM;
	if (rc == 0) {
		k->nlookup++;
		k->st = *st;
	} else if (k && !k->nlookup && !k->open) {
		unlink_node(t, k); /* the lookup fails: the kernel holds nothing */
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

static void unlink_node(struct nodes *t, struct knode *k)
{
	struct knode **pp = &t->table[bucket(t, k->ino)];

	while (*pp != k)
		pp = &(*pp)->next;
	*pp = k->next;
	t->count--;
	free(k->name);
	free(k);
}

void nodes_forget(struct nodes *t, uint64_t ino, uint64_t n)
{
	struct knode *k;

	pthread_mutex_lock(&t->lock);
	k = find(t, ino);
	if (k) {
		k->nlookup = k->nlookup > n ? k->nlookup - n : 0;
		if (!k->nlookup && !k->open)
			unlink_node(t, k);
	}
	pthread_mutex_unlock(&t->lock);
}

/* Prepend "/name" before *end in buf; -ENAMETOOLONG when it does not fit. */
static int prepend(char *buf, char **end, const char *name)
{
	size_t len = strlen(name);

	if ((size_t)(*end - buf) < len + 1)
		return -ENAMETOOLONG;
	*end -= len;
	memcpy(*end, name, len);
	*--*end = '/';
	return 0;
}

int nodes_path(struct nodes *t, uint64_t ino, char *buf, size_t size)
{
	char *end = buf + size - 1;
	int rc = 0, depth = 0;

	if (size < 2)
		return -ENAMETOOLONG;
	*end = 0;
	pthread_mutex_lock(&t->lock);
	while (rc == 0 && ino != ROOT_ID) {
		struct knode *k = find(t, ino);
		if (!k || !k->name || ++depth > 64)
			rc = -ENOENT;
		else if ((rc = prepend(buf, &end, k->name)) == 0)
			ino = k->parent;
	}
	pthread_mutex_unlock(&t->lock);
	if (rc)
		return rc;
	if (!*end)
		*--end = '/';
	memmove(buf, end, strlen(end) + 1);
	return 0;
}

void nodes_moved(struct nodes *t, uint64_t ino, uint64_t parent, const char *name)
{
	struct knode *k;

	pthread_mutex_lock(&t->lock);
	if ((k = find(t, ino)))
		rename_node(k, parent, name);
	pthread_mutex_unlock(&t->lock);
}

void nodes_set_attr(struct nodes *t, uint64_t ino, const struct stat *st)
{
	struct knode *k;

	pthread_mutex_lock(&t->lock);
	if ((k = find(t, ino)))
		k->st = *st;
	pthread_mutex_unlock(&t->lock);
}

void nodes_open(struct nodes *t, uint64_t ino)
{
	struct knode *k;

	pthread_mutex_lock(&t->lock);
	if ((k = find(t, ino)))
		k->open++;
	pthread_mutex_unlock(&t->lock);
}

void nodes_close(struct nodes *t, uint64_t ino)
{
	struct knode *k;

	pthread_mutex_lock(&t->lock);
	if ((k = find(t, ino)) && k->open && !--k->open && !k->nlookup)
		unlink_node(t, k);
	pthread_mutex_unlock(&t->lock);
}

int nodes_orphan_attr(struct nodes *t, uint64_t ino, struct stat *st)
{
	struct knode *k;
	int rc = -ENOENT;

	pthread_mutex_lock(&t->lock);
	if ((k = find(t, ino)) && k->open) {
		*st = k->st;
		st->st_nlink = 0;
		rc = 0;
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

size_t nodes_count(struct nodes *t)
{
	size_t n;

	pthread_mutex_lock(&t->lock);
	n = t->count;
	pthread_mutex_unlock(&t->lock);
	return n;
}

void nodes_clear(struct nodes *t)
{
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->nbuckets; i++)
		while (t->table[i]) {
			struct knode *k = t->table[i];
			t->table[i] = k->next;
			free(k->name);
			free(k);
		}
	free(t->table);
	t->table = NULL;
	t->nbuckets = t->count = 0;
	pthread_mutex_unlock(&t->lock);
}

void nodes_init(struct nodes *t)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
}
