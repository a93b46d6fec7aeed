/*
 * snapshot: named points in the store's history.
 *
 * A snapshot is a name for a generation: the tree it shows is every entry
 * row born at or before that generation and not dead by it, so taking one
 * costs the same at any store size (one row, plus the folders' attributes).
 * History is kept for a retention period; pruning deletes rows that died
 * before it and that no snapshot still shows. Restore makes the live tree
 * equal to a snapshot in one audited transaction.
 */
#ifndef PKIFS_SNAPSHOT_H
#define PKIFS_SNAPSHOT_H

#include "pkifs/progress.h"
#include "pkifs/store.h"
#include "pkifs/trust.h"

struct pk_snapshot {
	char name[256];
	uint64_t gen;
	int64_t time_ns; /* when the generation was current (taken, or --at) */
};

/* Take snapshot name of the live tree (at_ns 0) or of the tree as it was
 * at time at_ns (within retained history). PK_E_EXISTS if taken. */
enum pk_err pk_snapshot_create(struct pk_store *s, const struct pk_caller *c, const char *name,
			       int64_t at_ns, struct pk_status *st);
enum pk_err pk_snapshot_delete(struct pk_store *s, const struct pk_caller *c, const char *name,
			       struct pk_status *st);
enum pk_err pk_snapshot_get(struct pk_store *s, const char *name, struct pk_snapshot *out);

typedef int (*pk_snapshot_fn)(void *ctx, const struct pk_snapshot *snap);
/* Each snapshot, by name; stops when fn returns nonzero. */
enum pk_err pk_snapshot_list(struct pk_store *s, pk_snapshot_fn fn, void *ctx);

/* The read side at a snapshot: as pk_store_lookup/read/list/dir_attr. */
enum pk_err pk_snapshot_lookup(struct pk_store *s, const struct pk_snapshot *snap,
			       enum pk_folder f, const char *name, struct pk_attr *a);
enum pk_err pk_snapshot_read(struct pk_store *s, const struct pk_snapshot *snap,
			     enum pk_folder f, const char *name, void **data, size_t *len,
			     struct pk_attr *a);
enum pk_err pk_snapshot_entries(struct pk_store *s, const struct pk_snapshot *snap,
				enum pk_folder f, pk_list_fn fn, void *ctx);
/* The same from the first name after `after` on (NULL: from the first). */
enum pk_err pk_snapshot_entries_after(struct pk_store *s, const struct pk_snapshot *snap,
				      enum pk_folder f, const char *after, pk_list_fn fn,
				      void *ctx);
enum pk_err pk_snapshot_dir_attr(struct pk_store *s, const struct pk_snapshot *snap,
				 enum pk_folder f, struct pk_attr *a);

/* Make the live tree equal to snapshot name, in one audited transaction. */
enum pk_err pk_snapshot_restore(struct pk_store *s, const struct pk_caller *c, const char *name,
				struct pk_status *st);

/* Delete at most max_rows history rows that died before now - retention_ns
 * and that no snapshot shows; returns how many in *deleted. */
enum pk_err pk_history_prune(struct pk_store *s, int64_t retention_ns, unsigned max_rows,
			     unsigned *deleted);

/* Write a consistent copy of the whole database to path (SQLite backup). */
enum pk_err pk_store_backup(struct pk_store *s, const char *path, const struct pk_progress *p,
			    struct pk_status *st);

#endif
