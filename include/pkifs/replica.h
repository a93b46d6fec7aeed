/*
 * replica: the store's side of a trust list a fleet shares.
 *
 * A fleet keeps one ordered log of the changes to the replicated folders
 * (pk_folder_info(f)->replicated: the trust and issuer lists of every
 * group); each machine's store applies that log and serves from itself.
 * With a replicator set, a trust operation on a replicated folder is
 * validated here exactly as before (same rules, same errors), then handed
 * to the replicator instead of committed: it commits the change to the log
 * and returns once the log's change has come back and been applied. The
 * log's changes, whichever machine made them, reach the store only through
 * pk_replica_apply and pk_replica_reset, each one transaction and one
 * generation, audited with the machine and the caller that made them.
 */
#ifndef PKIFS_REPLICA_H
#define PKIFS_REPLICA_H

#include <stdint.h>

#include "pkifs/store.h"
#include "pkifs/trust.h"

/* One change to a replicated folder: a file put, or (data NULL) removed. */
struct pk_repl_change {
	enum pk_folder f;
	const char *name;
	const void *data;
	size_t len;
	unsigned mode;
	int64_t mtime_ns;
	uint64_t ino;	  /* 0: a new number */
	const char *node; /* a resync's file: the machine that wrote it (NULL: unknown) */
};

/* Who made a batch of the log's changes, for the audit rows. */
struct pk_repl_origin {
	const char *node;      /* the machine */
	const char *op;	       /* its operation: put, trust, rename, remove, ... */
	struct pk_caller who;  /* the process there */
};

struct pk_replicator {
	/* Commit the n changes to the log as one, only if none of the names
	 * they touch changed in the log after revision base (what the store
	 * had applied when it validated them). PK_OK once the store has
	 * applied them; PK_E_BUSY when a name changed meanwhile (the store is
	 * caught up: validate again); PK_E_READONLY when the log cannot
	 * commit (no quorum, unreachable). st says why. */
	enum pk_err (*commit)(void *ctx, const struct pk_caller *c, const char *op, uint64_t base,
			      const struct pk_repl_change *ch, size_t n, struct pk_status *st);
	void *ctx;
};

/* Send changes of replicated folders to r (NULL: commit them locally). */
void pk_store_set_replicator(struct pk_store *s, const struct pk_replicator *r);

/* Apply one batch of the log, at revision rev, in one transaction. A
 * change this store's rules refuse (a limit set lower here) is skipped and
 * audited as refused; the rest apply. */
enum pk_err pk_replica_apply(struct pk_store *s, const struct pk_repl_origin *o,
			     const struct pk_repl_change *ch, size_t n, uint64_t rev,
			     struct pk_status *st);

/* Make the replicated folders hold exactly the n files of ch (the whole
 * log's state at rev, after a first start or a compaction): one
 * transaction; what differs is audited as a resync. */
enum pk_err pk_replica_reset(struct pk_store *s, const struct pk_repl_change *ch, size_t n,
			     uint64_t rev, struct pk_status *st);

/* The log revision the store last applied (0: none). */
uint64_t pk_replica_revision(struct pk_store *s);

/* Every live file of the replicated folders (a first machine seeds the
 * log with them); data malloc'd, free with pk_replica_free. */
enum pk_err pk_replica_local(struct pk_store *s, struct pk_repl_change **ch, size_t *n);
void pk_replica_free(struct pk_repl_change *ch, size_t n);

/* Status the fleet's client leaves for `pkifs status` (setting rows
 * "fleet_<key>"), and reads back; value NULL when none. */
void pk_replica_note(struct pk_store *s, const char *key, const char *value);
char *pk_replica_info(struct pk_store *s, const char *key);

#endif
