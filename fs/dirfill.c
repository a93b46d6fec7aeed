/*
 * dirfill.c: directory listings one kernel buffer at a time (dirfill.h).
 */
#include <stdio.h>
#include <string.h>

#include "dirfill.h"

void dir_fill_init(struct dir_fill *d, void *buf, fuse_fill_dir_t fill, int plus, off_t off,
		   struct handle *h)
{
	memset(d, 0, sizeof(*d));
	d->buf = buf;
	d->fill = fill;
	d->plus = plus;
	d->start = off;
	d->h = h;
	/* the next page goes on after the last name given; anything else (a
	 * seek, a rewind) counts from the first */
	if (off > 0 && h->dir_off == off)
		snprintf(d->after, sizeof(d->after), "%s", h->dir_last);
	h->dir_last[0] = '\0';
}

int dir_fill_emit(struct dir_fill *d, const char *name, const struct stat *st, int plus)
{
	if (d->full)
		return 1;
	if (++d->pos <= d->start)
		return 0;
	if (d->fill(d->buf, name, st, d->pos, plus && d->plus ? FUSE_FILL_DIR_PLUS : 0)) {
		d->pos--;
		d->full = 1;
	}
	return d->full;
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
	snprintf(d->h->dir_last, sizeof(d->h->dir_last), "%s", name);
	return 0;
}

void dir_fill_done(struct dir_fill *d)
{
	d->h->dir_off = d->pos;
}
