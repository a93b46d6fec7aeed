/*
 * gencerts: write N distinct DER certificates fast, for benchmarks.
 *
 * usage: gencerts OUTDIR N
 * Writes OUTDIR/ca.der (a self-signed EC CA) and OUTDIR/cert-NNNNNN.der,
 * each a leaf with its own subject and serial signed by that CA. One key is
 * shared by all leaves: only signing costs, so 10,000 take well under a
 * second instead of one openssl process each.
 */
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>

static EVP_PKEY *ec_key(void)
{
	return EVP_EC_gen("P-256");
}

/* A certificate for subject cn, signed by (issuer, ikey). */
static X509 *make_cert(const char *cn, long serial, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
		       int ca)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3650L * 86400);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
				   0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
				  ca ? "critical,CA:TRUE" : "CA:FALSE");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_key_usage,
				  ca ? "critical,keyCertSign,cRLSign" : "digitalSignature");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	X509_sign(x, ikey, EVP_sha256());
	X509_NAME_free(name);
	return x;
}

static int write_der(const char *path, X509 *x)
{
	FILE *f = fopen(path, "wb");
	int ok = f && i2d_X509_fp(f, x);

	if (f)
		fclose(f);
	return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
	char path[4096], cn[64];
	EVP_PKEY *cakey, *key;
	X509 *ca;
	long n;

	if (argc != 3 || (n = atol(argv[2])) <= 0) {
		fprintf(stderr, "usage: gencerts OUTDIR N\n");
		return 2;
	}
	cakey = ec_key();
	key = ec_key();
	ca = make_cert("pkifs bench CA", 1, cakey, NULL, cakey, 1);
	snprintf(path, sizeof(path), "%s/ca.der", argv[1]);
	if (write_der(path, ca))
		return perror(path), 1;
	for (long i = 0; i < n; i++) {
		X509 *x;
		snprintf(cn, sizeof(cn), "bench leaf %06ld", i);
		x = make_cert(cn, 1000 + i, key, ca, cakey, 0);
		snprintf(path, sizeof(path), "%s/cert-%06ld.der", argv[1], i);
		if (write_der(path, x))
			return perror(path), 1;
		X509_free(x);
	}
	X509_free(ca);
	EVP_PKEY_free(key);
	EVP_PKEY_free(cakey);
	return 0;
}
