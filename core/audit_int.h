/*
 * audit_int.h: writing the audit log (core-internal; fs/ reads the log
 * through pkifs/audit.h and writes it only through the operations).
 *
 * Every change appends its row in its own transaction and commits with it
 * (pk_audit_commit); a refusal is appended in a transaction of its own
 * (pk_audit_refusal). When that transaction cannot be had (disk full,
 * database locked) the refusal is kept in memory (a bounded number) and
 * written, with its original time, by the next transaction that commits
 * through here. Writing depends on the store and its transactions, never
 * the other way round.
 */
#ifndef PKIFS_CORE_AUDIT_INT_H
#define PKIFS_CORE_AUDIT_INT_H

#include <sqlite3.h>
#include <stdio.h>

#include "pkifs/audit.h"
#include "pkifs/trust.h"
#include "store_int.h"

struct pk_audit_rec {
	const char *op; /* "put", "rename", "remove", "setattr", "evict", ... */
	enum pk_folder folder;
	const char *name;
	enum pk_folder folder2; /* rename destination, or PK_F_NONE */
	const char *name2;
	const char *thumb; /* certificate/CRL thumbprint or NULL */
	const struct pk_caller *caller;
	enum pk_err err;    /* PK_OK for an accepted operation */
	const char *reason; /* refusal reason, or a note ("paired with ...") */
	int64_t time_ns;    /* when it happened; 0: now */
};

/* Append r to the log inside the current transaction. */
enum pk_err pk_audit_append(struct pk_store *s, const struct pk_audit_rec *r);

/* Commit the running transaction with the refusals kept so far and r (NULL:
 * no row of its own, as for a change of times). On failure everything is
 * rolled back and st says why. */
enum pk_err pk_audit_commit(struct pk_store *s, const struct pk_audit_rec *r,
			    struct pk_status *st);

/* Run body (which appends its own audit row) in one transaction under the
 * store's lock: commit it with the refusals kept so far when it returns
 * PK_OK, roll back otherwise. */
typedef enum pk_err (*pk_audit_body)(struct pk_store *s, void *ctx, struct pk_status *st);
enum pk_err pk_audit_run(struct pk_store *s, pk_audit_body body, void *ctx,
			 struct pk_status *st);

/* Audit refusal r in a transaction of its own, or keep it for the next
 * commit when none can be had. No transaction may be running. */
void pk_audit_refusal(struct pk_store *s, const struct pk_audit_rec *r);

/* One row of pk_audit_print_filtered's query as one JSON object a line:
 * time, gen, op, path, path2, sha1, uid, pid, cmd, outcome, errno, reason. */
void pk_audit_print_json(FILE *out, sqlite3_stmt *q);

#endif
