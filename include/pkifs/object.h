/*
 * object: what a file's bytes mean.
 *
 * A file written into the tree is parsed once into a struct pk_object: a
 * certificate (possibly followed by its issuer chain), a CRL, a private key, a
 * PKCS#12 bundle, an empty file, or none of these. The metadata extracted here
 * (thumbprint, subject hash, CA flags, public-key digest) is what the store
 * indexes and the folder rules judge. Pure OpenSSL; no store, no paths.
 */
#ifndef PKIFS_OBJECT_H
#define PKIFS_OBJECT_H

#include <stddef.h>
#include <stdint.h>
#include "pkifs/status.h"

/* The numbers of the kinds that SQL names (the store's partial indexes
 * are on certificates and CRLs): queries build their text from these. */
#define PK_KIND_CERT_ID 2
#define PK_KIND_CRL_ID	3

enum pk_kind {
	PK_KIND_NONE = 0,		/* not a PKI object (auxiliary files: openssl.cnf) */
	PK_KIND_EMPTY = 1,		/* zero-length file */
	PK_KIND_CERT = PK_KIND_CERT_ID, /* one certificate, optionally followed by its chain */
	PK_KIND_CRL = PK_KIND_CRL_ID,
	PK_KIND_KEY,	/* a private key, any supported encoding */
	PK_KIND_PKCS12, /* a .pfx bundle (key and certificate) */
	PK_KIND_CSR,	/* a PKCS#10 certificate signing request (own/certs only) */
};

struct pk_object {
	enum pk_kind kind;
	int der;			 /* 1: DER encoding, 0: PEM */
	unsigned chain_len;		 /* certificates in the file */
	char thumb[41];			 /* SHA-1 of leaf cert / CRL DER, hex; "" for keys */
	int has_pubkey;			 /* pubkey_sha256 is set */
	unsigned char pubkey_sha256[32]; /* SHA-256 of the SubjectPublicKeyInfo DER */
	uint32_t subject_hash;		 /* as `openssl x509 -subject_hash` (cert) */
	uint32_t issuer_hash;		 /* cert's issuer, or `openssl crl -hash` */
	int is_ca;			 /* basicConstraints CA:TRUE */
	int key_cert_sign;		 /* keyUsage has keyCertSign (or no keyUsage) */
	int self_signed;		 /* subject == issuer and own key verifies it */
	int encrypted;			 /* key or PKCS#12 that needs a password */
	int64_t not_before,
		not_after; /* unix seconds (cert: validity; CRL: this/next update) */
	char subject[256]; /* RFC 2253 one-line */
	char issuer[256];
	char serial[80]; /* hex */
};

/*
 * Parse data (DER or PEM) into out. A zero-length buffer is PK_KIND_EMPTY.
 * Returns PK_OK with out->kind set, PK_E_MALFORMED for bytes that look like a
 * PKI object but are broken (truncated DER, bad base64, trailing garbage), and
 * PK_E_CHAIN for several certificates that are not leaf-first, each signed by
 * the next. Bytes that are no PKI object at all give PK_OK with PK_KIND_NONE.
 */
enum pk_err pk_object_parse(const void *data, size_t len, struct pk_object *out,
			    struct pk_status *st);

/* Does the CRL (DER or PEM bytes) verify with the CA certificate's key? */
enum pk_err pk_crl_verify(const void *crl, size_t crl_len, const void *ca, size_t ca_len,
			  struct pk_status *st);

/*
 * PEM text of the first object (the leaf certificate, or the CRL) of data, for
 * generated views. Returns a malloc'd buffer in *pem (caller frees) or an error.
 */
enum pk_err pk_object_pem(const void *data, size_t len, char **pem, size_t *pem_len);

#endif
