/*
 * fleet.h: a trust list shared by a fleet of machines through etcd.
 *
 * The replicated folders (the trust and issuer lists) live in etcd under a
 * prefix, one key per file: PREFIX/trusted/certs/NAME holds a short header
 * and the file's bytes. Every transaction also writes PREFIX/_who: which
 * machine and which process made it, for the audit rows everywhere.
 *
 * Reads are the local store's. A thread lists the prefix once, then
 * watches it from the last revision applied; each revision becomes one
 * local generation (pk_replica_apply), invalidated in the kernel like any
 * commit. A compacted revision makes it list again (pk_replica_reset). A
 * write into a replicated folder, validated by the store, becomes one etcd
 * transaction guarded by the revision it was validated at, and returns
 * once this machine has applied it. Without etcd (no quorum, unreachable)
 * the replicated folders answer EROFS; the thread reconnects by itself.
 */
#ifndef PKIFS_FS_FLEET_H
#define PKIFS_FS_FLEET_H

#include <pthread.h>
#include <stdint.h>

#include "etcd.h"
#include "pkifs/replica.h"
#include "pkifs/store.h"

/* -o etcd=URL|URL..., etcd_prefix=, etcd_node=, etcd_cacert=, etcd_cert=, etcd_key= */
struct fleet_opts {
	const char *endpoints; /* NULL: not in a fleet */
	const char *prefix;
	const char *node;
	const char *cacert, *cert, *key;
	const char *user, *password_file; /* etcd's RBAC user */
};

struct fleet {
	struct etcd etcd;
	struct pk_store *store;
	char prefix[256];
	char node[64];
	pthread_t thread;
	int running;
	volatile int stop;
	pthread_mutex_t lock;
	pthread_cond_t applied_cv;
	uint64_t applied; /* the etcd revision the store has applied */
	int listed;	  /* listed since the last compaction seen */
	int up;		  /* the watch is open */
	long long contact; /* last noted contact, seconds */
};

/* Start sharing s's replicated folders (nothing when o->endpoints is
 * NULL). 0, or -1 with a message printed. */
int fleet_start(struct fleet *fl, struct pk_store *s, const struct fleet_opts *o);
void fleet_stop(struct fleet *fl);

/* The etcd revision now, from the first endpoint that answers (0: none;
 * why says what failed). For `pkifs status`. */
uint64_t fleet_head(const struct fleet_opts *o, char *why, size_t whylen);

/* Each replicated file of the fleet as etcd holds it now (one revision,
 * *rev): fn(ctx, c) with c's folder, name, bytes, mode and mtime, until it
 * returns nonzero. 0, or -1 with why (a message is printed for bad
 * options). For `pkifs list -o etcd=`: no store needed. */
typedef int (*fleet_file_fn)(void *ctx, const struct pk_repl_change *c);
int fleet_each_file(const struct fleet_opts *o, fleet_file_fn fn, void *ctx, uint64_t *rev,
		    char *why, size_t whylen);

#endif
