/*
 * entry.h: row-level changes to entries, blobs and folders, for the trust
 * layer. Every function here runs inside a transaction with the store's
 * lock held; none audits or commits.
 */
#ifndef PKIFS_ENTRY_H
#define PKIFS_ENTRY_H

#include "pkifs/object.h"
#include "store_int.h"

/* A live entry's row: attributes and blob id. */
struct entry_row {
	struct pk_attr attr;
	int64_t blob;
};

enum pk_err entry_get(struct pk_store *s, enum pk_folder f, const char *name,
		      struct entry_row *r);
/* The live entry's bytes by blob id (malloc'd). */
enum pk_err blob_data(struct pk_store *s, int64_t blob, void **data, size_t *len);
/* The metadata parsed from a blob when it was stored. */
enum pk_err blob_meta(struct pk_store *s, int64_t blob, struct pk_object *o);
/* End the live row of f/name at this generation (no-op when absent). */
enum pk_err entry_kill(struct pk_store *s, enum pk_folder f, const char *name);
enum pk_err entry_insert(struct pk_store *s, enum pk_folder f, const char *name,
			 const struct entry_row *r);
/* The blob id for data, inserting it with o's metadata when new. */
enum pk_err blob_intern(struct pk_store *s, const void *data, size_t len,
			const struct pk_object *o, int64_t *id);
/* Advance the folder's mtime (and ctime) to now. */
enum pk_err dir_touch(struct pk_store *s, enum pk_folder f);
enum pk_err dir_set(struct pk_store *s, enum pk_folder f, const struct pk_attr *a);
/* Name of an entry of f holding certificate thumb (other than except). */
enum pk_err thumb_holder(struct pk_store *s, enum pk_folder f, const char *thumb,
			 const char *except, char *name, size_t size);
/* Name of an entry of f whose public key digest is pubkey. */
enum pk_err pubkey_holder(struct pk_store *s, enum pk_folder f, const unsigned char pubkey[32],
			  char *name, size_t size);
/* Forget f/name's row that died in this generation, and its blob if no
 * other row uses it, unless a snapshot shows it (rejected/ keeps no
 * history: it is a bounded cache, and a flood must not grow the file). */
enum pk_err entry_forget(struct pk_store *s, enum pk_folder f, const char *name);
/* Live entries in f, and the oldest one's name. */
int64_t entry_count(struct pk_store *s, enum pk_folder f);
enum pk_err entry_oldest(struct pk_store *s, enum pk_folder f, char *name, size_t size);

#endif
