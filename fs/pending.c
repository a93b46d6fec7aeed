/*
 * pending.c: the table of files being written and lock directories.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pending.h"

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pending *table;

void pending_lock(void)
{
	pthread_mutex_lock(&table_lock);
}

void pending_unlock(void)
{
	pthread_mutex_unlock(&table_lock);
}

struct pending *pending_get(enum pk_folder f, const char *name)
{
	struct pending *p;

	pending_lock();
	for (p = table; p; p = p->next)
		if (p->folder == f && strcmp(p->name, name) == 0)
			break;
	if (p)
		p->refs++;
	pending_unlock();
	return p;
}

struct pending *pending_new(enum pk_folder f, const char *name, const struct pk_attr *a)
{
	struct pending *p = calloc(1, sizeof(*p));

	if (!p || !(p->name = strdup(name))) {
		free(p);
		return NULL;
	}
	p->folder = f;
	p->attr = *a;
	p->refs = 2; /* the caller's and the table's */
	p->listed = 1;
	p->staged = p->name[0] == '.';
	pending_lock();
	p->next = table;
	table = p;
	pending_unlock();
	return p;
}

/* Unlink p from the table; the table lock is held. */
static void unlist_locked(struct pending *p)
{
	struct pending **pp;

	if (!p->listed)
		return;
	for (pp = &table; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	p->listed = 0;
	p->refs--;
}

void pending_unlist(struct pending *p)
{
	pending_lock();
	unlist_locked(p);
	if (p->refs == 0) {
		pending_unlock();
		free(p->buf);
		free(p->name);
		free(p);
		return;
	}
	pending_unlock();
}

int pending_rename(struct pending *p, enum pk_folder f, const char *name)
{
	char *copy = strdup(name);

	if (!copy)
		return -ENOMEM;
	pending_lock();
	free(p->name);
	p->name = copy;
	p->folder = f;
	pending_unlock();
	return 0;
}

int pending_last_handle(struct pending *p)
{
	int last;

	pending_lock();
	last = p->listed && !p->staged && !p->isdir && p->refs == 2;
	pending_unlock();
	return last;
}

void pending_release(struct pending *p)
{
	pending_lock();
	if (p->listed && !p->staged && !p->isdir && p->refs == 2)
		unlist_locked(p);
	pending_unlock();
	pending_put(p);
}

void pending_put(struct pending *p)
{
	int last;

	pending_lock();
	last = --p->refs == 0;
	pending_unlock();
	if (last) {
		free(p->buf);
		free(p->name);
		free(p);
	}
}

int pending_resize(struct pending *p, size_t size, size_t max)
{
	if (size > max)
		return -EFBIG;
	if (size > p->cap) {
		size_t cap = p->cap ? p->cap : 4096;
		char *buf;
		while (cap < size)
			cap *= 2;
		if (cap > max)
			cap = max;
		buf = realloc(p->buf, cap);
		if (!buf)
			return -ENOMEM;
		p->buf = buf;
		p->cap = cap;
	}
	if (size > p->len)
		memset(p->buf + p->len, 0, size - p->len);
	p->written |= size > 0;
	p->len = size;
	p->dirty = 1;
	return 0;
}

int pending_write(struct pending *p, const void *data, size_t size, size_t off, size_t max)
{
	size_t end = off + size;
	int rc = 0;

	if (end < off)
		return -EFBIG;
	if (end > p->len)
		rc = pending_resize(p, end, max);
	if (rc == 0 && size) {
		memcpy(p->buf + off, data, size);
		p->dirty = 1;
		p->written = 1;
	}
	return rc;
}

void pending_set_attr(struct pending *p, const struct pk_attr *a, unsigned which)
{
	pending_lock();
	if (which & PK_SET_MODE)
		p->attr.mode = a->mode & 07777;
	if (which & PK_SET_UID)
		p->attr.uid = a->uid;
	if (which & PK_SET_GID)
		p->attr.gid = a->gid;
	if (which & PK_SET_MTIME)
		p->attr.mtime_ns = a->mtime_ns;
	pending_unlock();
}

void pending_each(enum pk_folder f, pending_fn fn, void *ctx)
{
	pending_lock();
	for (struct pending *p = table; p; p = p->next)
		if (p->folder == f && !p->staged)
			fn(ctx, p);
	pending_unlock();
}
