/*
 * test_object.c: parsing real certificates, CRLs and keys made by the
 * openssl CLI (scripts/gen-test-pki.sh); expected values come from openssl.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkifs/object.h"
#include "testpki.h"

/* The first line an openssl command prints, lowercased, without colons. */
static void openssl_line(const char *args, char *out, size_t size)
{
	char cmd[1024], line[512];
	FILE *p;
	size_t n = 0;

	snprintf(cmd, sizeof(cmd), "cd %s && openssl %s", test_pki_dir(), args);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(line, sizeof(line), p));
	pclose(p);
	for (char *c = strchr(line, '=') ? strchr(line, '=') + 1 : line; *c && *c != '\n'; c++)
		if (*c != ':' && n + 1 < size)
			out[n++] = (char)tolower((unsigned char)*c);
	out[n] = 0;
}

static enum pk_err parse(const char *name, struct pk_object *o)
{
	struct pk_status st = {0};
	size_t len;
	void *data = test_pki_file(name, &len);
	enum pk_err e = pk_object_parse(data, len, o, &st);

	free(data);
	return e;
}

static void certs_match_openssl(void **state)
{
	const char *names[] = {"root-ca", "intermediate-ca", "leaf1", "app1", "ec-app"};
	char file[64], args[256], want[128], hash[16];
	struct pk_object der, pem;

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(file, sizeof(file), "%s.der", names[i]);
		assert_int_equal(parse(file, &der), PK_OK);
		snprintf(file, sizeof(file), "%s.pem", names[i]);
		assert_int_equal(parse(file, &pem), PK_OK);
		assert_int_equal(der.kind, PK_KIND_CERT);
		assert_true(der.der && !pem.der);
		assert_string_equal(der.thumb, pem.thumb);
		snprintf(args, sizeof(args), "x509 -in %s -noout -fingerprint -sha1", file);
		openssl_line(args, want, sizeof(want));
		assert_string_equal(der.thumb, want);
		snprintf(args, sizeof(args), "x509 -in %s -noout -subject_hash", file);
		openssl_line(args, want, sizeof(want));
		snprintf(hash, sizeof(hash), "%08x", der.subject_hash);
		assert_string_equal(hash, want);
		assert_memory_equal(der.pubkey_sha256, pem.pubkey_sha256, 32);
	}
}

static void ca_flags(void **state)
{
	struct pk_object o;

	(void)state;
	assert_int_equal(parse("root-ca.der", &o), PK_OK);
	assert_true(o.is_ca && o.key_cert_sign && o.self_signed);
	assert_int_equal(parse("intermediate-ca.der", &o), PK_OK);
	assert_true(o.is_ca && o.key_cert_sign && !o.self_signed);
	assert_int_equal(parse("leaf1.der", &o), PK_OK);
	assert_true(!o.is_ca && !o.self_signed);
	assert_int_equal(parse("noca-selfsigned.der", &o), PK_OK);
	assert_true(!o.is_ca && o.self_signed);
	assert_non_null(strstr(o.subject, "CN=Not Really A CA"));
	assert_int_equal(parse("expired.pem", &o), PK_OK);
	assert_true(o.not_after < o.not_before + 2 * 86400);
}

static void chains(void **state)
{
	struct pk_object o, leaf;

	(void)state;
	assert_int_equal(parse("leaf1.der", &leaf), PK_OK);
	assert_int_equal(parse("leaf1-chain.pem", &o), PK_OK);
	assert_int_equal(o.chain_len, 2);
	assert_string_equal(o.thumb, leaf.thumb);
	assert_int_equal(parse("leaf1-chain.der", &o), PK_OK);
	assert_int_equal(o.chain_len, 2);
	assert_int_equal(parse("unrelated.pem", &o), PK_E_CHAIN);
}

static void keys_pair_with_their_certificate(void **state)
{
	const char *keys[] = {"app1.key.pkcs8.pem", "app1.key.pkcs1.pem", "app1.key.der",
			      "app1.pfx"};
	struct pk_object cert, key;

	(void)state;
	assert_int_equal(parse("app1.der", &cert), PK_OK);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		assert_int_equal(parse(keys[i], &key), PK_OK);
		assert_true(key.kind == PK_KIND_KEY || key.kind == PK_KIND_PKCS12);
		assert_true(key.has_pubkey);
		assert_memory_equal(key.pubkey_sha256, cert.pubkey_sha256, 32);
	}
	assert_int_equal(parse("ec-app.der", &cert), PK_OK);
	assert_int_equal(parse("ec-app.key.sec1.pem", &key), PK_OK);
	assert_memory_equal(key.pubkey_sha256, cert.pubkey_sha256, 32);
	assert_int_equal(parse("app1.key.pkcs8enc.pem", &key), PK_OK);
	assert_true(key.kind == PK_KIND_KEY && key.encrypted && !key.has_pubkey);
	assert_int_equal(parse("app1-pw.pfx", &key), PK_OK);
	assert_true(key.kind == PK_KIND_PKCS12 && key.encrypted);
	assert_int_equal(parse("unrelated.key.pem", &key), PK_OK);
	assert_memory_not_equal(key.pubkey_sha256, cert.pubkey_sha256, 32);
}

static void crls(void **state)
{
	char want[32], hash[16];
	struct pk_object o;
	struct pk_status st;
	size_t a, b;
	void *crl, *ca;

	(void)state;
	assert_int_equal(parse("intermediate-ca.crl", &o), PK_OK);
	assert_int_equal(o.kind, PK_KIND_CRL);
	openssl_line("crl -in intermediate-ca.crl -noout -hash", want, sizeof(want));
	snprintf(hash, sizeof(hash), "%08x", o.issuer_hash);
	assert_string_equal(hash, want);
	assert_int_equal(parse("intermediate-ca.crl.pem", &o), PK_OK);
	crl = test_pki_file("intermediate-ca.crl", &a);
	ca = test_pki_file("intermediate-ca.pem", &b);
	assert_int_equal(pk_crl_verify(crl, a, ca, b, &st), PK_OK);
	free(ca);
	ca = test_pki_file("other-ca.der", &b);
	assert_int_equal(pk_crl_verify(crl, a, ca, b, &st), PK_E_NO_ISSUER);
	free(ca);
	free(crl);
}

static void bad_inputs(void **state)
{
	const char *bad[] = {"bad/truncated.der", "bad/badbase64.pem", "bad/empty-armor.pem",
			     "bad/trailing-garbage.der"};
	struct pk_object o;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i], &o), PK_E_MALFORMED);
	assert_int_equal(parse("bad/text.txt", &o), PK_OK);
	assert_int_equal(o.kind, PK_KIND_NONE);
	assert_int_equal(pk_object_parse("", 0, &o, NULL), PK_OK);
	assert_int_equal(o.kind, PK_KIND_EMPTY);
}

static void pem_of_der_equals_openssl(void **state)
{
	size_t len, want_len;
	void *der = test_pki_file("leaf1.der", &len),
	     *want = test_pki_file("leaf1.pem", &want_len);
	char *pem = NULL;
	size_t pem_len = 0;

	(void)state;
	assert_int_equal(pk_object_pem(der, len, &pem, &pem_len), PK_OK);
	assert_int_equal(pem_len, want_len);
	assert_memory_equal(pem, want, want_len);
	free(pem);
	free(der);
	free(want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(certs_match_openssl),
		cmocka_unit_test(ca_flags),
		cmocka_unit_test(chains),
		cmocka_unit_test(keys_pair_with_their_certificate),
		cmocka_unit_test(crls),
		cmocka_unit_test(bad_inputs),
		cmocka_unit_test(pem_of_der_equals_openssl),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
