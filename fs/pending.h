/*
 * pending.h: files being written, not yet committed to the store.
 *
 * A file opened for writing gets a pending record holding its bytes; its
 * content reaches the store only when it is closed (flush) or, for a staged
 * file, renamed onto a visible name. A staged file is one created under a
 * dot-name (rsync's .NAME.XXXXXX, an editor's swap file): it survives close
 * so its attributes can still be set by path, and lives until renamed or
 * unlinked. Lock directories (NAME.lock) live here too: they are process
 * locks, kept in memory and gone with the daemon, like the locks they model.
 * All records are guarded by one mutex; the caller holds references.
 */
#ifndef PKIFS_FS_PENDING_H
#define PKIFS_FS_PENDING_H

#include <pthread.h>
#include <stddef.h>

#include "pkifs/trust.h"

struct pending {
	struct pending *next;
	enum pk_folder folder;
	char *name;
	struct pk_attr attr; /* ino, mode, uid, gid, mtime; size is len */
	char *buf;
	size_t len, cap;
	int refs;	      /* open handles, plus one for the table while listed */
	int listed;	      /* in the table, so lookups see it */
	int staged;	      /* dot-name: commit on rename, not on close */
	int dirty;	      /* content differs from the store's */
	int written;	      /* bytes were written since open (else commit at release) */
	int failed;	      /* refused: flush reports err once */
	int err;	      /* positive errno of the refusal */
	int isdir;	      /* a lock directory */
	struct pk_caller who; /* who opened it, for the audit log */
};

/* Find the listed record for folder/name and take a reference (or NULL). */
struct pending *pending_get(enum pk_folder f, const char *name);

/* A new listed record with one reference for the caller. */
struct pending *pending_new(enum pk_folder f, const char *name, const struct pk_attr *a);

/* Take it out of the table (lookups no longer see it). */
void pending_unlist(struct pending *p);

/* Give a new name to a listed record. */
int pending_rename(struct pending *p, enum pk_folder f, const char *name);

/* Is the caller's handle the only one on this listed, unstaged file? */
int pending_last_handle(struct pending *p);

/* A handle closes: an unstaged file nobody else has open leaves the table. */
void pending_release(struct pending *p);

/* Drop a reference; the last one frees it. */
void pending_put(struct pending *p);

/* Write bytes at off, growing the buffer: 0, or -EFBIG past max, -ENOMEM. */
int pending_write(struct pending *p, const void *data, size_t size, size_t off, size_t max);
/* Truncate or extend with zeros. */
int pending_resize(struct pending *p, size_t size, size_t max);

/* Set the fields of a selected by which (PK_SET_*) on p. */
void pending_set_attr(struct pending *p, const struct pk_attr *a, unsigned which);

/* Lock the table around multi-step changes of one record's fields. */
void pending_lock(void);
void pending_unlock(void);

typedef void (*pending_fn)(void *ctx, struct pending *p);
/* Call fn for each listed lock directory and each unstaged file of f not
 * yet committed (the table is locked while fn runs). */
void pending_each(enum pk_folder f, pending_fn fn, void *ctx);

#endif
