/*
 * doctor: findings an operator should act on, from the live store.
 *
 * Not invariants (check.h says whether the store is sound) but advice: a
 * CA in trusted/ or issuers/ without a CRL (stacks then reject what it
 * issued as "revocation unknown"), an own key without its certificate or
 * the reverse, expired certificates, CRLs past their next update, RSA keys
 * under 2048 bits and SHA-1 signatures, a certificate held under several
 * names in one folder, rejected/ near its cap, a store file others can
 * read, and the size of the audit log.
 */
#ifndef PKIFS_DOCTOR_H
#define PKIFS_DOCTOR_H

#include "pkifs/check.h"
#include "pkifs/store.h"

/* Look at the store (file path db, for its mode) and report each finding
 * as check.h reports a violation (kinds: "ca-without-crl", "unpaired",
 * "expired", ...); *n gets their number. */
enum pk_err pk_doctor(struct pk_store *s, const char *db, pk_violation_fn fn, void *ctx,
		      unsigned *n, struct pk_status *st);

#endif
