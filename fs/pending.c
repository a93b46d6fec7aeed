/*
 * pending.c: the table of files being written and lock directories.
 *
 * A hash table of chains finds a record by folder and name in O(1); each
 * folder's records are also on a doubly linked list, so a listing walks its
 * folder only and a removal unlinks in O(1). The table grows and shrinks
 * with the number of records; when it shrinks (many lock directories gone),
 * freed memory is handed back to the system.
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pending.h"

#define MIN_BUCKETS 64

static void free_record(struct pending *p);

void pending_init(struct pending_table *t)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
	t->bytes_max = t->locks_max = SIZE_MAX;
}

void pending_clear(struct pending_table *t)
{
	pending_lock(t);
	for (size_t i = 0; i < t->nbuckets; i++)
		while (t->buckets[i]) {
			struct pending *p = t->buckets[i];
			t->buckets[i] = p->hnext;
			free_record(p);
		}
	free(t->buckets);
	t->buckets = NULL;
	t->nbuckets = t->nrecords = t->bytes_used = t->locks = 0;
	memset(t->folders, 0, sizeof(t->folders));
	pending_unlock(t);
}

void pending_lock(struct pending_table *t)
{
	pthread_mutex_lock(&t->lock);
}

void pending_unlock(struct pending_table *t)
{
	pthread_mutex_unlock(&t->lock);
}

void pending_set_caps(struct pending_table *t, size_t bytes, size_t nlocks)
{
	pending_lock(t);
	t->bytes_max = bytes;
	t->locks_max = nlocks;
	pending_unlock(t);
}

void pending_usage(struct pending_table *t, size_t *bytes, size_t *bmax, size_t *nlocks,
		   size_t *lmax)
{
	pending_lock(t);
	*bytes = t->bytes_used;
	*bmax = t->bytes_max;
	*nlocks = t->locks;
	*lmax = t->locks_max;
	pending_unlock(t);
}

/* The folder list slot of f (anything unknown shares the last one). */
static size_t slot(enum pk_folder f)
{
	return (unsigned)f < PENDING_SLOTS ? (size_t)f : PENDING_SLOTS - 1;
}

/* FNV-1a of the folder and the name. */
static size_t hash(enum pk_folder f, const char *name)
{
	uint64_t h = 14695981039346656037ULL ^ (unsigned)f;

	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		h = (h ^ *c) * 1099511628211ULL;
	return (size_t)(h ^ h >> 32);
}

/* A hash chain in reverse order. */
static struct pending *reverse(struct pending *p)
{
	struct pending *r = NULL, *next;

	for (; p; p = next) {
		next = p->hnext;
		p->hnext = r;
		r = p;
	}
	return r;
}

/* Spread the records over n buckets (table locked); 0, or -ENOMEM with the
 * table as it was. Records of one name stay newest first. */
static int rehash(struct pending_table *t, size_t n)
{
	struct pending **nb = calloc(n, sizeof(*nb));

	if (!nb)
		return -ENOMEM;
	for (size_t i = 0; i < t->nbuckets; i++)
		for (struct pending *p = t->buckets[i], *next; p; p = next) {
			size_t b = hash(p->folder, p->name) & (n - 1);
			next = p->hnext;
			p->hnext = nb[b];
			nb[b] = p;
		}
	for (size_t i = 0; i < n; i++) /* each chain was turned round */
		nb[i] = reverse(nb[i]);
	free(t->buckets);
	t->buckets = nb;
	t->nbuckets = n;
	return 0;
}

/* Put p in its bucket and on its folder's list, newest first (table
 * locked); 0, or -ENOMEM. */
static int link_locked(struct pending *p)
{
	struct pending_table *t = p->table;
	size_t b, s = slot(p->folder);

	if (!t->nbuckets && rehash(t, MIN_BUCKETS))
		return -ENOMEM;
	if (t->nrecords >= t->nbuckets)
		rehash(t, t->nbuckets * 2); /* failing, chains grow longer: still right */
	b = hash(p->folder, p->name) & (t->nbuckets - 1);
	p->hnext = t->buckets[b];
	t->buckets[b] = p;
	p->fprev = NULL;
	p->fnext = t->folders[s];
	if (t->folders[s])
		t->folders[s]->fprev = p;
	t->folders[s] = p;
	t->nrecords++;
	return 0;
}

/* Take p off its bucket and its folder's list (table locked). 1 when the
 * table shrank, so freed memory is worth handing back. */
static int unlink_locked(struct pending *p)
{
	struct pending_table *t = p->table;
	struct pending **pp = &t->buckets[hash(p->folder, p->name) & (t->nbuckets - 1)];

	while (*pp && *pp != p)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = p->hnext;
	if (p->fprev)
		p->fprev->fnext = p->fnext;
	else
		t->folders[slot(p->folder)] = p->fnext;
	if (p->fnext)
		p->fnext->fprev = p->fprev;
	t->nrecords--;
	if (t->nbuckets > MIN_BUCKETS && t->nrecords < t->nbuckets / 8)
		return rehash(t, t->nbuckets / 2) == 0;
	return 0;
}

/* The newest listed record at f/name (table locked), or NULL. */
static struct pending *find_locked(struct pending_table *t, enum pk_folder f,
				   const char *name)
{
	struct pending *p = NULL;

	if (t->nbuckets)
		p = t->buckets[hash(f, name) & (t->nbuckets - 1)];
	while (p && !(p->folder == f && strcmp(p->name, name) == 0))
		p = p->hnext;
	return p;
}

struct pending *pending_get(struct pending_table *t, enum pk_folder f, const char *name)
{
	struct pending *p;

	pending_lock(t);
	p = find_locked(t, f, name);
	if (p)
		p->refs++;
	pending_unlock(t);
	return p;
}

/* A record for f/name with attributes a, not yet in the table. */
static struct pending *record(struct pending_table *t, enum pk_folder f, const char *name,
			      const struct pk_attr *a)
{
	struct pending *p = calloc(1, sizeof(*p));

	if (!p || !(p->name = strdup(name))) {
		free(p);
		return NULL;
	}
	p->table = t;
	p->folder = f;
	p->attr = *a;
	p->refs = 2; /* the caller's and the table's */
	p->listed = 1;
	p->staged = p->name[0] == '.';
	return p;
}

/* Take p's buffer out of the bytes counted against pending_max (table
 * locked; the buffer itself is freed after the unlock). */
static void release_bytes_locked(struct pending *p)
{
	p->table->bytes_used -= p->cap;
	p->cap = 0;
}

/* Free what record() made. */
static void free_record(struct pending *p)
{
	free(p->buf);
	free(p->name);
	free(p);
}

struct pending *pending_new(struct pending_table *t, enum pk_folder f, const char *name,
			    const struct pk_attr *a)
{
	struct pending *p = record(t, f, name, a);
	int rc;

	if (!p)
		return NULL;
	pending_lock(t);
	rc = link_locked(p);
	pending_unlock(t);
	if (rc) {
		free_record(p);
		return NULL;
	}
	return p;
}

struct pending *pending_new_lockdir(struct pending_table *t, enum pk_folder f, const char *name,
				    const struct pk_attr *a, int *err)
{
	struct pending *p = record(t, f, name, a);

	*err = p ? 0 : -ENOMEM;
	if (!p)
		return NULL;
	p->isdir = 1;
	p->staged = 0;
	pending_lock(t);
	if (find_locked(t, f, name))
		*err = -EEXIST;
	else if (t->locks >= t->locks_max)
		*err = -ENOSPC;
	else if ((*err = link_locked(p)) == 0)
		t->locks++;
	pending_unlock(t);
	if (*err) {
		free_record(p);
		return NULL;
	}
	return p;
}

/* Take p out of the table (table locked). 1 when memory is worth handing
 * back to the system (the table shrank, or the last lock went). */
static int unlist_locked(struct pending *p)
{
	int trim;

	if (!p->listed)
		return 0;
	trim = unlink_locked(p);
	if (p->isdir && --p->table->locks == 0)
		trim = 1;
	p->listed = 0;
	p->refs--;
	return trim;
}

/* Drop one reference (table locked); 1 when it was the last. */
static int put_locked(struct pending *p)
{
	if (--p->refs > 0)
		return 0;
	release_bytes_locked(p);
	return 1;
}

void pending_unlist(struct pending *p)
{
	int trim, last;

	pending_lock(p->table);
	trim = unlist_locked(p);
	last = p->refs == 0;
	if (last)
		release_bytes_locked(p);
	pending_unlock(p->table);
	if (last)
		free_record(p);
	if (trim)
		malloc_trim(0);
}

int pending_rename(struct pending *p, enum pk_folder f, const char *name)
{
	char *copy = strdup(name), *old;

	if (!copy)
		return -ENOMEM;
	pending_lock(p->table);
	if (p->listed)
		unlink_locked(p);
	old = p->name;
	p->name = copy;
	p->folder = f;
	if (p->listed)
		link_locked(p); /* the buckets exist: cannot fail */
	pending_unlock(p->table);
	free(old);
	return 0;
}

int pending_last_handle(struct pending *p)
{
	int last;

	pending_lock(p->table);
	last = p->listed && !p->staged && !p->isdir && p->refs == 2;
	pending_unlock(p->table);
	return last;
}

void pending_release(struct pending *p)
{
	int trim = 0, last;

	pending_lock(p->table);
	if (p->listed && !p->staged && !p->isdir && p->refs == 2)
		trim = unlist_locked(p);
	last = put_locked(p);
	pending_unlock(p->table);
	if (last)
		free_record(p);
	if (trim)
		malloc_trim(0);
}

void pending_put(struct pending *p)
{
	int last;

	pending_lock(p->table);
	last = put_locked(p);
	pending_unlock(p->table);
	if (last)
		free_record(p);
}

/* Make room for size bytes in p's buffer (table locked): twice the room it
 * had, or when that is over what pending_max has left, just enough. */
static int grow(struct pending *p, size_t size, size_t max)
{
	struct pending_table *t = p->table;
	size_t cap = p->cap ? p->cap : 4096, others = t->bytes_used - p->cap;
	size_t left = others > t->bytes_max ? 0 : t->bytes_max - others;
	char *buf;

	while (cap < size && cap <= SIZE_MAX / 2)
		cap *= 2;
	if (cap < size || cap > max)
		cap = max;
	if (cap > left)
		cap = size;
	if (cap > left)
		return -ENOSPC;
	buf = realloc(p->buf, cap);
	if (!buf)
		return -ENOMEM;
	t->bytes_used += cap - p->cap;
	p->buf = buf;
	p->cap = cap;
	return 0;
}

int pending_resize(struct pending *p, size_t size, size_t max)
{
	int rc;

	if (size > max)
		return -EFBIG;
	if (size > p->cap && (rc = grow(p, size, max)))
		return rc;
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

int pending_adopt(struct pending *p, void *data, size_t len)
{
	struct pending_table *t = p->table;
	size_t others;
	int rc = 0;

	pending_lock(t);
	others = t->bytes_used - p->cap;
	if (others > t->bytes_max || len > t->bytes_max - others) {
		rc = -ENOSPC;
	} else {
		free(p->buf);
		t->bytes_used += len - p->cap;
		p->buf = data;
		p->len = p->cap = len;
	}
	pending_unlock(t);
	return rc;
}

void pending_drop_buf(struct pending *p)
{
	char *buf;

	pending_lock(p->table);
	buf = p->buf;
	release_bytes_locked(p);
	p->buf = NULL;
	p->len = 0;
	pending_unlock(p->table);
	free(buf);
}

void pending_set_attr(struct pending *p, const struct pk_attr *a, unsigned which)
{
	pending_lock(p->table);
	if (which & PK_SET_MODE)
		p->attr.mode = a->mode & 07777;
	if (which & PK_SET_UID)
		p->attr.uid = a->uid;
	if (which & PK_SET_GID)
		p->attr.gid = a->gid;
	if (which & PK_SET_MTIME)
		p->attr.mtime_ns = a->mtime_ns;
	pending_unlock(p->table);
}

/* Does a listing show p: a lock directory, or a file whose content is
 * being written and not refused? */
static int shown(const struct pending *p)
{
	return !p->staged && (p->isdir || (p->dirty && !p->failed));
}

/* Put p into the sorted array v of n (at most max) records, dropping the
 * greatest when full; 1 when one was dropped or p did not fit. A name
 * already there (two writers of one name) is not put twice. */
static int keep_smallest(struct pending **v, size_t *n, size_t max, struct pending *p)
{
	size_t lo = 0, hi = *n;
	int dropped = *n == max;

	if (dropped && strcmp(p->name, v[max - 1]->name) > 0)
		return 1;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (strcmp(v[mid]->name, p->name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < *n && strcmp(v[lo]->name, p->name) == 0)
		return 0;
	memmove(v + lo + 1, v + lo, (*n - lo - dropped) * sizeof(*v));
	v[lo] = p;
	*n += !dropped;
	return dropped;
}

size_t pending_names_after(struct pending_table *t, enum pk_folder f, const char *after,
			   struct pending_name *out, size_t max, int *more)
{
	struct pending **v = malloc(max * sizeof(*v));
	size_t n = 0;

	*more = 0;
	if (!v || !max) {
		free(v);
		return 0;
	}
	pending_lock(t);
	for (struct pending *p = t->folders[slot(f)]; p; p = p->fnext)
		if (p->folder == f && shown(p) && (!after || strcmp(p->name, after) > 0))
			*more |= keep_smallest(v, &n, max, p);
	for (size_t i = 0; i < n; i++) {
		snprintf(out[i].name, sizeof(out[i].name), "%s", v[i]->name);
		out[i].attr = v[i]->attr;
		out[i].attr.size = v[i]->len;
		out[i].isdir = v[i]->isdir;
	}
	pending_unlock(t);
	free(v);
	return n;
}
