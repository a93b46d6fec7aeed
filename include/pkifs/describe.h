/*
 * describe: what an operator wants to know of a stored object.
 *
 * pk_object (object.h) is what the folder rules need and what the store
 * indexes; this is the rest that a certificate table shows: common names,
 * subject alternative names (the OPC UA applicationUri is the first URI),
 * key and extended key usage, basic constraints, the signature algorithm,
 * the public key's type and size, and both thumbprints. Parsed with the
 * full OpenSSL context from the stored bytes, on demand (listings and
 * `pkifs show`), never on the write path.
 */
#ifndef PKIFS_DESCRIBE_H
#define PKIFS_DESCRIBE_H

#include <stdint.h>
#include "pkifs/object.h"

struct pk_details {
	enum pk_kind kind;
	int is_ca, self_signed;
	int path_len; /* basicConstraints pathLen, -1 when absent */
	char subject[256], issuer[256];
	char subject_cn[128], issuer_cn[128];
	char serial[80];
	int64_t not_before, not_after; /* CRL: thisUpdate, nextUpdate (0: none) */
	char uri[256];		       /* first URI of the subjectAltName */
	char sans[512];		       /* "URI:..., DNS:..., IP:..." */
	char key_usage[192];	       /* "digitalSignature, keyCertSign, ..." */
	char ext_key_usage[128];       /* "serverAuth, clientAuth" */
	char sig_alg[48];	       /* "sha256WithRSAEncryption" */
	char key_type[16];	       /* "RSA", "EC P-256", "Ed25519"; "" unknown */
	int key_bits;
	int encrypted;	   /* a key that needs a password */
	int revoked_count; /* CRL: entries */
	char sha1[41], sha256[65];
};

/* Describe data (DER or PEM; the first object of a file). Objects that are
 * no certificate, CRL or key give PK_OK with only kind and digests set. */
enum pk_err pk_describe(const void *data, size_t len, struct pk_details *d,
			struct pk_status *st);

/* A kind as the certificate table shows it: "CA", "self-signed", "leaf",
 * "CRL", "key", "PKCS#12", "empty", "other". */
const char *pk_details_kind(const struct pk_details *d);

#endif
