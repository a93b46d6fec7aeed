/*
 * object.c: parsing a file's bytes into a struct pk_object (see object.h).
 *
 * PEM input is read block by block (certificates, CRLs, keys); DER input is
 * tried as certificates (possibly several, concatenated), a CRL, a private
 * key, an encrypted key, or a PKCS#12 bundle, and must be consumed exactly.
 * Bytes that are neither are PK_KIND_NONE: auxiliary files. No state is
 * kept between calls; the OpenSSL error queue is cleared before returning.
 *
 * Certificates are decoded in a library context holding only OpenSSL's
 * base provider: d2i_X509 then skips the decode of the public key, which
 * OpenSSL 3.0 does through a decoder chain built anew for every
 * certificate (90 % of an import's instructions). Nothing here needs that
 * key but a chain's signatures, checked on certificates decoded again in
 * the default context.
 */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "object_int.h"

static OSSL_LIB_CTX *base_ctx;
static pthread_once_t base_once = PTHREAD_ONCE_INIT;

static void make_base_ctx(void)
{
	base_ctx = OSSL_LIB_CTX_new();
	if (base_ctx && !OSSL_PROVIDER_load(base_ctx, "base")) {
		OSSL_LIB_CTX_free(base_ctx);
		base_ctx = NULL; /* the default context: slower, as correct */
	}
}

X509 *pk_d2i_cert(const unsigned char **q, long len, int aux)
{
	X509 *x;

	pthread_once(&base_once, make_base_ctx);
	x = X509_new_ex(base_ctx, NULL);
	if (!x)
		return NULL;
	/* on failure d2i frees x and sets it to NULL */
	return aux ? d2i_X509_AUX(&x, q, len) : d2i_X509(&x, q, len);
}

/* x decoded again in the default context, with its public key. */
static X509 *with_key(X509 *x)
{
	unsigned char *der = NULL;
	int len = i2d_X509(x, &der);
	const unsigned char *q = der;
	X509 *full = len > 0 ? d2i_X509(NULL, &q, len) : NULL;

	OPENSSL_free(der);
	return full;
}

/* x's issuer is up: names match and up's key verifies x's signature. */
static int signed_by(X509 *x, X509 *up)
{
	X509 *fx, *fup;
	int ok;

	if (X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(up)) != 0)
		return 0;
	fx = with_key(x);
	fup = with_key(up);
	ok = fx && fup && X509_verify(fx, X509_get0_pubkey(fup)) == 1;
	X509_free(fx);
	X509_free(fup);
	return ok;
}

/* SHA-1 of x's DER (X509_digest would fetch SHA-1 from x's context). */
static int cert_sha1(X509 *x, unsigned char *md, unsigned int *n)
{
	unsigned char *der = NULL;
	int len = i2d_X509(x, &der);
	int ok = len > 0 && EVP_Digest(der, (size_t)len, md, n, EVP_sha1(), NULL);

	OPENSSL_free(der);
	return ok;
}

/* Self-signed as OpenSSL's chain building sees it (X509_self_signed without
 * the signature check): the subject is the issuer and an authority key
 * identifier, if any, names the certificate's own key. */
static int self_signed(X509 *x)
{
	AUTHORITY_KEYID *akid;
	int ok;

	if (!(X509_get_extension_flags(x) & EXFLAG_SI))
		return 0;
	akid = X509_get_ext_d2i(x, NID_authority_key_identifier, NULL, NULL);
	ok = X509_check_akid(x, akid) == X509_V_OK;
	AUTHORITY_KEYID_free(akid);
	return ok;
}

void certs_free(struct certs *c)
{
	for (unsigned i = 0; i < c->n; i++)
		X509_free(c->x[i]);
	c->n = 0;
}

/* Lowercase hex of n bytes into out (2n+1 bytes). */
static void hex(const unsigned char *p, unsigned n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (unsigned i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = 0;
}

/* RFC 2253 text of a name, truncated to size. */
static void name_text(const X509_NAME *nm, char *out, size_t size)
{
	BIO *b = BIO_new(BIO_s_mem());
	int n = 0;

	out[0] = 0;
	if (!b)
		return;
	if (X509_NAME_print_ex(b, nm, 0, XN_FLAG_RFC2253) >= 0)
		n = BIO_read(b, out, (int)size - 1);
	out[n > 0 ? n : 0] = 0;
	BIO_free(b);
}

static int64_t asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return 0;
	return (int64_t)timegm(&tm);
}

/* SHA-256 of a SubjectPublicKeyInfo's DER (freed here), the pairing key of
 * a private key and its certificate. */
static int spki_digest(unsigned char *der, int len, unsigned char out[32])
{
	unsigned int n = 0;
	int ok = len > 0 && EVP_Digest(der, (size_t)len, out, &n, EVP_sha256(), NULL);

	OPENSSL_free(der);
	return ok;
}

/* A private key's public half, encoded by OpenSSL's key encoder. */
static int pubkey_digest(EVP_PKEY *key, unsigned char out[32])
{
	unsigned char *der = NULL;
	int len = key ? i2d_PUBKEY(key, &der) : -1;

	return spki_digest(der, len, out);
}

/* A certificate's public key as the certificate carries it: re-encoding the
 * parsed structure costs no encoder lookup (i2d_PUBKEY on the decoded key
 * took a third of an import's instructions with OpenSSL 3.0). */
static int cert_pubkey_digest(X509 *x, unsigned char out[32])
{
	unsigned char *der = NULL;
	int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);

	return spki_digest(der, len, out);
}

/* Metadata of the leaf certificate. */
static void cert_meta(X509 *x, struct pk_object *o)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	/* the first look at the extensions fails for want of a SHA-1 in the
	 * base context (its fingerprint), but sets the flags; the next succeeds */
	uint32_t flags = X509_get_extension_flags(x);
	uint32_t ku = X509_get_key_usage(x);
	int ok = 0;
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *sh = bn ? BN_bn2hex(bn) : NULL;

	o->kind = PK_KIND_CERT;
	if (cert_sha1(x, md, &n))
		hex(md, n, o->thumb);
	o->has_pubkey = cert_pubkey_digest(x, o->pubkey_sha256);
	o->subject_hash =
		(uint32_t)X509_NAME_hash_ex(X509_get_subject_name(x), NULL, NULL, &ok);
	o->issuer_hash = (uint32_t)X509_NAME_hash_ex(X509_get_issuer_name(x), NULL, NULL, &ok);
	o->is_ca = (flags & EXFLAG_CA) != 0;
	o->key_cert_sign = ku == UINT32_MAX || (ku & KU_KEY_CERT_SIGN) != 0;
	o->self_signed = self_signed(x);
	o->not_before = asn1_time(X509_get0_notBefore(x));
	o->not_after = asn1_time(X509_get0_notAfter(x));
	name_text(X509_get_subject_name(x), o->subject, sizeof(o->subject));
	name_text(X509_get_issuer_name(x), o->issuer, sizeof(o->issuer));
	snprintf(o->serial, sizeof(o->serial), "%s", sh ? sh : "");
	OPENSSL_free(sh);
	BN_free(bn);
}

/* Leaf first, each certificate signed by the next. */
static enum pk_err check_chain(struct certs *c, struct pk_status *st)
{
	for (unsigned i = 0; i + 1 < c->n; i++) {
		X509 *x = c->x[i], *up = c->x[i + 1];
		char a[160], b[160];
		if (signed_by(x, up))
			continue;
		name_text(X509_get_issuer_name(x), a, sizeof(a));
		name_text(X509_get_subject_name(up), b, sizeof(b));
		return pk_fail(st, PK_E_CHAIN,
			       "certificates in one file must be a chain, leaf first: "
			       "certificate %u (%s) did not sign certificate %u (issuer %s)",
			       i + 2, b, i + 1, a);
	}
	return PK_OK;
}

/* Finish a certificate file: metadata from the leaf, chain check. */
enum pk_err finish_certs(struct certs *c, struct pk_object *o, struct pk_status *st)
{
	enum pk_err e = check_chain(c, st);

	if (e == PK_OK) {
		cert_meta(c->x[0], o);
		o->chain_len = c->n;
	}
	certs_free(c);
	return e;
}

void crl_meta(X509_CRL *crl, struct pk_object *o)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	int ok = 0;

	o->kind = PK_KIND_CRL;
	if (X509_CRL_digest(crl, EVP_sha1(), md, &n))
		hex(md, n, o->thumb);
	o->issuer_hash = (uint32_t)X509_NAME_hash_ex(X509_CRL_get_issuer(crl), NULL, NULL, &ok);
	name_text(X509_CRL_get_issuer(crl), o->issuer, sizeof(o->issuer));
	o->not_before = asn1_time(X509_CRL_get0_lastUpdate(crl));
	o->not_after = asn1_time(X509_CRL_get0_nextUpdate(crl));
}

/* A signing request: its subject, and its key's digest for pairing. */
void csr_meta(X509_REQ *req, struct pk_object *o)
{
	unsigned char *der = NULL;
	int len = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(req), &der);

	o->kind = PK_KIND_CSR;
	o->has_pubkey = spki_digest(der, len, o->pubkey_sha256);
	name_text(X509_REQ_get_subject_name(req), o->subject, sizeof(o->subject));
}

void key_meta(EVP_PKEY *key, struct pk_object *o)
{
	o->kind = PK_KIND_KEY;
	o->has_pubkey = pubkey_digest(key, o->pubkey_sha256);
}

enum pk_err pk_object_parse(const void *data, size_t len, struct pk_object *out,
			    struct pk_status *st)
{
	const unsigned char *p = data;
	enum pk_err e;

	memset(out, 0, sizeof(*out));
	if (len == 0) {
		out->kind = PK_KIND_EMPTY;
		return PK_OK;
	}
	if (memmem(p, len, "-----BEGIN ", 11))
		e = parse_pem(p, len, out, st);
	else if (p[0] == 0x30) {
		e = parse_der(p, len, out, st);
		out->der = e == PK_OK;
	} else
		e = PK_OK; /* PK_KIND_NONE: not a PKI object */
	ERR_clear_error();
	if (e != PK_OK)
		memset(out->thumb, 0, sizeof(out->thumb));
	return e;
}

/* The first certificate of DER or PEM bytes (NULL if none). */
static X509 *first_cert(const void *data, size_t len)
{
	const unsigned char *q = data;
	BIO *b;
	X509 *x;

	if (memmem(data, len, "-----BEGIN ", 11)) {
		b = BIO_new_mem_buf(data, (int)len);
		x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
		BIO_free(b);
		return x;
	}
	return d2i_X509(NULL, &q, (long)len);
}

/* The CRL of DER or PEM bytes (NULL if none). */
static X509_CRL *first_crl(const void *data, size_t len)
{
	const unsigned char *q = data;
	BIO *b;
	X509_CRL *crl;

	if (memmem(data, len, "-----BEGIN ", 11)) {
		b = BIO_new_mem_buf(data, (int)len);
		crl = b ? PEM_read_bio_X509_CRL(b, NULL, NULL, NULL) : NULL;
		BIO_free(b);
		return crl;
	}
	return d2i_X509_CRL(NULL, &q, (long)len);
}

enum pk_err pk_crl_verify(const void *crl_data, size_t crl_len, const void *ca_data,
			  size_t ca_len, struct pk_status *st)
{
	X509_CRL *crl = first_crl(crl_data, crl_len);
	X509 *ca = first_cert(ca_data, ca_len);
	char subject[200];
	enum pk_err e = PK_OK;

	if (!crl || !ca)
		e = pk_fail(st, PK_E_MALFORMED, "%s cannot be read",
			    crl ? "the CA" : "the CRL");
	else if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca)) != 0) {
		name_text(X509_get_subject_name(ca), subject, sizeof(subject));
		e = pk_fail(st, PK_E_NO_ISSUER, "the CRL was not issued by %s", subject);
	} else if (X509_CRL_verify(crl, X509_get0_pubkey(ca)) != 1) {
		name_text(X509_get_subject_name(ca), subject, sizeof(subject));
		e = pk_fail(st, PK_E_BAD_SIG, "signature does not verify with the key of %s",
			    subject);
	}
	X509_CRL_free(crl);
	X509_free(ca);
	ERR_clear_error();
	return e;
}

enum pk_err pk_object_pem(const void *data, size_t len, char **pem, size_t *pem_len)
{
	BIO *b = BIO_new(BIO_s_mem());
	X509 *x = first_cert(data, len);
	X509_CRL *crl = x ? NULL : first_crl(data, len);
	int ok = b &&
		 ((x && PEM_write_bio_X509(b, x)) || (crl && PEM_write_bio_X509_CRL(b, crl)));
	char *mem = NULL;
	long n = ok ? BIO_get_mem_data(b, &mem) : 0;
	enum pk_err e = ok ? PK_OK : PK_E_MALFORMED;

	*pem = NULL;
	if (ok && (*pem = malloc((size_t)n + 1))) {
		memcpy(*pem, mem, (size_t)n);
		(*pem)[n] = 0;
		*pem_len = (size_t)n;
	} else if (ok) {
		e = PK_E_NOMEM;
	}
	X509_free(x);
	X509_CRL_free(crl);
	BIO_free(b);
	ERR_clear_error();
	return e;
}
