/*
 * dirfill.c: directory listings one kernel buffer at a time (dirfill.h).
 */
#include <stdlib.h>
#include <string.h>

#include "dirfill.h"

/* The names one readdir gave, each with its offset (ascending). */
struct dir_marks {
	size_t n, cap;
	struct dir_mark {
		off_t off;
		size_t at; /* its name in names */
	} * v;
	char *names;
	size_t used, size;
};

/* Copy the name given at offset off into out ("" if none was). */
static void find_mark(const struct dir_marks *m, off_t off, char *out, size_t size)
{
	size_t lo = 0, hi = m ? m->n : 0;

	out[0] = '\0';
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (m->v[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (m && lo < m->n && m->v[lo].off == off && strlen(m->names + m->v[lo].at) < size)
		strcpy(out, m->names + m->v[lo].at);
}

/* Remember that name was given at off. A mark that cannot be kept (no
 * memory) only makes a seek to it count from the first. */
static void add_mark(struct handle *h, off_t off, const char *name)
{
	struct dir_marks *m = h->dir_marks;
	size_t len = strlen(name) + 1;

	if (!m && !(m = h->dir_marks = calloc(1, sizeof(*m))))
		return;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct dir_mark *v = realloc(m->v, cap * sizeof(*v));
		if (!v)
			return;
		m->v = v;
		m->cap = cap;
	}
	if (m->used + len > m->size) {
		size_t size = m->size ? m->size * 2 : 4096;
		char *names;
		while (size < m->used + len)
			size *= 2;
		if (!(names = realloc(m->names, size)))
			return;
		m->names = names;
		m->size = size;
	}
	memcpy(m->names + m->used, name, len);
	m->v[m->n++] = (struct dir_mark){off, m->used};
	m->used += len;
}

void dir_fill_init(struct dir_fill *d, void *buf, dir_filler fill, int plus, off_t off,
		   struct handle *h)
{
	memset(d, 0, sizeof(*d));
	d->buf = buf;
	d->fill = fill;
	d->plus = plus;
	d->start = off;
	d->h = h;
	/* go on after the name at off, wherever in the last page it was;
	 * anything else (a rewind, an old seek) counts from the first */
	if (off > 0)
		find_mark(h->dir_marks, off, d->after, sizeof(d->after));
	if (h->dir_marks)
		h->dir_marks->n = h->dir_marks->used = 0;
}

int dir_fill_emit(struct dir_fill *d, const char *name, const struct stat *st, int plus)
{
	if (d->full)
		return 1;
	if (++d->pos <= d->start)
		return 0;
	if (d->fill(d->buf, name, st, d->pos, plus && d->plus)) {
		d->pos--;
		d->full = 1;
	}
	return d->full;
}

int dir_fill_dots(struct dir_fill *d, const struct stat *self, uint64_t self_ino,
		  uint64_t parent_ino)
{
	struct stat dot = {.st_ino = self_ino, .st_mode = S_IFDIR | 0755};
	struct stat dotdot = {.st_ino = parent_ino, .st_mode = S_IFDIR | 0755};

	return dir_fill_emit(d, ".", self ? self : &dot, 0) ||
	       dir_fill_emit(d, "..", &dotdot, 0);
}

const char *dir_fill_resume(struct dir_fill *d)
{
	if (!d->after[0])
		return NULL;
	if (d->pos < d->start)
		d->pos = d->start;
	return d->after;
}

int dir_fill_stored(struct dir_fill *d, const char *name, const struct stat *st)
{
	if (dir_fill_emit(d, name, st, 1))
		return 1;
	if (d->pos > d->start) /* given, not skipped by a count */
		add_mark(d->h, d->pos, name);
	return 0;
}

void dir_fill_free(struct handle *h)
{
	if (h->dir_marks) {
		free(h->dir_marks->v);
		free(h->dir_marks->names);
		free(h->dir_marks);
		h->dir_marks = NULL;
	}
}
