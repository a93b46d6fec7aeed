/*
 * test_path.c: from a path in the mount to what it names (fs/path.h) —
 * folders under every spelling, names, snapshot trees, the views, and the
 * names a new file may not have.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "path.h"

static struct node resolve(const char *path, int want_rc)
{
	struct node n;

	memset(&n, 0, sizeof(n));
	assert_int_equal(path_resolve(path, &n), want_rc);
	return n;
}

static void test_folders_and_names(void **state)
{
	struct node n;

	(void)state;
	n = resolve("/", 0);
	assert_int_equal(n.area, AREA_LIVE);
	assert_int_equal(n.type, NODE_DIR);
	assert_int_equal(n.folder, PK_F_ROOT);
	n = resolve("/trusted/certs", 0);
	assert_int_equal(n.type, NODE_DIR);
	assert_int_equal(n.folder, PK_F_TRUSTED_CERTS);
	n = resolve("//trusted//certs/x.der", 0); /* repeated slashes */
	assert_int_equal(n.type, NODE_NAME);
	assert_int_equal(n.folder, PK_F_TRUSTED_CERTS);
	assert_string_equal(n.name, "x.der");
	assert_int_equal(n.via, 0);
	resolve("/trusted/certs/x.der/y", -ENOENT); /* nothing lives below a file */
}

static void test_every_spelling_reaches_one_folder(void **state)
{
	struct node n;

	(void)state;
	n = resolve("/issuer/certs/ca.der", 0);
	assert_int_equal(n.folder, PK_F_ISSUERS_CERTS);
	assert_int_equal(n.via, PK_SP_PART12);
	n = resolve("/rejected/certs/x.der", 0);
	assert_int_equal(n.folder, PK_F_REJECTED);
	assert_int_equal(n.via, PK_SP_PART12);
	assert_string_equal(n.name, "x.der");
	n = resolve("/rejected/x.der", 0);
	assert_int_equal(n.folder, PK_F_REJECTED);
	assert_int_equal(n.via, 0);
	/* the certificate groups: open62541's and UA-.NET's names */
	n = resolve("/ApplCerts/issuer/certs/ca.der", 0);
	assert_int_equal(n.folder, PK_F_ISSUERS_CERTS);
	assert_int_equal(n.via, PK_SP_PART12 | PK_SP_GROUP);
	n = resolve("/UserTokenCerts/rejected/certs/x", 0);
	assert_int_equal(n.folder, PK_F_USER_REJECTED);
	n = resolve("/trustedUser/crl/x.crl", 0);
	assert_int_equal(n.folder, PK_F_USER_TRUSTED_CRL);
	assert_int_equal(n.via, PK_SP_GROUP);
	n = resolve("/ApplCerts/UserTokenCerts", 0); /* a name in the root, not the group */
	assert_int_equal(n.type, NODE_NAME);
	assert_int_equal(n.folder, PK_F_ROOT);
}

static void test_inodes_of_each_spelling_differ(void **state)
{
	uint64_t inos[4];

	(void)state;
	assert_int_equal(path_dir_inos(PK_F_TRUSTED_CERTS, inos), 2); /* and ApplCerts/ */
	assert_int_equal(inos[0], PK_FOLDER_INO(PK_F_TRUSTED_CERTS));
	assert_int_equal(inos[1], PATH_SPELL_INO(inos[0], PK_SP_GROUP));
	assert_int_equal(path_dir_inos(PK_F_ISSUERS_CRL, inos), 4); /* issuer/, ApplCerts/ */
	assert_int_equal(inos[1], PATH_SPELL_INO(inos[0], PK_SP_PART12));
	assert_int_equal(path_dir_inos(PK_F_REJECTED, inos), 4);
	assert_int_equal(path_dir_inos(PK_F_USER_OWN_PRIVATE, inos), 1);
	assert_int_equal(path_dir_inos(PK_F_USER_ISSUERS, inos), 3); /* issuer/, issuerUser/ */
}

static void test_snapshot_trees_and_views(void **state)
{
	struct node n;

	(void)state;
	n = resolve("/snapshot", 0);
	assert_int_equal(n.area, AREA_SNAPSHOT);
	assert_string_equal(n.snap, "");
	n = resolve("/snapshot/before-upgrade/trusted/crl/x.crl", 0);
	assert_int_equal(n.area, AREA_SNAPSHOT);
	assert_string_equal(n.snap, "before-upgrade");
	assert_int_equal(n.folder, PK_F_TRUSTED_CRL);
	assert_string_equal(n.name, "x.crl");
	n = resolve("/capath/1a2b3c4d.0", 0);
	assert_int_equal(n.area, AREA_CAPATH);
	assert_string_equal(n.name, "1a2b3c4d.0");
	resolve("/capath/x/y", -ENOENT);
	n = resolve("/cafile.pem", 0);
	assert_int_equal(n.area, AREA_CAFILE);
	resolve("/cafile.pem/x", -ENOTDIR);
}

static void test_names_a_file_may_not_have(void **state)
{
	char why[200];

	(void)state;
	assert_true(path_name_ok("Client Cert [1a2b].der", why, sizeof(why)));
	assert_true(path_name_ok("Zertifikat-Prüfstand.der", why, sizeof(why)));
	assert_false(path_name_ok("a\nb.der", why, sizeof(why)));
	assert_non_null(strstr(why, "control"));
	assert_false(path_name_ok("a\xff.der", why, sizeof(why)));
	assert_non_null(strstr(why, "UTF-8"));
	assert_false(path_name_ok("evil\xe2\x80\xaeredlof.der", why, sizeof(why)));
	assert_non_null(strstr(why, "bidirectional"));
	assert_false(path_name_ok("a\xe2\x80\xa8z", why, sizeof(why)));
	assert_non_null(strstr(why, "separator"));
}

static void test_format_is_the_inverse_of_resolve(void **state)
{
	char buf[256];
	struct node n;

	(void)state;
	for (int f = 0; f < PK_F_COUNT; f++) {
		path_format(buf, sizeof(buf), (enum pk_folder)f, "x.der");
		n = resolve(buf, 0);
		assert_int_equal(n.folder, f);
		assert_string_equal(n.name, "x.der");
	}
	path_format(buf, sizeof(buf), PK_F_ROOT, NULL);
	assert_string_equal(buf, "/");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_folders_and_names),
		cmocka_unit_test(test_every_spelling_reaches_one_folder),
		cmocka_unit_test(test_inodes_of_each_spelling_differ),
		cmocka_unit_test(test_snapshot_trees_and_views),
		cmocka_unit_test(test_names_a_file_may_not_have),
		cmocka_unit_test(test_format_is_the_inverse_of_resolve),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
