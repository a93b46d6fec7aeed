/*
 * owncert: making an application's own certificate and key.
 *
 * An OPC UA application instance certificate as Part 6 profiles it: the
 * applicationUri as the first subjectAltName URI, with the host's DNS
 * names and IP addresses; keyUsage digitalSignature, nonRepudiation,
 * keyEncipherment and dataEncipherment (RSA) or keyAgreement (EC), plus
 * keyCertSign when self-signed; extendedKeyUsage serverAuth and
 * clientAuth; CA:FALSE; SHA-256. Made self-signed, or as a PKCS#10 request
 * for a CA to sign, or renewed from an existing certificate with the same
 * subject and names. Pure OpenSSL: the caller stores the results (the key
 * as PEM PKCS#8, the certificate as DER or PEM).
 */
#ifndef PKIFS_OWNCERT_H
#define PKIFS_OWNCERT_H

#include <stddef.h>
#include "pkifs/status.h"

#define PK_OWN_MAX_NAMES 8

struct pk_own_spec {
	const char *uri;		   /* applicationUri (required) */
	const char *cn, *org;		   /* subject (cn default: the URI's last part) */
	const char *dns[PK_OWN_MAX_NAMES]; /* DNS names */
	const char *ip[PK_OWN_MAX_NAMES];  /* IPv4 or IPv6 addresses */
	unsigned n_dns, n_ip;
	const char *key; /* rsa2048 (default), rsa3072, rsa4096, ec-p256, ec-p384 */
	int days;	 /* validity (default 365) */
	int pem;	 /* certificate as PEM (else DER) */
};

struct pk_own_out {
	char *cert; /* the certificate, or the request (PEM) */
	size_t cert_len;
	char *key; /* the private key, PEM PKCS#8 (NULL when reused) */
	size_t key_len;
};

/* Each call sets st (which it resets first) when it fails. */

/* A new key and a self-signed certificate for it. */
enum pk_err pk_own_make(const struct pk_own_spec *sp, struct pk_own_out *out,
			struct pk_status *st);

/* A new key and a PKCS#10 request with the same names and usages. */
enum pk_err pk_own_request(const struct pk_own_spec *sp, struct pk_own_out *out,
			   struct pk_status *st);

/* A new self-signed certificate with the subject, names and usages of old
 * (DER or PEM): for key (PEM or DER) when given, else for a new key of the
 * same type (out->key set). days 0: as long as old was valid. */
enum pk_err pk_own_renew(const void *old, size_t old_len, const void *key, size_t key_len,
			 int days, int pem, struct pk_own_out *out, struct pk_status *st);

void pk_own_out_free(struct pk_own_out *out);

#endif
