/*
 * test_names.c: what pkifs log escapes (and new names may not hold), and
 * where a file dropped into trusted/ or issuers/ is filed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "pkifs/audit.h"
#include "pkifs/folder.h"
#include "testpki.h"

/* Offset of the first unsafe character of s (-1: none), its value and kind. */
static long unsafe_at(const char *s, uint32_t *what, int *is_byte)
{
	const char *p = pk_text_unsafe(s, what, is_byte);

	return p ? p - s : -1;
}

static void test_printable_text_is_safe(void **state)
{
	uint32_t c;
	int b;

	(void)state;
	assert_int_equal(unsafe_at("plain-name.der", &c, &b), -1);
	assert_int_equal(
		unsafe_at("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x94\x92 back\\slash", &c, &b), -1);
	assert_int_equal(unsafe_at("\xe2\x80\x8f", &c, &b),
			 -1); /* RLM: a mark, not an override */
}

static void test_controls_and_bidi_are_found(void **state)
{
	static const struct {
		const char *s;
		long at;
		uint32_t what;
		int is_byte;
	} cases[] = {
		{"a\tb", 1, 0x09, 1},
		{"ab\x7f", 2, 0x7f, 1},
		{"a\xc2\x85", 1, 0x85, 0},
		{"x\xe2\x80\xae", 1, 0x202e, 0},
		{"\xe2\x80\xaa", 0, 0x202a, 0},
		{"\xe2\x81\xa6y", 0, 0x2066, 0},
		{"\xe2\x81\xa9", 0, 0x2069, 0},
		{"\xe2\x80\xa8", 0, 0x2028, 0},
		{"a\xff", 1, 0xff, 1},
		{"\xc0\xaf", 0, 0xc0, 1},	  /* overlong '/' */
		{"\xed\xa0\x80", 0, 0xed, 1},	  /* a surrogate */
		{"\xf4\x90\x80\x80", 0, 0xf4, 1}, /* past U+10FFFF */
		{"ok\xe2\x80", 2, 0xe2, 1},	  /* cut short */
		{"\x80", 0, 0x80, 1},		  /* a stray continuation byte */
	};
	uint32_t c;
	int b;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(unsafe_at(cases[i].s, &c, &b), cases[i].at);
		assert_int_equal(c, cases[i].what);
		assert_int_equal(b, cases[i].is_byte);
	}
}

/* The folder a test PKI file dropped into f goes to, or PK_F_NONE. */
static enum pk_folder route(enum pk_folder f, const char *name, enum pk_err *e)
{
	struct pk_status st = {0};
	enum pk_folder to = PK_F_NONE;
	size_t len;
	void *data = test_pki_file(name, &len);

	*e = pk_folder_route(f, data, len, &to, &st);
	free(data);
	return *e == PK_OK ? to : PK_F_NONE;
}

static void test_drops_are_filed_by_kind(void **state)
{
	enum pk_err e;

	(void)state;
	assert_int_equal(route(PK_F_TRUSTED, "root-ca.der", &e), PK_F_TRUSTED_CERTS);
	assert_int_equal(route(PK_F_TRUSTED, "root-ca.crl", &e), PK_F_TRUSTED_CRL);
	assert_int_equal(route(PK_F_ISSUERS, "intermediate-ca.pem", &e), PK_F_ISSUERS_CERTS);
	assert_int_equal(route(PK_F_ISSUERS, "intermediate-ca.crl.pem", &e), PK_F_ISSUERS_CRL);
	assert_int_equal(route(PK_F_REJECTED, "app1.key.der", &e),
			 PK_F_REJECTED); /* not a drop */
	assert_int_equal(route(PK_F_TRUSTED, "app1.key.pkcs8.pem", &e), PK_F_NONE);
	assert_int_equal(e, PK_E_WRONG_KIND);
	assert_int_equal(route(PK_F_TRUSTED, "bad/garbage.der", &e), PK_F_NONE);
	assert_int_equal(e, PK_E_MALFORMED);
}

/* A path in any spelling: its folder and the via bits it took. */
static enum pk_folder walk(const char *rel, int *via)
{
	enum pk_folder f = PK_F_ROOT;

	*via = 0;
	while (*rel && f != PK_F_NONE) {
		size_t len = strcspn(rel, "/");

		f = pk_folder_step(f, rel, len, via);
		rel += len + (rel[len] == '/');
	}
	return f;
}

static void test_every_spelling_reaches_its_group(void **state)
{
	int via;
	enum pk_folder f;
	const char *name;

	(void)state;
	assert_int_equal(walk("ApplCerts/issuer/certs", &via), PK_F_ISSUERS_CERTS);
	assert_int_equal(via, PK_SP_PART12 | PK_SP_GROUP);
	assert_int_equal(walk("ApplCerts/rejected/certs", &via), PK_F_REJECTED);
	assert_int_equal(walk("UserTokenCerts/issuer/crl", &via), PK_F_USER_ISSUERS_CRL);
	assert_int_equal(walk("issuerUser/crl", &via), PK_F_USER_ISSUERS_CRL);
	assert_int_equal(via, PK_SP_GROUP);
	assert_int_equal(walk("trustedHttps/certs", &via), PK_F_HTTPS_TRUSTED_CERTS);
	assert_int_equal(walk("HttpCerts/rejected/certs", &via), PK_F_HTTPS_REJECTED);
	assert_int_equal(walk("ApplCerts/UserTokenCerts", &via), PK_F_NONE);
	assert_int_equal(walk("ApplCerts/ApplCerts", &via), PK_F_NONE);
	assert_int_equal(walk("rejected/certs/certs", &via), PK_F_NONE);
	assert_int_equal(pk_folder_resolve("trustedUser/certs/x.der", &f, &name), 0);
	assert_int_equal(f, PK_F_USER_TRUSTED_CERTS);
	assert_string_equal(name, "x.der");
	assert_int_equal(pk_folder_role(PK_F_USER_TRUSTED_CERTS), PK_F_TRUSTED_CERTS);
	assert_int_equal(pk_folder_group(PK_F_HTTPS_REJECTED), PK_G_HTTPS);
	assert_int_equal(pk_folder_in_group(PK_G_USER, PK_F_ISSUERS_CERTS),
			 PK_F_USER_ISSUERS_CERTS);
	assert_string_equal(pk_folder_info(PK_F_USER_ISSUERS_CERTS)->path,
			    "UserTokenCerts/issuers/certs");
	assert_int_equal(pk_folder_info(PK_F_USER_ISSUERS_CERTS)->content, PK_C_CA_CERT);
	assert_int_equal(pk_folder_feeds_views(PK_F_USER_TRUSTED_CERTS), 0);
	assert_int_equal(pk_group_parse("user"), PK_G_USER);
	assert_int_equal(pk_group_parse("nope"), -1);
}

static void test_a_group_directory_takes_no_file(void **state)
{
	enum pk_err e;

	(void)state;
	assert_int_equal(route(PK_F_USER, "root-ca.der", &e), PK_F_USER); /* no drop */
	assert_int_equal(route(PK_F_USER_TRUSTED, "root-ca.crl", &e), PK_F_USER_TRUSTED_CRL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_printable_text_is_safe),
		cmocka_unit_test(test_controls_and_bidi_are_found),
		cmocka_unit_test(test_drops_are_filed_by_kind),
		cmocka_unit_test(test_every_spelling_reaches_its_group),
		cmocka_unit_test(test_a_group_directory_takes_no_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
