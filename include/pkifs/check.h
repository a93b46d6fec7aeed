/*
 * check: the store's invariants, verified from its rows (an fsck).
 *
 * What every other module relies on and no single operation can see: the
 * file is sound (integrity_check) and its foreign keys hold; every entry,
 * live or in history, names a blob that exists and whose bytes hash to its
 * SHA-256; the metadata stored with a blob is what parsing its bytes gives
 * now; every live entry satisfies its folder's rules (kind, CA flags, a
 * key's mode, the size it claims); rejected/ holds each certificate once
 * and no more entries than its cap; live inode numbers are unique; a name's
 * versions do not overlap in time, and snapshots name generations that
 * exist, with their folders' attributes. A violation is reported with the
 * path it concerns and what is wrong; the store is only read.
 *
 * The one repair offered is for entries whose bytes are gone (stores
 * written before blob ids stopped being reused): they are removed, each
 * audited, in one transaction, and nothing else is touched.
 */
#ifndef PKIFS_CHECK_H
#define PKIFS_CHECK_H

#include <stdarg.h>
#include <stdint.h>
#include "pkifs/progress.h"
#include "pkifs/store.h"
#include "pkifs/trust.h"

struct pk_violation {
	const char *kind; /* stable id: "missing-blob", "hash-mismatch", ... */
	const char *path; /* folder/name, "snapshot NAME", "blob N" or "-" */
	const char *what; /* what is wrong, in words */
};

typedef void (*pk_violation_fn)(void *ctx, const struct pk_violation *v);

/* Call fn (if any) with a violation of kind at path, what made from fmt
 * and ap (vprintf-style); for checks and for doctor's findings alike. */
void pk_violation_vemit(pk_violation_fn fn, void *ctx, const char *kind, const char *path,
			const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

struct pk_check_counts {
	uint64_t entries; /* rows, live and history */
	uint64_t live;	  /* live entries */
	uint64_t blobs;
	uint64_t snapshots;
	uint64_t violations;
};

/* Verify every invariant, calling fn for each violation, in one read
 * transaction (a consistent view while a daemon writes). PK_OK when the
 * check ran, whatever it found (see n->violations). */
enum pk_err pk_store_check(struct pk_store *s, pk_violation_fn fn, void *ctx,
			   const struct pk_progress *p, struct pk_check_counts *n,
			   struct pk_status *st);

/* Remove the entries (live and history) whose blob does not exist, with an
 * audit row for each live one, in one transaction; *removed gets the number
 * of rows. The caller makes sure no daemon has the store mounted. */
enum pk_err pk_store_repair(struct pk_store *s, const struct pk_caller *c, unsigned *removed,
			    struct pk_status *st);

/* Record the limits a daemon mounts with (max_rejected), so a check judges
 * the store by the cap it was run with. */
enum pk_err pk_store_note_limits(struct pk_store *s);

#endif
