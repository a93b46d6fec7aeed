/*
 * dirfill.h: directory listings one kernel buffer at a time.
 *
 * Every entry is given with its offset, so libfuse neither buffers a whole
 * folder (100,000 names would cost the daemon megabytes) nor drops the
 * attributes that READDIRPLUS hands the kernel (each one a LOOKUP saved on
 * a scan). After the fixed entries (".", "..", child folders) names come in
 * name order, and a directory handle keeps the names the last readdir gave
 * with their offsets: the next page goes on after the name at the offset
 * the kernel asks for, whether it took the whole buffer or, its reader's
 * buffer full, only part of it. Names that come or go meanwhile (a flood
 * into rejected/, a file committed) never make a listing repeat or skip
 * one that stayed. Only a seek to an older offset counts from the first.
 */
#ifndef PKIFS_FS_DIRFILL_H
#define PKIFS_FS_DIRFILL_H

#include "ctx.h"

/* Entries go to a dir_filler (ctx.h): one entry at offset off (0: the
 * listing is given whole and the receiver counts), with attributes when
 * plus; nonzero once the buffer is full. */

struct dir_fill {
	void *buf;
	dir_filler fill;
	int plus;
	off_t start; /* the kernel has every entry up to this offset */
	off_t pos;   /* offset of the last entry passed, given or skipped */
	int full;    /* the kernel's buffer is full */
	struct handle *h;
	char after[256]; /* resume after this name ("": from the first) */
};

void dir_fill_init(struct dir_fill *d, void *buf, dir_filler fill, int plus, off_t off,
		   struct handle *h);
/* Pass one entry (plus: with attributes); 1 once the buffer is full. */
int dir_fill_emit(struct dir_fill *d, const char *name, const struct stat *st, int plus);

/* "." (with self's attributes, or as a directory of inode self_ino) and
 * "..", both typed as directories, so readers that trust d_type need no
 * stat; nonzero when the buffer is full. */
int dir_fill_dots(struct dir_fill *d, const struct stat *self, uint64_t self_ino,
		  uint64_t parent_ino);
/* Before the names: the name to list after (NULL: from the first). */
const char *dir_fill_resume(struct dir_fill *d);
/* Pass one name, in name order (a pk_list_fn body); 1 once the buffer is
 * full. */
int dir_fill_stored(struct dir_fill *d, const char *name, const struct stat *st);
/* Free what a directory handle kept of its listing. */
void dir_fill_free(struct handle *h);

#endif
