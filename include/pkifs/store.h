/*
 * store: the certificate database, one SQLite file.
 *
 * The store keeps content-addressed blobs (the exact bytes of a file, with the
 * metadata parsed from them) and entries (a name in a folder pointing at a
 * blob, with mode, owner and mtime). Every change bumps a generation; an entry
 * row records the generation it was born in and the one it died in, so the
 * tree at any past generation can be read back (snapshots and history) and
 * the live tree is the set of rows not yet dead. Inode numbers are columns,
 * stable for an entry's life and across remounts. This header is the read
 * side and the lifecycle; changes go through trust.h.
 */
#ifndef PKIFS_STORE_H
#define PKIFS_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "pkifs/folder.h"
#include "pkifs/status.h"

struct pk_store;

/* What stat(2) shows of an entry or a folder. */
struct pk_attr {
	uint64_t ino;
	unsigned mode; /* permission bits only */
	unsigned uid, gid;
	int64_t mtime_ns;
	int64_t ctime_ns;
	uint64_t size;
};

struct pk_store_opts {
	struct pk_limits limits;
	int create;   /* create the file and schema if missing */
	int readonly; /* open for reading only (pkifs log) */
};

/* Called after a commit for each name whose entry it added, replaced,
 * removed or changed (side effects included: an eviction from rejected/, a
 * restore), and with name NULL for each folder whose content changed; also
 * for what another process committed (pk_store_poll). fs/ drops these from
 * the kernel's caches, which may then keep everything else for long. */
typedef void (*pk_changed_fn)(void *ctx, enum pk_folder f, const char *name);

enum pk_err pk_store_open(const char *path, const struct pk_store_opts *o,
			  struct pk_store **out, struct pk_status *st);
void pk_store_close(struct pk_store *s);
void pk_store_on_change(struct pk_store *s, pk_changed_fn fn, void *ctx);
const struct pk_limits *pk_store_limits(const struct pk_store *s);

/* Live entry f/name: attributes, or PK_E_NOENT. */
enum pk_err pk_store_lookup(struct pk_store *s, enum pk_folder f, const char *name,
			    struct pk_attr *a);

/* Live entry's bytes (malloc'd, caller frees) and attributes. */
enum pk_err pk_store_read(struct pk_store *s, enum pk_folder f, const char *name, void **data,
			  size_t *len, struct pk_attr *a);

typedef int (*pk_list_fn)(void *ctx, const char *name, const struct pk_attr *a);

/* Call fn for each live entry of f, by name; stops when fn returns nonzero. */
enum pk_err pk_store_list(struct pk_store *s, enum pk_folder f, pk_list_fn fn, void *ctx);

/* The same, from the first name after `after` on (a directory listing that
 * goes on where its last page ended, without counting from the start). */
enum pk_err pk_store_list_after(struct pk_store *s, enum pk_folder f, const char *after,
				pk_list_fn fn, void *ctx);

/* A folder's own attributes (mtime moves on every change inside it). */
enum pk_err pk_store_dir_attr(struct pk_store *s, enum pk_folder f, struct pk_attr *a);

/* A fresh inode number, never handed out before in this store. */
uint64_t pk_store_new_ino(struct pk_store *s);

/* Make every committed change durable (fsync). */
enum pk_err pk_store_sync(struct pk_store *s);

/* Look for commits by other processes (the CLI): catch the counters up and
 * report what they changed to the listener. 1 if there were any. */
int pk_store_poll(struct pk_store *s);

/* Current generation (count of committed changes). */
uint64_t pk_store_generation(struct pk_store *s);

/* Inode numbers of the fixed folders: 1 + folder id. */
#define PK_FOLDER_INO(f) ((uint64_t)(f) + 1)
/* Entries and other nodes get numbers from here on. */
#define PK_FIRST_INO 1024

#endif
