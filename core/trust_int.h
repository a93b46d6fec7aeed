/*
 * trust_int.h: the trust layer's row changes for the fleet's log
 * (replica.c), core-internal. Each runs inside a transaction with the
 * store's lock held and appends its own audit row; none commits.
 */
#ifndef PKIFS_CORE_TRUST_INT_H
#define PKIFS_CORE_TRUST_INT_H

#include "pkifs/replica.h"
#include "store_int.h"

/* Put ch (a file of the log) as the folder's rules allow, or remove it
 * (ch->data NULL); audited as what, by c, with note. */
enum pk_err pk_trust_apply(struct pk_store *s, const struct pk_caller *c, const char *what,
			   const char *note, const struct pk_repl_change *ch,
			   struct pk_status *st);

/* The log revision the store applied last; the lock held. */
uint64_t pk_replica_rev_locked(struct pk_store *s);

#endif
