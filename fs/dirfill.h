/*
 * dirfill.h: directory listings one kernel buffer at a time.
 *
 * Every entry is given with its offset, so libfuse neither buffers a whole
 * folder (100,000 names would cost the daemon megabytes) nor drops the
 * attributes that READDIRPLUS hands the kernel (each one a LOOKUP saved on
 * a scan). Stored names come in name order; a directory handle keeps the
 * last one given, so the next page goes on from there instead of counting
 * from the first (a seek, rarer, counts).
 */
#ifndef PKIFS_FS_DIRFILL_H
#define PKIFS_FS_DIRFILL_H

#define FUSE_USE_VERSION 314
#include <fuse.h>

#include "ctx.h"

struct dir_fill {
	void *buf;
	fuse_fill_dir_t fill;
	int plus;
	off_t start; /* the kernel has every entry up to this offset */
	off_t pos;   /* offset of the last entry passed, given or skipped */
	int full;    /* the kernel's buffer is full */
	struct handle *h;
	char after[sizeof(((struct handle *)0)->dir_last)]; /* resume after this name */
};

void dir_fill_init(struct dir_fill *d, void *buf, fuse_fill_dir_t fill, int plus, off_t off,
		   struct handle *h);
/* Pass one entry (plus: with attributes); 1 once the buffer is full. */
int dir_fill_emit(struct dir_fill *d, const char *name, const struct stat *st, int plus);
/* Before the stored names: the name to list after (NULL: from the first). */
const char *dir_fill_resume(struct dir_fill *d);
/* Pass one stored name (a pk_list_fn body); 1 once the buffer is full. */
int dir_fill_stored(struct dir_fill *d, const char *name, const struct stat *st);
/* After the listing: remember where it ended. */
void dir_fill_done(struct dir_fill *d);

#endif
