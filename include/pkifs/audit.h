/*
 * audit: the record of every trust operation, accepted or refused.
 *
 * One row per operation, written in the same transaction as the change it
 * records (a refusal in a transaction of its own): when, which generation,
 * what, which path(s), which certificate, who asked, and for a refusal the
 * error and the reason in words. `pkifs log` prints it.
 */
#ifndef PKIFS_AUDIT_H
#define PKIFS_AUDIT_H

#include <stdio.h>
#include "pkifs/store.h"
#include "pkifs/trust.h"

struct pk_audit_rec {
	const char *op;      /* "put", "rename", "remove", "setattr", "evict", ... */
	enum pk_folder folder;
	const char *name;
	enum pk_folder folder2; /* rename destination, or PK_F_NONE */
	const char *name2;
	const char *thumb;   /* certificate/CRL thumbprint or NULL */
	const struct pk_caller *caller;
	enum pk_err err;     /* PK_OK for an accepted operation */
	const char *reason;  /* refusal reason, or a note ("paired with ...") */
};

/* Append r to the log inside the current transaction. */
enum pk_err pk_audit_append(struct pk_store *s, const struct pk_audit_rec *r);

/* Print the last n rows (n <= 0: all), oldest first. */
enum pk_err pk_audit_print(struct pk_store *s, FILE *out, long n);

#endif
