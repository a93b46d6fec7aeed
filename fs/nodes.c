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

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct knode **table;
static size_t nbuckets, count;

static size_t bucket(uint64_t ino)
{
	ino ^= ino >> 33;
	ino *= 0xff51afd7ed558ccdULL;
	ino ^= ino >> 33;
	return (size_t)(ino & (nbuckets - 1));
}

static struct knode *find(uint64_t ino)
{
	struct knode *k = nbuckets ? table[bucket(ino)] : NULL;

	while (k && k->ino != ino)
		k = k->next;
	return k;
}

/* Double the buckets once the table is as full as it is wide. */
static int grow(void)
{
	size_t old = nbuckets, n = old ? old * 2 : 1024;
	struct knode **t = calloc(n, sizeof(*t)), **prev = table;

	if (!t)
		return old ? 0 : -ENOMEM; /* longer chains, still correct */
	table = t;
	nbuckets = n;
	for (size_t i = 0; i < old; i++)
		for (struct knode *k = prev[i], *next; k; k = next) {
			next = k->next;
			k->next = table[bucket(k->ino)];
			table[bucket(k->ino)] = k;
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

static void unlink_node(struct knode *k);

static struct knode *add(uint64_t ino)
{
	struct knode *k;

	if (count >= nbuckets && grow() != 0)
		return NULL;
	if (!(k = calloc(1, sizeof(*k))))
		return NULL;
	k->ino = ino;
	k->next = table[bucket(ino)];
	table[bucket(ino)] = k;
	count++;
	return k;
}

int nodes_ref(uint64_t ino, uint64_t parent, const char *name, const struct stat *st)
{
	struct knode *k;
	int rc = 0;

	if (ino == ROOT_ID)
		return 0;
	pthread_mutex_lock(&lock);
	k = find(ino);
	if (!k && !(k = add(ino)))
		rc = -ENOMEM;
	if (k && rename_node(k, parent, name) != 0 && !k->name)
		rc = -ENOMEM;
	if (rc == 0) {
		k->nlookup++;
		k->st = *st;
	} else if (k && !k->nlookup && !k->open) {
		unlink_node(k); /* the lookup fails: the kernel holds nothing */
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

static void unlink_node(struct knode *k)
{
	struct knode **pp = &table[bucket(k->ino)];

	while (*pp != k)
		pp = &(*pp)->next;
	*pp = k->next;
	count--;
	free(k->name);
	free(k);
}

void nodes_forget(uint64_t ino, uint64_t n)
{
	struct knode *k;

	pthread_mutex_lock(&lock);
	k = find(ino);
	if (k) {
		k->nlookup = k->nlookup > n ? k->nlookup - n : 0;
		if (!k->nlookup && !k->open)
			unlink_node(k);
	}
	pthread_mutex_unlock(&lock);
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

int nodes_path(uint64_t ino, char *buf, size_t size)
{
	char *end = buf + size - 1;
	int rc = 0, depth = 0;

	if (size < 2)
		return -ENAMETOOLONG;
	*end = 0;
	pthread_mutex_lock(&lock);
	while (rc == 0 && ino != ROOT_ID) {
		struct knode *k = find(ino);
		if (!k || !k->name || ++depth > 64)
			rc = -ENOENT;
		else if ((rc = prepend(buf, &end, k->name)) == 0)
			ino = k->parent;
	}
	pthread_mutex_unlock(&lock);
	if (rc)
		return rc;
	if (!*end)
		*--end = '/';
	memmove(buf, end, strlen(end) + 1);
	return 0;
}

void nodes_moved(uint64_t ino, uint64_t parent, const char *name)
{
	struct knode *k;

	pthread_mutex_lock(&lock);
	if ((k = find(ino)))
		rename_node(k, parent, name);
	pthread_mutex_unlock(&lock);
}

void nodes_set_attr(uint64_t ino, const struct stat *st)
{
	struct knode *k;

	pthread_mutex_lock(&lock);
	if ((k = find(ino)))
		k->st = *st;
	pthread_mutex_unlock(&lock);
}

void nodes_open(uint64_t ino)
{
	struct knode *k;

	pthread_mutex_lock(&lock);
	if ((k = find(ino)))
		k->open++;
	pthread_mutex_unlock(&lock);
}

void nodes_close(uint64_t ino)
{
	struct knode *k;

	pthread_mutex_lock(&lock);
	if ((k = find(ino)) && k->open && !--k->open && !k->nlookup)
		unlink_node(k);
	pthread_mutex_unlock(&lock);
}

int nodes_orphan_attr(uint64_t ino, struct stat *st)
{
	struct knode *k;
	int rc = -ENOENT;

	pthread_mutex_lock(&lock);
	if ((k = find(ino)) && k->open) {
		*st = k->st;
		st->st_nlink = 0;
		rc = 0;
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

size_t nodes_count(void)
{
	size_t n;

	pthread_mutex_lock(&lock);
	n = count;
	pthread_mutex_unlock(&lock);
	return n;
}

void nodes_clear(void)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < nbuckets; i++)
		while (table[i]) {
			struct knode *k = table[i];
			table[i] = k->next;
			free(k->name);
			free(k);
		}
	free(table);
	table = NULL;
	nbuckets = count = 0;
	pthread_mutex_unlock(&lock);
}
