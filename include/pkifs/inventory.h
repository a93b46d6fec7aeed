/*
 * inventory: what a store holds, as an operator asks about it.
 *
 * The live certificates, CRLs and keys with their details (describe.h),
 * folder by folder; where one certificate is held, live and in snapshots;
 * and what the audit log says happened to it. Read-only: these run on a
 * store opened for reading, also while a daemon writes it.
 */
#ifndef PKIFS_INVENTORY_H
#define PKIFS_INVENTORY_H

#include <stdint.h>
#include "pkifs/describe.h"
#include "pkifs/store.h"

struct pk_item {
	enum pk_folder folder;
	const char *name;
	struct pk_attr attr;
	struct pk_details d;
};

typedef int (*pk_item_fn)(void *ctx, const struct pk_item *it);

/* Every live certificate, CRL, key and PKCS#12 bundle of the folders in
 * mask (bit 1ull << folder; 0: every folder), by folder then name. fn
 * returning nonzero stops the walk. */
enum pk_err pk_inventory(struct pk_store *s, uint64_t mask, pk_item_fn fn, void *ctx);

/* The live item at f/name (PK_E_NOENT if none, or not a PKI object). */
enum pk_err pk_inventory_get(struct pk_store *s, enum pk_folder f, const char *name,
			     struct pk_item *it, char *name_buf, size_t size);

/* The live item holding certificate or CRL thumb (SHA-1 or SHA-256 hex). */
enum pk_err pk_inventory_find(struct pk_store *s, const char *thumb, struct pk_item *it,
			      char *name_buf, size_t size);

/* Each place that holds SHA-1 thumb: live (snapshot NULL), then in each
 * snapshot by name. */
typedef void (*pk_holder_fn)(void *ctx, const char *snapshot, enum pk_folder f,
			     const char *name);
enum pk_err pk_inventory_holders(struct pk_store *s, const char *thumb, pk_holder_fn fn,
				 void *ctx);

/* The name of own/certs/name's key in own/private (f PK_F_OWN_CERTS), or
 * the reverse: the entry with the same public key; PK_E_NOENT if none. */
enum pk_err pk_inventory_pair(struct pk_store *s, enum pk_folder f, const char *name,
			      char *pair, size_t size);

/* One audit row, for a certificate's history. */
struct pk_event {
	int64_t time_ns;
	const char *op, *path, *path2, *comm, *outcome, *reason;
	long long uid;
};
typedef void (*pk_event_fn)(void *ctx, const struct pk_event *ev);

/* The audit rows that name SHA-1 thumb, oldest first. */
enum pk_err pk_inventory_history(struct pk_store *s, const char *thumb, pk_event_fn fn,
				 void *ctx);

#endif
