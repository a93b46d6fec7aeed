/*
 * trust: the operations that change the store.
 *
 * Each call is one trust operation — put a file, rename (trust, distrust),
 * remove, change attributes — validated against the destination folder's
 * rules, committed in one transaction and recorded in the audit log, or
 * refused with a reason and the store left as it was (the refusal is audited
 * too). The caller says who asked, for the log.
 */
#ifndef PKIFS_TRUST_H
#define PKIFS_TRUST_H

#include "pkifs/store.h"

/* Who asked: from the FUSE request context, or the CLI's own process. */
struct pk_caller {
	unsigned uid, gid;
	int pid;
	char comm[32];
};

/* The content and attributes of a file to be put. */
struct pk_file {
	const void *data;
	size_t len;
	struct pk_attr attr; /* ino (0: new), mode, uid, gid, mtime_ns */
};

#define PK_NOREPLACE 1u /* fail with PK_E_EXISTS when the name is taken */
#define PK_DROPPED   2u /* dropped into the folder's parent (pk_folder_route): noted */

/* Put file at f/name (replacing what is there unless PK_NOREPLACE). */
enum pk_err pk_trust_put(struct pk_store *s, const struct pk_caller *c, enum pk_folder f,
			 const char *name, const struct pk_file *file, unsigned flags,
			 struct pk_status *st);

/* One put of several made together. */
struct pk_put {
	enum pk_folder folder;
	const char *name;
	const struct pk_file *file;
	unsigned flags;
};

/* Put a, then b, in one transaction (an own certificate and its key): both
 * or neither, each audited. */
enum pk_err pk_trust_put_pair(struct pk_store *s, const struct pk_caller *c,
			      const struct pk_put *a, const struct pk_put *b,
			      struct pk_status *st);

/* Move f1/n1 to f2/n2; the destination folder's rules apply. */
enum pk_err pk_trust_rename(struct pk_store *s, const struct pk_caller *c, enum pk_folder f1,
			    const char *n1, enum pk_folder f2, const char *n2, unsigned flags,
			    struct pk_status *st);

enum pk_err pk_trust_remove(struct pk_store *s, const struct pk_caller *c, enum pk_folder f,
			    const char *name, struct pk_status *st);

#define PK_SET_MODE  1u
#define PK_SET_UID   2u
#define PK_SET_GID   4u
#define PK_SET_MTIME 8u

/* Change attributes of entry f/name (name NULL: the folder itself). */
enum pk_err pk_trust_setattr(struct pk_store *s, const struct pk_caller *c, enum pk_folder f,
			     const char *name, const struct pk_attr *a, unsigned which,
			     struct pk_status *st);

/* Log a refusal decided outside the core (a write over the size cap, ...). */
void pk_trust_refused(struct pk_store *s, const struct pk_caller *c, const char *op,
		      enum pk_folder f, const char *name, const struct pk_status *st);

#endif
