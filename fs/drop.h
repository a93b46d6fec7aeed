/*
 * drop.h: files dropped into trusted/ or issuers/.
 *
 * Those two folders hold only folders, yet people `cp ca.der trusted/` and
 * `mv rejected/X trusted/`. Such a file is filed under the same name in
 * the folder's certs/ (a certificate) or crl/ (a CRL), with that folder's
 * rules, and the audit row says it was dropped; anything else is refused
 * with the reason. The kernel then forgets the dropped name, so the folder
 * keeps showing only certs/ and crl/.
 */
#ifndef PKIFS_FS_DROP_H
#define PKIFS_FS_DROP_H

#include "pkifs/trust.h"

/* Where data, written as f/name, goes: f itself, or the folder
 * pk_folder_route picks (then *flags gets PK_DROPPED). A refusal is
 * audited as op at f/name and returned with its reason in st. */
enum pk_err drop_route(const struct pk_caller *c, const char *op, enum pk_folder f,
		       const char *name, const void *data, size_t len, enum pk_folder *to,
		       unsigned *flags, struct pk_status *st);

/* The same for the stored entry from/fname moved to f/name. */
enum pk_err drop_route_entry(const struct pk_caller *c, enum pk_folder from, const char *fname,
			     enum pk_folder f, const char *name, enum pk_folder *to,
			     unsigned *flags, struct pk_status *st);

/* f/name was filed elsewhere: make the kernel forget it (asynchronous). */
void drop_forget(enum pk_folder f, const char *name);

#endif
