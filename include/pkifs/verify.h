/*
 * verify: would a stack using this store accept a certificate, and why not.
 *
 * The certificate validation of OPC UA Part 4 (6.1.3) against the live
 * store, step by step: structure; a chain built from trusted/ and issuers/
 * up to a self-signed root (also for a certificate that is itself in
 * trusted/); signatures; validity periods; revocation through the CRLs of
 * trusted/crl and issuers/crl (a CA without a CRL, an expired CRL or one
 * whose signature fails is "revocation unknown", which rejects unless
 * allowed, as node-opcua does); every CA with CA:TRUE and keyCertSign and
 * within its pathLen; the leaf's key usage and, when asked, extended key
 * usage (clientAuth or serverAuth); the security policy (no SHA-1
 * signatures, no RSA key under 2048 bits); and trust-list membership (the
 * certificate or a CA of its chain in trusted/: a CA found only in
 * issuers/ builds the chain but trusts nothing).
 */
#ifndef PKIFS_VERIFY_H
#define PKIFS_VERIFY_H

#include <stdint.h>
#include "pkifs/store.h"

enum pk_verify_step {
	PK_VS_STRUCTURE,
	PK_VS_CHAIN,
	PK_VS_SIGNATURE,
	PK_VS_VALIDITY,
	PK_VS_REVOCATION,
	PK_VS_CA,
	PK_VS_USAGE,
	PK_VS_POLICY,
	PK_VS_TRUST,
	PK_VS_COUNT
};

enum pk_verdict { PK_V_SKIPPED = 0, PK_V_OK, PK_V_FAIL, PK_V_UNKNOWN };

enum pk_usage { PK_AS_ANY = 0, PK_AS_CLIENT, PK_AS_SERVER };

struct pk_verify_opts {
	enum pk_usage as;
	int allow_unknown_revocation; /* accept "revocation unknown" (UA-.NET's default) */
	enum pk_group group;	      /* whose trust lists: the application group's (0) */
};

struct pk_verify_result {
	int accepted;
	struct {
		enum pk_verdict verdict;
		char why[256];
	} step[PK_VS_COUNT];
	char chain[1024]; /* "CN=leaf <- CN=CA <- CN=Root" */
};

/* The step's name as printed ("structure", "chain", ...). */
const char *pk_verify_step_name(enum pk_verify_step step);

/* Validate cert (DER or PEM, optionally followed by its chain) against
 * the live store. PK_OK when the validation ran, whatever its verdict. */
enum pk_err pk_verify(struct pk_store *s, const void *cert, size_t len,
		      const struct pk_verify_opts *o, struct pk_verify_result *r,
		      struct pk_status *st);

#endif
