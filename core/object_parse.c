/*
 * object_parse.c: DER and PEM input for pk_object_parse.
 */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <string.h>

#include "object_int.h"

/* Certificates back to back: the first, x, already parsed up to q. */
static enum pk_err der_certs(X509 *x, const unsigned char *q, const unsigned char *end,
			     struct pk_object *o, struct pk_status *st)
{
	struct certs c = {.x = {x}, .n = 1};

	while (q < end) {
		if (c.n == MAX_CERTS) {
			certs_free(&c);
			return pk_fail(st, PK_E_MALFORMED,
				       "more than %d certificates in one file", MAX_CERTS);
		}
		if (*q != 0x30 || !(x = pk_d2i_cert(&q, end - q, 0))) {
			certs_free(&c);
			return pk_fail(st, PK_E_MALFORMED,
				       "trailing data after DER certificate %u (%zu bytes "
				       "that are not a certificate)",
				       c.n, (size_t)(end - q));
		}
		c.x[c.n++] = x;
	}
	return finish_certs(&c, o, st);
}

/* A PKCS#12 bundle: its key's digest when it opens without a password. */
static void pkcs12_meta(PKCS12 *p12, struct pk_object *o)
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	STACK_OF(X509) *ca = NULL;

	o->kind = PK_KIND_PKCS12;
	if (PKCS12_parse(p12, "", &key, &cert, &ca) ||
	    PKCS12_parse(p12, NULL, &key, &cert, &ca)) {
		if (key) {
			key_meta(key, o);
			o->kind = PK_KIND_PKCS12;
		}
	} else {
		o->encrypted = 1;
	}
	EVP_PKEY_free(key);
	X509_free(cert);
	sk_X509_pop_free(ca, X509_free);
}

/* Why DER bytes parsed as nothing: truncated, or not a PKI object. */
static enum pk_err der_failure(const unsigned char *p, size_t len, struct pk_status *st)
{
	const unsigned char *q = p;
	long body = 0;
	int tag, cls;
	int r = ASN1_get_object(&q, &body, &tag, &cls, (long)len);

	if (r & 0x80) {
		size_t need = (size_t)(q - p) + (size_t)body;
		return pk_fail(st, PK_E_MALFORMED,
			       "DER is truncated or its length is wrong (the outer "
			       "structure needs %zu bytes, the file has %zu)",
			       need, len);
	}
	if ((size_t)(q - p) + (size_t)body < len)
		return pk_fail(st, PK_E_MALFORMED,
			       "trailing data after the DER structure (%zu bytes)",
			       len - (size_t)(q - p) - (size_t)body);
	return pk_fail(st, PK_E_MALFORMED,
		       "DER data of %zu bytes is not a certificate, CRL, private key "
		       "or PKCS#12 bundle",
		       len);
}

/* A PKCS#10 request that fills the len bytes at d exactly: 1, o filled. */
static int exact_csr(const unsigned char *d, long len, struct pk_object *o)
{
	const unsigned char *q = d;
	X509_REQ *req = d2i_X509_REQ(NULL, &q, len);
	int exact = req && q == d + len;

	if (exact)
		csr_meta(req, o);
	X509_REQ_free(req);
	return exact;
}

/* DER has definite lengths: BER's indefinite form (0x80) is refused. */
static int indefinite(const unsigned char *p, size_t len)
{
	const unsigned char *q = p;
	long body = 0;
	int tag, cls;

	return (ASN1_get_object(&q, &body, &tag, &cls, (long)len) & 0x81) == 0x01;
}

enum pk_err parse_der(const unsigned char *p, size_t len, struct pk_object *o,
		      struct pk_status *st)
{
	const unsigned char *q = p;
	X509 *x;

	if (indefinite(p, len))
		return pk_fail(st, PK_E_MALFORMED, "indefinite length: BER, not DER");
	x = pk_d2i_cert(&q, (long)len, 0);
	X509_CRL *crl;
	EVP_PKEY *key;
	X509_SIG *sig;
	PKCS12 *p12;

	if (x)
		return der_certs(x, q, p + len, o, st);
	q = p;
	if ((crl = d2i_X509_CRL(NULL, &q, (long)len))) {
		int exact = q == p + len;
		if (exact)
			crl_meta(crl, o);
		X509_CRL_free(crl);
		return exact ? PK_OK : der_failure(p, len, st);
	}
	if (exact_csr(p, (long)len, o))
		return PK_OK;
	q = p;
	if ((key = d2i_AutoPrivateKey(NULL, &q, (long)len)) && q == p + len) {
		key_meta(key, o);
		EVP_PKEY_free(key);
		return PK_OK;
	}
	EVP_PKEY_free(key);
	q = p;
	if ((sig = d2i_X509_SIG(NULL, &q, (long)len)) && q == p + len) {
		X509_SIG_free(sig);
		o->kind = PK_KIND_KEY;
		o->encrypted = 1;
		return PK_OK;
	}
	X509_SIG_free(sig);
	q = p;
	if ((p12 = d2i_PKCS12(NULL, &q, (long)len)) && q == p + len) {
		pkcs12_meta(p12, o);
		PKCS12_free(p12);
		return PK_OK;
	}
	PKCS12_free(p12);
	return der_failure(p, len, st);
}

/* What a PEM block label holds. */
static enum pk_kind label_kind(const char *name)
{
	if (!strcmp(name, "CERTIFICATE") || !strcmp(name, "TRUSTED CERTIFICATE") ||
	    !strcmp(name, "X509 CERTIFICATE"))
		return PK_KIND_CERT;
	if (!strcmp(name, "X509 CRL"))
		return PK_KIND_CRL;
	if (!strcmp(name, "CERTIFICATE REQUEST") || !strcmp(name, "NEW CERTIFICATE REQUEST"))
		return PK_KIND_CSR;
	if (!strcmp(name, "PRIVATE KEY") || !strcmp(name, "ENCRYPTED PRIVATE KEY") ||
	    !strcmp(name, "RSA PRIVATE KEY") || !strcmp(name, "EC PRIVATE KEY"))
		return PK_KIND_KEY;
	return PK_KIND_NONE;
}

/* State while reading the blocks of one PEM file. */
struct pem_state {
	struct certs certs;
	enum pk_kind kind;
	unsigned blocks;
};

/* One key block: plain keys give a digest; encrypted ones are noted. */
static enum pk_err pem_key(const char *name, const char *header, const unsigned char *d,
			   long dlen, struct pk_object *o, struct pk_status *st)
{
	const unsigned char *q = d;
	EVP_PKEY *key;

	EVP_CIPHER_INFO cipher;

	if (header[0] && (!PEM_get_EVP_CIPHER_INFO((char *)header, &cipher) || !cipher.cipher))
		return pk_fail(st, PK_E_MALFORMED,
			       "PEM block %s has a header that is not a "
			       "readable encryption header",
			       name);
	if (!strcmp(name, "ENCRYPTED PRIVATE KEY") || header[0]) {
		o->kind = PK_KIND_KEY;
		o->encrypted = 1;
		return PK_OK;
	}
	/* the label says which encoding: RSA and EC keys must be what they say */
	if (!strcmp(name, "RSA PRIVATE KEY"))
		key = d2i_PrivateKey(EVP_PKEY_RSA, NULL, &q, dlen);
	else if (!strcmp(name, "EC PRIVATE KEY"))
		key = d2i_PrivateKey(EVP_PKEY_EC, NULL, &q, dlen);
	else
		key = d2i_AutoPrivateKey(NULL, &q, dlen);
	if (!key || q != d + dlen) {
		EVP_PKEY_free(key);
		return pk_fail(st, PK_E_MALFORMED, "PEM block %s does not hold a readable key",
			       name);
	}
	key_meta(key, o);
	EVP_PKEY_free(key);
	return PK_OK;
}

/* One decoded PEM block, by its label. */
static enum pk_err pem_block(struct pem_state *s, const char *name, const char *header,
			     const unsigned char *d, long dlen, struct pk_object *o,
			     struct pk_status *st)
{
	enum pk_kind k = label_kind(name);
	const unsigned char *q = d;
	X509_CRL *crl;
	X509 *x;

	if (k == PK_KIND_NONE)
		return pk_fail(st, PK_E_MALFORMED, "unsupported PEM block \"%s\"", name);
	if (s->kind != PK_KIND_NONE && (s->kind != k || k != PK_KIND_CERT))
		return pk_fail(
			st, PK_E_WRONG_KIND,
			"file mixes PEM blocks (%s after another "
			"object); one certificate with its chain, one CRL or one key per file",
			name);
	s->kind = k;
	if (k == PK_KIND_KEY)
		return pem_key(name, header, d, dlen, o, st);
	if (k == PK_KIND_CSR)
		return exact_csr(d, dlen, o)
			       ? PK_OK
			       : pk_fail(st, PK_E_MALFORMED,
					 "PEM block %s does not hold a request", name);
	if (k == PK_KIND_CRL) {
		crl = d2i_X509_CRL(NULL, &q, dlen);
		if (crl && q == d + dlen)
			crl_meta(crl, o);
		X509_CRL_free(crl);
		return o->kind == PK_KIND_CRL
			       ? PK_OK
			       : pk_fail(st, PK_E_MALFORMED,
					 "PEM block X509 CRL does not hold a CRL");
	}
	x = pk_d2i_cert(&q, dlen, !strcmp(name, "TRUSTED CERTIFICATE"));
	if (!x || (q != d + dlen && strcmp(name, "TRUSTED CERTIFICATE"))) {
		X509_free(x);
		return pk_fail(st, PK_E_MALFORMED,
			       "PEM block %u (%s) does not hold a "
			       "certificate: its DER is truncated or broken",
			       s->blocks, name);
	}
	if (s->certs.n == MAX_CERTS) {
		X509_free(x);
		return pk_fail(st, PK_E_MALFORMED, "more than %d certificates in one file",
			       MAX_CERTS);
	}
	s->certs.x[s->certs.n++] = x;
	return PK_OK;
}

/* How often needle occurs in p. */
static unsigned occurrences(const unsigned char *p, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	unsigned count = 0;

	for (const unsigned char *at = p; (at = memmem(at, len - (size_t)(at - p), needle, n));
	     at += n)
		count++;
	return count;
}

/* Every BEGIN has its END, and nothing but white space follows the last. */
static enum pk_err check_tail(const unsigned char *p, size_t len, unsigned blocks,
			      struct pk_status *st)
{
	const unsigned char *end = NULL, *at = p;

	if (occurrences(p, len, "-----BEGIN ") != blocks ||
	    occurrences(p, len, "-----END ") != blocks)
		return pk_fail(st, PK_E_MALFORMED,
			       "PEM armor is broken: a BEGIN or END line "
			       "without its partner");
	while ((at = memmem(at, len - (size_t)(at - p), "-----END ", 9)))
		end = at++;
	if (!end)
		return pk_fail(st, PK_E_MALFORMED, "PEM armor has no END line");
	while (end < p + len && *end != '\n')
		end++;
	for (; end < p + len; end++)
		if (!strchr(" \t\r\n", *end))
			return pk_fail(st, PK_E_MALFORMED,
				       "trailing data after the last PEM END line");
	return PK_OK;
}

/* Read the next block: 1 with one, 0 at the end, -1 on broken armor. */
static int next_block(BIO *b, char **name, char **header, unsigned char **d, long *dlen)
{
	unsigned long err;

	if (PEM_read_bio(b, name, header, d, dlen) == 1)
		return 1;
	err = ERR_peek_last_error();
	ERR_clear_error();
	return ERR_GET_REASON(err) == PEM_R_NO_START_LINE ? 0 : -1;
}

enum pk_err parse_pem(const unsigned char *p, size_t len, struct pk_object *o,
		      struct pk_status *st)
{
	BIO *b = BIO_new_mem_buf(p, (int)len);
	struct pem_state s = {.kind = PK_KIND_NONE};
	char *name = NULL, *header = NULL;
	unsigned char *d = NULL;
	long dlen = 0;
	enum pk_err e = b ? PK_OK : pk_fail(st, PK_E_NOMEM, "out of memory");
	int r;

	while (e == PK_OK && (r = next_block(b, &name, &header, &d, &dlen)) != 0) {
		s.blocks++;
		e = r < 0 ? pk_fail(st, PK_E_MALFORMED,
				    "PEM block %u is broken: bad base64 "
				    "or no END line",
				    s.blocks)
			  : pem_block(&s, name, header, d, dlen, o, st);
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(d);
		name = header = NULL;
		d = NULL;
	}
	BIO_free(b);
	if (e == PK_OK && s.blocks == 0)
		e = pk_fail(st, PK_E_MALFORMED, "PEM armor without a readable block");
	if (e == PK_OK)
		e = check_tail(p, len, s.blocks, st);
	if (e == PK_OK && s.kind == PK_KIND_CERT)
		return finish_certs(&s.certs, o, st);
	certs_free(&s.certs);
	return e;
}
