/*
 * describe.c: the details of a stored object for operators (describe.h).
 */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pkifs/describe.h"

/* Append ", word" (or "word" first) to buf. */
static void add(char *buf, size_t size, const char *word)
{
	size_t len = strlen(buf);

	snprintf(buf + len, size - len, "%s%s", len ? ", " : "", word);
}

/* Hex of n bytes into out (2n + 1). */
static void hex(const unsigned char *p, unsigned n, char *out)
{
	for (unsigned i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	out[2 * n] = 0;
}

/* A name as one RFC 2253 line, and its common name. */
static void name_parts(const X509_NAME *nm, char *line, size_t size, char *cn, size_t cn_size)
{
	BIO *b = BIO_new(BIO_s_mem());
	int n = 0;

	line[0] = cn[0] = 0;
	if (b && X509_NAME_print_ex(b, nm, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0)
		n = BIO_read(b, line, (int)size - 1);
	line[n > 0 ? n : 0] = 0;
	BIO_free(b);
	if (X509_NAME_get_text_by_NID((X509_NAME *)nm, NID_commonName, cn, (int)cn_size) < 0)
		cn[0] = 0;
}

/* An ASN1 time as unix seconds (0 when absent). */
static int64_t unix_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return 0;
	return (int64_t)timegm(&tm);
}

/* subjectAltName entries; the first URI is the OPC UA applicationUri. */
static void alt_names(X509 *x, struct pk_details *d)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	char item[300];

	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const ASN1_STRING *s = g->d.ia5;
		const unsigned char *ip = g->type == GEN_IPADD ? g->d.ip->data : NULL;
		item[0] = 0;
		if (g->type == GEN_URI || g->type == GEN_DNS)
			snprintf(item, sizeof(item), "%s:%.*s",
				 g->type == GEN_URI ? "URI" : "DNS", ASN1_STRING_length(s),
				 (const char *)ASN1_STRING_get0_data(s));
		else if (ip && g->d.ip->length == 4)
			snprintf(item, sizeof(item), "IP:%u.%u.%u.%u", ip[0], ip[1], ip[2],
				 ip[3]);
		if (g->type == GEN_URI && !d->uri[0])
			snprintf(d->uri, sizeof(d->uri), "%.255s", item + 4);
		if (item[0])
			add(d->sans, sizeof(d->sans), item);
	}
	GENERAL_NAMES_free(gens);
}

/* keyUsage and extendedKeyUsage in words. */
static void usages(X509 *x, struct pk_details *d)
{
	static const struct {
		uint32_t bit;
		const char *word;
	} ku[] = {{KU_DIGITAL_SIGNATURE, "digitalSignature"},
		  {KU_NON_REPUDIATION, "nonRepudiation"},
		  {KU_KEY_ENCIPHERMENT, "keyEncipherment"},
		  {KU_DATA_ENCIPHERMENT, "dataEncipherment"},
		  {KU_KEY_AGREEMENT, "keyAgreement"},
		  {KU_KEY_CERT_SIGN, "keyCertSign"},
		  {KU_CRL_SIGN, "cRLSign"}},
	  xku[] = {{XKU_SSL_SERVER, "serverAuth"},  {XKU_SSL_CLIENT, "clientAuth"},
		   {XKU_CODE_SIGN, "codeSigning"},  {XKU_SMIME, "emailProtection"},
		   {XKU_TIMESTAMP, "timeStamping"}, {XKU_OCSP_SIGN, "OCSPSigning"}};
	uint32_t flags = X509_get_extension_flags(x);
	uint32_t k = X509_get_key_usage(x), xk = X509_get_extended_key_usage(x);

	for (size_t i = 0; (flags & EXFLAG_KUSAGE) && i < sizeof(ku) / sizeof(ku[0]); i++)
		if (k & ku[i].bit)
			add(d->key_usage, sizeof(d->key_usage), ku[i].word);
	for (size_t i = 0; (flags & EXFLAG_XKUSAGE) && i < sizeof(xku) / sizeof(xku[0]); i++)
		if (xk & xku[i].bit)
			add(d->ext_key_usage, sizeof(d->ext_key_usage), xku[i].word);
	d->is_ca = (flags & EXFLAG_CA) != 0;
	d->path_len = (flags & EXFLAG_CA) ? (int)X509_get_pathlen(x) : -1;
}

/* A public or private key's type and size ("EC P-256", 256). */
static void key_info(EVP_PKEY *k, struct pk_details *d)
{
	char group[64] = "";
	int id = k ? EVP_PKEY_get_base_id(k) : 0;

	if (!k)
		return;
	d->key_bits = EVP_PKEY_get_bits(k);
	if (id == EVP_PKEY_EC && EVP_PKEY_get_group_name(k, group, sizeof(group), NULL)) {
		const char *nist = EC_curve_nid2nist(OBJ_sn2nid(group));
		snprintf(d->key_type, sizeof(d->key_type), "EC %.12s", nist ? nist : group);
	} else {
		snprintf(d->key_type, sizeof(d->key_type), "%s",
			 id == EVP_PKEY_RSA	  ? "RSA"
			 : id == EVP_PKEY_ED25519 ? "Ed25519"
			 : id == EVP_PKEY_ED448	  ? "Ed448"
						  : OBJ_nid2sn(id));
	}
}

/* Everything of a certificate. */
static void cert_details(X509 *x, struct pk_details *d)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n;
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *serial = bn ? BN_bn2hex(bn) : NULL;

	name_parts(X509_get_subject_name(x), d->subject, sizeof(d->subject), d->subject_cn,
		   sizeof(d->subject_cn));
	name_parts(X509_get_issuer_name(x), d->issuer, sizeof(d->issuer), d->issuer_cn,
		   sizeof(d->issuer_cn));
	snprintf(d->serial, sizeof(d->serial), "%s", serial ? serial : "");
	OPENSSL_free(serial);
	BN_free(bn);
	d->not_before = unix_time(X509_get0_notBefore(x));
	d->not_after = unix_time(X509_get0_notAfter(x));
	d->self_signed = X509_self_signed(x, 0) == 1;
	snprintf(d->sig_alg, sizeof(d->sig_alg), "%s", OBJ_nid2ln(X509_get_signature_nid(x)));
	alt_names(x, d);
	usages(x, d);
	key_info(X509_get0_pubkey(x), d);
	if (X509_digest(x, EVP_sha1(), md, &n))
		hex(md, n, d->sha1);
	if (X509_digest(x, EVP_sha256(), md, &n))
		hex(md, n, d->sha256);
}

/* Everything of a CRL. */
static void crl_details(X509_CRL *crl, struct pk_details *d)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n;
	STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(crl);

	name_parts(X509_CRL_get_issuer(crl), d->issuer, sizeof(d->issuer), d->issuer_cn,
		   sizeof(d->issuer_cn));
	d->not_before = unix_time(X509_CRL_get0_lastUpdate(crl));
	d->not_after = unix_time(X509_CRL_get0_nextUpdate(crl));
	d->revoked_count = rev ? sk_X509_REVOKED_num(rev) : 0;
	snprintf(d->sig_alg, sizeof(d->sig_alg), "%s",
		 OBJ_nid2ln(X509_CRL_get_signature_nid(crl)));
	if (X509_CRL_digest(crl, EVP_sha1(), md, &n))
		hex(md, n, d->sha1);
	if (X509_CRL_digest(crl, EVP_sha256(), md, &n))
		hex(md, n, d->sha256);
}

/* A password callback that gives none: encrypted keys stay closed. */
static int no_password(char *buf, int size, int rw, void *u)
{
	(void)buf, (void)size, (void)rw, (void)u;
	return 0;
}

/* The first object of data as X509, CRL, private key or request (one is
 * set). */
static void load(const void *data, size_t len, enum pk_kind kind, X509 **x, X509_CRL **crl,
		 EVP_PKEY **key, X509_REQ **req)
{
	int pem = memmem(data, len, "-----BEGIN ", 11) != NULL;
	BIO *b = pem ? BIO_new_mem_buf(data, (int)len) : NULL;
	const unsigned char *q = data;

	if (kind == PK_KIND_CERT)
		*x = pem ? PEM_read_bio_X509(b, NULL, NULL, NULL)
			 : d2i_X509(NULL, &q, (long)len);
	else if (kind == PK_KIND_CRL)
		*crl = pem ? PEM_read_bio_X509_CRL(b, NULL, NULL, NULL)
			   : d2i_X509_CRL(NULL, &q, (long)len);
	else if (kind == PK_KIND_KEY)
		*key = pem ? PEM_read_bio_PrivateKey(b, NULL, no_password, NULL)
			   : d2i_AutoPrivateKey(NULL, &q, (long)len);
	else if (kind == PK_KIND_CSR)
		*req = pem ? PEM_read_bio_X509_REQ(b, NULL, NULL, NULL)
			   : d2i_X509_REQ(NULL, &q, (long)len);
	BIO_free(b);
}

enum pk_err pk_describe(const void *data, size_t len, struct pk_details *d,
			struct pk_status *st)
{
	struct pk_object o;
	X509 *x = NULL;
	X509_CRL *crl = NULL;
	EVP_PKEY *key = NULL;
	X509_REQ *req = NULL;
	enum pk_err e = pk_object_parse(data, len, &o, st);

	memset(d, 0, sizeof(*d));
	d->path_len = -1;
	if (e != PK_OK)
		return e;
	d->kind = o.kind;
	d->encrypted = o.encrypted;
	load(data, len, o.kind, &x, &crl, &key, &req);
	if (x)
		cert_details(x, d);
	if (crl)
		crl_details(crl, d);
	key_info(key, d);
	if (req) {
		name_parts(X509_REQ_get_subject_name(req), d->subject, sizeof(d->subject),
			   d->subject_cn, sizeof(d->subject_cn));
		key_info(X509_REQ_get0_pubkey(req), d);
	}
	X509_free(x);
	X509_CRL_free(crl);
	EVP_PKEY_free(key);
	X509_REQ_free(req);
	ERR_clear_error();
	return PK_OK;
}

const char *pk_details_kind(const struct pk_details *d)
{
	switch (d->kind) {
	case PK_KIND_CERT:
		return d->is_ca ? "CA" : d->self_signed ? "self-signed" : "leaf";
	case PK_KIND_CRL:
		return "CRL";
	case PK_KIND_KEY:
		return "key";
	case PK_KIND_PKCS12:
		return "PKCS#12";
	case PK_KIND_CSR:
		return "CSR";
	case PK_KIND_EMPTY:
		return "empty";
	default:
		return "other";
	}
}
