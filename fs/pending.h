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
 *
 * Records are found through a hash table keyed by folder and name, and each
 * folder keeps a list of its own for listings: no operation walks the
 * records of other folders. Two caps bound the daemon's memory: the number
 * of lock directories (-o max_locks) and the bytes buffered for all files
 * being written together (-o pending_max); past either, ENOSPC.
 */
#ifndef PKIFS_FS_PENDING_H
#define PKIFS_FS_PENDING_H

#include <pthread.h>
#include <stddef.h>

#include "pkifs/trust.h"

struct pending_table;

struct pending {
	struct pending_table *table;   /* the table it belongs to */
	struct pending *hnext;	       /* hash chain */
	struct pending *fprev, *fnext; /* the folder's list */
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

#define PENDING_SLOTS (PK_F_COUNT + 1) /* the folders, and the views' sink */

/* The records of one daemon. */
struct pending_table {
	pthread_mutex_t lock;
	struct pending **buckets;
	size_t nbuckets, nrecords;
	struct pending *folders[PENDING_SLOTS];
	size_t bytes_used, bytes_max; /* buffered for all records */
	size_t locks, locks_max;      /* lock directories */
};

/* An empty table without caps. */
void pending_init(struct pending_table *t);
/* Free every record still listed (at unmount, when no handle is open). */
void pending_clear(struct pending_table *t);

/* The caps: bytes buffered across all records, lock directories. */
void pending_set_caps(struct pending_table *t, size_t bytes_max, size_t locks_max);
/* What the caps allow and what is in use now (for refusal reasons). */
void pending_usage(struct pending_table *t, size_t *bytes, size_t *bytes_max, size_t *locks,
		   size_t *locks_max);

/* Find the listed record for folder/name and take a reference (or NULL). */
struct pending *pending_get(struct pending_table *t, enum pk_folder f, const char *name);

/* A new listed record with one reference for the caller. */
struct pending *pending_new(struct pending_table *t, enum pk_folder f, const char *name,
			    const struct pk_attr *a);

/* A new listed lock directory with one reference for the caller; NULL with
 * *err -EEXIST (the name is taken), -ENOSPC (max_locks reached), -ENOMEM. */
struct pending *pending_new_lockdir(struct pending_table *t, enum pk_folder f, const char *name,
				    const struct pk_attr *a, int *err);

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

/* Write bytes at off, growing the buffer (table locked): 0, or -EFBIG past
 * max, -ENOSPC past pending_max, -ENOMEM. */
int pending_write(struct pending *p, const void *data, size_t size, size_t off, size_t max);
/* Truncate or extend with zeros (table locked); errors as pending_write. */
int pending_resize(struct pending *p, size_t size, size_t max);
/* Give p the malloc'd bytes data as its content: 0, or -ENOSPC past
 * pending_max (data is then the caller's still). */
int pending_adopt(struct pending *p, void *data, size_t len);
/* Free the bytes of a refused record (its room goes back to pending_max). */
void pending_drop_buf(struct pending *p);

/* Set the fields of a selected by which (PK_SET_*) on p. */
void pending_set_attr(struct pending *p, const struct pk_attr *a, unsigned which);

/* Lock the table around multi-step changes of one record's fields. */
void pending_lock(struct pending_table *t);
void pending_unlock(struct pending_table *t);

/* A listed name, copied out of the table for a listing. */
struct pending_name {
	char name[256];
	struct pk_attr attr; /* size is the bytes written so far */
	int isdir;
};

/* The first (up to) max names of f after `after` (NULL: from the first), in
 * name order (strcmp, as the store lists): lock directories and files not
 * yet committed. *more is set when there are further ones. */
size_t pending_names_after(struct pending_table *t, enum pk_folder f, const char *after,
			   struct pending_name *out, size_t max, int *more);

#endif
