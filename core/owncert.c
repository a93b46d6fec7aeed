/*
 * owncert.c: an application's own certificate and key (owncert.h).
 */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkifs/owncert.h"

/* A new private key of type alg. */
static EVP_PKEY *new_key(const char *alg, struct pk_status *st)
{
	EVP_PKEY *k = NULL;

	st->err = PK_OK;
	st->reason[0] = 0;
	if (!alg || !strcmp(alg, "rsa2048"))
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	else if (!strcmp(alg, "rsa3072"))
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	else if (!strcmp(alg, "rsa4096"))
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
	else if (!strcmp(alg, "ec-p256"))
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else if (!strcmp(alg, "ec-p384"))
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	else
		pk_fail(st, PK_E_WRONG_KIND,
			"unknown key type %s (rsa2048, rsa3072, rsa4096, ec-p256, ec-p384)",
			alg);
	if (!k && st->err == PK_OK)
		pk_fail(st, PK_E_NOMEM, "key generation failed");
	return k;
}

/* The subject: CN (default: the URI's last part) and O. */
static X509_NAME *subject(const struct pk_own_spec *sp)
{
	X509_NAME *nm = X509_NAME_new();
	const char *cn = sp->cn, *cut;

	if (!cn) {
		cut = strrchr(sp->uri, ':');
		cn = cut && cut[1] ? cut + 1 : sp->uri;
	}
	if (nm)
		X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8, (const unsigned char *)cn,
					   -1, -1, 0);
	if (nm && sp->org)
		X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_UTF8,
					   (const unsigned char *)sp->org, -1, -1, 0);
	return nm;
}

/* "URI:u,DNS:a,IP:b" for the subjectAltName. */
static void alt_names(const struct pk_own_spec *sp, char *buf, size_t size)
{
	size_t len = (size_t)snprintf(buf, size, "URI:%s", sp->uri);

	for (unsigned i = 0; i < sp->n_dns && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, ",DNS:%s", sp->dns[i]);
	for (unsigned i = 0; i < sp->n_ip && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, ",IP:%s", sp->ip[i]);
}

/* The profile's extensions onto x (a certificate) or req (a request). */
static int profile(const struct pk_own_spec *sp, EVP_PKEY *key, X509 *x, X509_REQ *req,
		   STACK_OF(X509_EXTENSION) * exts)
{
	int ec = EVP_PKEY_get_base_id(key) == EVP_PKEY_EC;
	char san[2048], ku[160];
	const struct {
		int nid;
		const char *value;
	} want[] = {{NID_basic_constraints, "critical,CA:FALSE"},
		    {NID_key_usage, ku},
		    {NID_ext_key_usage, "serverAuth,clientAuth"},
		    {NID_subject_alt_name, san},
		    {NID_subject_key_identifier, "hash"},
		    {NID_authority_key_identifier, x ? "keyid:always" : NULL}};
	X509V3_CTX ctx;

	alt_names(sp, san, sizeof(san));
	snprintf(ku, sizeof(ku), "critical,digitalSignature,nonRepudiation,%s%s",
		 ec ? "keyAgreement" : "keyEncipherment,dataEncipherment",
		 x ? ",keyCertSign" : "");
	X509V3_set_ctx(&ctx, x, x, req, NULL, 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		X509_EXTENSION *e = want[i].value ? X509V3_EXT_conf_nid(NULL, &ctx, want[i].nid,
									want[i].value)
						  : NULL;
		if (want[i].value && !e)
			return -1;
		if (e && x)
			X509_add_ext(x, e, -1);
		if (e && exts)
			sk_X509_EXTENSION_push(exts, e);
		else
			X509_EXTENSION_free(e);
	}
	return 0;
}

/* A random positive 128-bit serial number. */
static void set_serial(X509 *x)
{
	unsigned char r[16];
	BIGNUM *bn;

	RAND_bytes(r, sizeof(r));
	r[0] &= 0x7f;
	bn = BN_bin2bn(r, sizeof(r), NULL);
	if (bn)
		BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
}

/* Serialize a certificate (DER or PEM) and, when given, a key (PEM). */
static enum pk_err encode(X509 *x, X509_REQ *req, EVP_PKEY *key, int pem,
			  struct pk_own_out *out, struct pk_status *st)
{
	BIO *b = BIO_new(BIO_s_mem());
	BUF_MEM *m;
	int ok = b && (req   ? PEM_write_bio_X509_REQ(b, req)
		       : pem ? PEM_write_bio_X509(b, x)
			     : i2d_X509_bio(b, x));

	if (ok && BIO_get_mem_ptr(b, &m) && (out->cert = malloc(m->length)))
		memcpy(out->cert, m->data, out->cert_len = m->length);
	BIO_free(b);
	b = key ? BIO_new(BIO_s_mem()) : NULL;
	if (b && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) &&
	    BIO_get_mem_ptr(b, &m) && (out->key = malloc(m->length)))
		memcpy(out->key, m->data, out->key_len = m->length);
	BIO_free(b);
	if (!out->cert || (key && !out->key)) {
		pk_own_out_free(out);
		return pk_fail(st, PK_E_NOMEM, "cannot encode the certificate or key");
	}
	return PK_OK;
}

/* Sign x as its own issuer with key, valid from an hour ago for days. */
static int self_sign(X509 *x, EVP_PKEY *key, long days)
{
	return X509_set_version(x, 2) && X509_set_issuer_name(x, X509_get_subject_name(x)) &&
	       X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
	       X509_gmtime_adj(X509_getm_notAfter(x), days * 86400) &&
	       X509_set_pubkey(x, key) && (set_serial(x), 1);
}

enum pk_err pk_own_make(const struct pk_own_spec *sp, struct pk_own_out *out,
			struct pk_status *st)
{
	EVP_PKEY *key = new_key(sp->key, st);
	X509 *x = key ? X509_new() : NULL;
	X509_NAME *nm = x ? subject(sp) : NULL;
	enum pk_err e = PK_E_NOMEM;

	memset(out, 0, sizeof(*out));
	if (nm && X509_set_subject_name(x, nm) &&
	    self_sign(x, key, sp->days > 0 ? sp->days : 365) &&
	    profile(sp, key, x, NULL, NULL) == 0 && X509_sign(x, key, EVP_sha256()))
		e = encode(x, NULL, key, sp->pem, out, st);
	else if (st->err == PK_OK)
		pk_fail(st, PK_E_WRONG_KIND,
			"cannot make the certificate (check --uri, --dns, --ip)");
	X509_NAME_free(nm);
	X509_free(x);
	EVP_PKEY_free(key);
	ERR_clear_error();
	return e == PK_OK ? PK_OK : st->err;
}

enum pk_err pk_own_request(const struct pk_own_spec *sp, struct pk_own_out *out,
			   struct pk_status *st)
{
	EVP_PKEY *key = new_key(sp->key, st);
	X509_REQ *req = key ? X509_REQ_new() : NULL;
	X509_NAME *nm = req ? subject(sp) : NULL;
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	enum pk_err e = PK_E_NOMEM;

	memset(out, 0, sizeof(*out));
	if (nm && exts && X509_REQ_set_subject_name(req, nm) && X509_REQ_set_pubkey(req, key) &&
	    profile(sp, key, NULL, req, exts) == 0 && X509_REQ_add_extensions(req, exts) &&
	    X509_REQ_sign(req, key, EVP_sha256()))
		e = encode(NULL, req, key, 1, out, st);
	else if (st->err == PK_OK)
		pk_fail(st, PK_E_WRONG_KIND,
			"cannot make the request (check --uri, --dns, --ip)");
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(nm);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
	ERR_clear_error();
	return e == PK_OK ? PK_OK : st->err;
}

/* The first certificate or private key of DER or PEM bytes. */
static void *read_obj(const void *data, size_t len, int want_key)
{
	const unsigned char *q = data;
	BIO *b;
	void *o;

	if (!memmem(data, len, "-----BEGIN ", 11))
		return want_key ? (void *)d2i_AutoPrivateKey(NULL, &q, (long)len)
				: (void *)d2i_X509(NULL, &q, (long)len);
	b = BIO_new_mem_buf(data, (int)len);
	o = !b	       ? NULL
	    : want_key ? (void *)PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)
		       : (void *)PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	return o;
}

/* A new key of the same type and size as old's public key. */
static EVP_PKEY *key_like(X509 *old, struct pk_status *st)
{
	EVP_PKEY *pub = X509_get0_pubkey(old);
	char group[64] = "";

	if (pub && EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)EVP_PKEY_get_bits(pub));
	if (pub && EVP_PKEY_get_group_name(pub, group, sizeof(group), NULL))
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", group);
	pk_fail(st, PK_E_WRONG_KIND, "cannot make a key like the certificate's");
	return NULL;
}

/* x gets old's profile extensions, and key identifiers of its own. */
static int copy_profile(X509 *x, X509 *old)
{
	static const int nids[] = {NID_basic_constraints, NID_key_usage, NID_ext_key_usage,
				   NID_subject_alt_name};
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	int ok = 1;

	for (size_t i = 0; ok && i < sizeof(nids) / sizeof(nids[0]); i++) {
		int at = X509_get_ext_by_NID(old, nids[i], -1);
		if (at >= 0)
			ok = X509_add_ext(x, X509_get_ext(old, at), -1);
	}
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	for (int i = 0; ok && i < 2; i++) {
		e = X509V3_EXT_conf_nid(NULL, &ctx,
					i ? NID_authority_key_identifier
					  : NID_subject_key_identifier,
					i ? "keyid:always" : "hash");
		ok = e && X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	return ok;
}

enum pk_err pk_own_renew(const void *old_data, size_t old_len, const void *key_data,
			 size_t key_len, int days, int pem, struct pk_own_out *out,
			 struct pk_status *st)
{
	X509 *old = read_obj(old_data, old_len, 0), *x = old ? X509_new() : NULL;
	EVP_PKEY *key = !old	   ? NULL
			: key_data ? read_obj(key_data, key_len, 1)
				   : key_like(old, st);
	int pday = 0, psec = 0;
	enum pk_err e = PK_E_WRONG_KIND;

	memset(out, 0, sizeof(*out));
	if (old)
		ASN1_TIME_diff(&pday, &psec, X509_get0_notBefore(old), X509_get0_notAfter(old));
	if (!old || !key)
		pk_fail(st, e, "%s", !old ? "not a certificate" : "no usable private key");
	else if (x && X509_set_subject_name(x, X509_get_subject_name(old)) &&
		 self_sign(x, key,
			   days > 0   ? days
			   : pday > 0 ? pday
				      : 365) &&
		 copy_profile(x, old) && X509_sign(x, key, EVP_sha256()))
		e = encode(x, NULL, key_data ? NULL : key, pem, out, st);
	else
		pk_fail(st, e, "cannot renew the certificate");
	X509_free(old);
	X509_free(x);
	EVP_PKEY_free(key);
	ERR_clear_error();
	return e;
}

void pk_own_out_free(struct pk_own_out *out)
{
	free(out->cert);
	free(out->key);
	memset(out, 0, sizeof(*out));
}
