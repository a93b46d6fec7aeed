/*
 * verify.c: OPC UA certificate validation against the live store (verify.h).
 *
 * OpenSSL builds the chain and checks signatures, validity and CRLs, with a
 * callback that records every error instead of stopping at the first; the
 * errors are then sorted into the steps of Part 4. Usage, the security
 * policy and trust-list membership are judged here on the chain OpenSSL
 * built: every certificate of trusted/ and issuers/ may build a chain, only
 * those of trusted/ make it trusted.
 */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "pkifs/verify.h"
#include "store_int.h"

#define MAX_TRUSTED 4096

struct vctx {
	X509_STORE *store;
	STACK_OF(X509) * extra; /* the certificates after the leaf in its file */
	X509 *leaf;
	unsigned char (*trusted)[20]; /* SHA-1 of trusted/'s certificates */
	size_t n_trusted;
	const struct pk_verify_opts *o;
	struct pk_verify_result *r;
};

const char *pk_verify_step_name(enum pk_verify_step step)
{
	static const char *const names[PK_VS_COUNT] = {"structure", "chain",	  "signature",
						       "validity",  "revocation", "CA rules",
						       "key usage", "policy",	  "trust list"};
	return names[step];
}

/* Record a verdict for step, keeping the first reason given. */
static void set(struct pk_verify_result *r, enum pk_verify_step step, enum pk_verdict v,
		const char *fmt, const char *arg)
{
	if (r->step[step].verdict == PK_V_FAIL ||
	    (r->step[step].verdict == PK_V_UNKNOWN && v != PK_V_FAIL))
		return;
	r->step[step].verdict = v;
	snprintf(r->step[step].why, sizeof(r->step[step].why), fmt, arg ? arg : "");
}

/* A name's common name (or the whole name), for reasons. */
static const char *name_cn(X509_NAME *nm, char *buf, size_t size)
{
	buf[0] = 0;
	if (nm && X509_NAME_get_text_by_NID(nm, NID_commonName, buf, (int)size) < 0)
		X509_NAME_oneline(nm, buf, (int)size);
	return buf;
}

/* A certificate's subject CN, and its issuer's. */
static const char *cn_of(X509 *x, char *buf, size_t size)
{
	return name_cn(x ? X509_get_subject_name(x) : NULL, buf, size);
}

static const char *issuer_cn(X509 *x, char *buf, size_t size)
{
	return name_cn(x ? X509_get_issuer_name(x) : NULL, buf, size);
}

/* Every certificate of DER or PEM bytes, in order, onto out. */
static void read_certs(const void *data, size_t len, STACK_OF(X509) * out)
{
	const unsigned char *q = data, *end = q + len;
	X509 *x;

	if (memmem(data, len, "-----BEGIN ", 11)) {
		BIO *b = BIO_new_mem_buf(data, (int)len);
		while (b && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)))
			sk_X509_push(out, x);
		BIO_free(b);
	} else {
		while (q < end && (x = d2i_X509(NULL, &q, (long)(end - q))))
			sk_X509_push(out, x);
	}
	ERR_clear_error();
}

/* A CRL of DER or PEM bytes into the store. */
static void add_crl(X509_STORE *store, const void *data, size_t len)
{
	const unsigned char *q = data;
	X509_CRL *crl;

	if (memmem(data, len, "-----BEGIN ", 11)) {
		BIO *b = BIO_new_mem_buf(data, (int)len);
		crl = b ? PEM_read_bio_X509_CRL(b, NULL, NULL, NULL) : NULL;
		BIO_free(b);
	} else {
		crl = d2i_X509_CRL(NULL, &q, (long)len);
	}
	if (crl)
		X509_STORE_add_crl(store, crl);
	X509_CRL_free(crl);
	ERR_clear_error();
}

/* One stored certificate file: all of it may build chains; its first
 * certificate is trusted when it lives in trusted/certs. */
static void add_certs(struct vctx *v, int trusted, const void *data, size_t len)
{
	STACK_OF(X509) *xs = sk_X509_new_null();
	unsigned n;

	read_certs(data, len, xs);
	for (int i = 0; i < sk_X509_num(xs); i++) {
		X509 *x = sk_X509_value(xs, i);
		X509_STORE_add_cert(v->store, x);
		if (i == 0 && trusted && v->n_trusted < MAX_TRUSTED)
			X509_digest(x, EVP_sha1(), v->trusted[v->n_trusted++], &n);
	}
	sk_X509_pop_free(xs, X509_free);
	ERR_clear_error();
}

/* Load the live certificates and CRLs of the group's trusted/ and issuers/. */
static enum pk_err load_store(struct pk_store *s, struct vctx *v)
{
	char sql[256];
	sqlite3_stmt *q = NULL;
	enum pk_group g = v->o->group;
	int rc;

	snprintf(sql, sizeof(sql),
		 "SELECT e.folder, b.data FROM entry e JOIN blob b ON b.id = e.blob"
		 " WHERE e.died IS NULL AND e.folder IN (%d, %d, %d, %d)",
		 pk_folder_in_group(g, PK_F_TRUSTED_CERTS),
		 pk_folder_in_group(g, PK_F_ISSUERS_CERTS),
		 pk_folder_in_group(g, PK_F_TRUSTED_CRL),
		 pk_folder_in_group(g, PK_F_ISSUERS_CRL));
	pthread_mutex_lock(&s->lock);
	rc = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);
	while (q && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		enum pk_folder f = pk_folder_role(sqlite3_column_int(q, 0));
		const void *data = sqlite3_column_blob(q, 1);
		size_t len = (size_t)sqlite3_column_bytes(q, 1);
		if (!len)
			continue;
		if (f == PK_F_TRUSTED_CRL || f == PK_F_ISSUERS_CRL)
			add_crl(v->store, data, len);
		else
			add_certs(v, f == PK_F_TRUSTED_CERTS, data, len);
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&s->lock);
	return rc == SQLITE_DONE ? PK_OK : pk_sql_fail(s, rc, NULL);
}

/* Which step an OpenSSL verification error belongs to; revocation errors
 * that mean "not known" are told apart by *unknown. */
static enum pk_verify_step step_of(int err, int *unknown)
{
	*unknown = 0;
	switch (err) {
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
	case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
		return PK_VS_SIGNATURE;
	case X509_V_ERR_CERT_NOT_YET_VALID:
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
	case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
		return PK_VS_VALIDITY;
	case X509_V_ERR_CERT_REVOKED:
		return PK_VS_REVOCATION;
	case X509_V_ERR_UNABLE_TO_GET_CRL:
	case X509_V_ERR_CRL_HAS_EXPIRED:
	case X509_V_ERR_CRL_NOT_YET_VALID:
	case X509_V_ERR_CRL_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
	case X509_V_ERR_DIFFERENT_CRL_SCOPE:
		*unknown = 1;
		return PK_VS_REVOCATION;
	case X509_V_ERR_INVALID_CA:
	case X509_V_ERR_PATH_LENGTH_EXCEEDED:
	case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
		return PK_VS_CA;
	default:
		return PK_VS_CHAIN;
	}
}

/* OpenSSL's callback: record the error in its step and go on. */
static int on_error(int ok, X509_STORE_CTX *ctx)
{
	struct vctx *v = X509_STORE_CTX_get_app_data(ctx);
	int err = X509_STORE_CTX_get_error(ctx), unknown;
	char cn[128], cn2[128], why[320];
	enum pk_verify_step step;

	if (ok)
		return 1;
	step = step_of(err, &unknown);
	/* a self-signed certificate has no issuer to publish its revocation:
	 * stacks check CRLs for what a CA issued, not for the anchor itself */
	if (unknown && X509_self_signed(X509_STORE_CTX_get_current_cert(ctx), 0) == 1)
		return 1;
	if (unknown) /* name the CA whose CRL is missing or unusable */
		snprintf(why, sizeof(why), "%s: issuer %s of %s",
			 X509_verify_cert_error_string(err),
			 issuer_cn(X509_STORE_CTX_get_current_cert(ctx), cn2, sizeof(cn2)),
			 cn_of(X509_STORE_CTX_get_current_cert(ctx), cn, sizeof(cn)));
	else
		snprintf(why, sizeof(why), "%s (%s)", X509_verify_cert_error_string(err),
			 cn_of(X509_STORE_CTX_get_current_cert(ctx), cn, sizeof(cn)));
	set(v->r, step, unknown ? PK_V_UNKNOWN : PK_V_FAIL, "%.255s", why);
	return 1;
}

/* The leaf's key usage and, when asked, extended key usage. */
static void check_usage(struct vctx *v)
{
	uint32_t flags = X509_get_extension_flags(v->leaf);
	uint32_t need = v->o->as == PK_AS_CLIENT ? XKU_SSL_CLIENT : XKU_SSL_SERVER;

	if ((flags & EXFLAG_KUSAGE) && !(X509_get_key_usage(v->leaf) & KU_DIGITAL_SIGNATURE))
		set(v->r, PK_VS_USAGE, PK_V_FAIL, "%skey usage lacks digitalSignature", NULL);
	else if (v->o->as != PK_AS_ANY && (flags & EXFLAG_XKUSAGE) &&
		 !(X509_get_extended_key_usage(v->leaf) & need))
		set(v->r, PK_VS_USAGE, PK_V_FAIL, "extended key usage lacks %s",
		    v->o->as == PK_AS_CLIENT ? "clientAuth" : "serverAuth");
}

/* No SHA-1 signature below the root, no RSA key under 2048 bits. */
static void check_policy(struct vctx *v, STACK_OF(X509) * chain)
{
	char cn[128];

	for (int i = 0; i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);
		EVP_PKEY *k = X509_get0_pubkey(x);
		int md = NID_undef, pk;
		int last = i == sk_X509_num(chain) - 1 && X509_self_signed(x, 0) == 1;

		OBJ_find_sigid_algs(X509_get_signature_nid(x), &md, &pk);
		if (!last && md == NID_sha1)
			set(v->r, PK_VS_POLICY, PK_V_FAIL, "SHA-1 signature (%s)",
			    cn_of(x, cn, sizeof(cn)));
		if (k && EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA && EVP_PKEY_get_bits(k) < 2048)
			set(v->r, PK_VS_POLICY, PK_V_FAIL, "RSA key under 2048 bits (%s)",
			    cn_of(x, cn, sizeof(cn)));
	}
}

/* Is any certificate of the chain in trusted/certs? */
static void check_trust(struct vctx *v, STACK_OF(X509) * chain)
{
	unsigned char md[20];
	unsigned n;
	char cn[128];

	for (int i = 0; i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);
		X509_digest(x, EVP_sha1(), md, &n);
		for (size_t t = 0; t < v->n_trusted; t++)
			if (!memcmp(v->trusted[t], md, 20)) {
				set(v->r, PK_VS_TRUST, PK_V_OK, "trusted/ holds %s",
				    cn_of(x, cn, sizeof(cn)));
				return;
			}
	}
	set(v->r, PK_VS_TRUST, PK_V_FAIL,
	    "%sneither it nor a CA of its chain is in trusted/ (issuers/ only builds chains)",
	    NULL);
}

/* "CN=a <- CN=b <- ..." of the chain. */
static void describe_chain(struct pk_verify_result *r, STACK_OF(X509) * chain)
{
	char cn[128];
	size_t len = 0;

	for (int i = 0; i < sk_X509_num(chain) && len < sizeof(r->chain); i++)
		len += (size_t)snprintf(r->chain + len, sizeof(r->chain) - len, "%s%s",
					i ? " <- " : "",
					cn_of(sk_X509_value(chain, i), cn, sizeof(cn)));
}

/* Build and check the chain; judge the steps OpenSSL does not. */
static void run_checks(struct vctx *v)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *chain = NULL;

	X509_STORE_set_flags(v->store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
	X509_STORE_set_verify_cb(v->store, on_error);
	if (ctx && X509_STORE_CTX_init(ctx, v->store, v->leaf, v->extra)) {
		X509_STORE_CTX_set_app_data(ctx, v);
		X509_verify_cert(ctx);
		chain = X509_STORE_CTX_get1_chain(ctx);
	}
	if (chain) {
		describe_chain(v->r, chain);
		check_policy(v, chain);
		check_trust(v, chain);
	}
	check_usage(v);
	sk_X509_pop_free(chain, X509_free);
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
}

/* Steps with nothing against them pass, saying what held; the verdict. */
static void conclude(struct pk_verify_result *r, const struct pk_verify_opts *o)
{
	static const char *const held[PK_VS_COUNT] = {
		[PK_VS_CHAIN] = "reaches a self-signed root",
		[PK_VS_SIGNATURE] = "every signature verifies",
		[PK_VS_VALIDITY] = "now within every validity period",
		[PK_VS_REVOCATION] = "not revoked: every CA's CRL is there and current",
		[PK_VS_CA] = "every CA has CA:TRUE and keyCertSign, within pathLen",
		[PK_VS_USAGE] = "digitalSignature (and the extended usage asked for)",
		[PK_VS_POLICY] = "no SHA-1 signature, no RSA key under 2048 bits",
	};

	r->accepted = 1;
	for (int i = 0; i < PK_VS_COUNT; i++) {
		if (r->step[i].verdict == PK_V_SKIPPED &&
		    r->step[PK_VS_STRUCTURE].verdict == PK_V_OK)
			set(r, i, PK_V_OK, "%s", held[i]);
		if (r->step[i].verdict == PK_V_FAIL || r->step[i].verdict == PK_V_SKIPPED ||
		    (r->step[i].verdict == PK_V_UNKNOWN && !o->allow_unknown_revocation))
			r->accepted = 0;
	}
}

enum pk_err pk_verify(struct pk_store *s, const void *cert, size_t len,
		      const struct pk_verify_opts *o, struct pk_verify_result *r,
		      struct pk_status *st)
{
	unsigned char trusted[MAX_TRUSTED][20];
	struct vctx v = {X509_STORE_new(), sk_X509_new_null(), NULL, trusted, 0, o, r};
	enum pk_err e = v.store && v.extra ? load_store(s, &v) : PK_E_NOMEM;

	memset(r, 0, sizeof(*r));
	if (e == PK_OK) {
		read_certs(cert, len, v.extra);
		v.leaf = sk_X509_shift(v.extra);
	}
	if (e == PK_OK && !v.leaf)
		set(r, PK_VS_STRUCTURE, PK_V_FAIL, "%snot a DER or PEM certificate", NULL);
	else if (e == PK_OK) {
		set(r, PK_VS_STRUCTURE, PK_V_OK, "%sone certificate", NULL);
		run_checks(&v);
	}
	conclude(r, o);
	X509_free(v.leaf);
	sk_X509_pop_free(v.extra, X509_free);
	X509_STORE_free(v.store);
	if (e != PK_OK)
		pk_fail(st, e, "cannot read the store");
	return e;
}
