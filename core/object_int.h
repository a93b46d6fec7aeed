/*
 * object_int.h: what object.c and object_parse.c share.
 */
#ifndef PKIFS_OBJECT_INT_H
#define PKIFS_OBJECT_INT_H

#include <openssl/x509.h>

#include "pkifs/object.h"

#define MAX_CERTS 16

/* The certificates of one file, in order. */
struct certs {
	X509 *x[MAX_CERTS];
	unsigned n;
};

void certs_free(struct certs *c);
/* d2i_X509 (aux: d2i_X509_AUX) without decoding the public key. */
X509 *pk_d2i_cert(const unsigned char **q, long len, int aux);
/* Check the chain, fill o from the leaf, free the certificates. */
enum pk_err finish_certs(struct certs *c, struct pk_object *o, struct pk_status *st);
void crl_meta(X509_CRL *crl, struct pk_object *o);
void key_meta(EVP_PKEY *key, struct pk_object *o);
void csr_meta(X509_REQ *req, struct pk_object *o);

/* The two encodings: bytes with PEM armor, and DER. */
enum pk_err parse_pem(const unsigned char *p, size_t len, struct pk_object *o,
		      struct pk_status *st);
enum pk_err parse_der(const unsigned char *p, size_t len, struct pk_object *o,
		      struct pk_status *st);

#endif
