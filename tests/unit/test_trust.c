/*
 * test_trust.c: the store and the trust operations, on a real SQLite file
 * with real certificates from the test PKI (PKIFS_TEST_PKI).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <unistd.h>

#include "pkifs/audit.h"
#include "pkifs/store.h"
#include "pkifs/trust.h"
#include "testpki.h"

static const struct pk_caller me = {0, 0, 1, "unit"};
static char dbpath[256];

static int setup(void **state)
{
	struct pk_store_opts o = {.create = 1};
	struct pk_status st;
	struct pk_store *s;

	snprintf(dbpath, sizeof(dbpath), "/tmp/pkifs-unit-%d.db", (int)getpid());
	unlink(dbpath);
	pk_limits_default(&o.limits);
	o.limits.max_rejected = 2;
	assert_int_equal(pk_store_open(dbpath, &o, &s, &st), PK_OK);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	pk_store_close(*state);
	test_rm_db(dbpath);
	return 0;
}

/* Put a test PKI file at f/name; returns the result. */
static enum pk_err put(struct pk_store *s, enum pk_folder f, const char *name, const char *file,
		       struct pk_status *st)
{
	struct pk_file pf = {0};
	enum pk_err e;
	size_t len;
	void *data = test_pki_file(file, &len);

	pf.data = data;
	pf.len = len;
	pf.attr.mode = 0644;
	pf.attr.mtime_ns = 1700000000123456789LL;
	e = pk_trust_put(s, &me, f, name, &pf, 0, st);
	free(data);
	return e;
}

static int count(void *ctx, const char *name, const struct pk_attr *a)
{
	(void)name;
	(void)a;
	(*(int *)ctx)++;
	return 0;
}

static int entries(struct pk_store *s, enum pk_folder f)
{
	int n = 0;

	assert_int_equal(pk_store_list(s, f, count, &n), PK_OK);
	return n;
}

static void put_reads_back_exact_bytes(void **state)
{
	struct pk_store *s = *state;
	struct pk_status st;
	struct pk_attr a;
	size_t len, got;
	void *want = test_pki_file("root-ca.der", &len), *data;

	assert_int_equal(put(s, PK_F_TRUSTED_CERTS, "root.der", "root-ca.der", &st), PK_OK);
	assert_int_equal(pk_store_read(s, PK_F_TRUSTED_CERTS, "root.der", &data, &got, &a),
			 PK_OK);
	assert_int_equal(got, len);
	assert_memory_equal(data, want, len);
	assert_int_equal(a.mtime_ns, 1700000000123456789LL);
	assert_true(a.ino >= PK_FIRST_INO);
	free(data);
	free(want);
}

static void second_name_in_trust_folder_is_kept(void **state)
{
	struct pk_store *s = *state;
	struct pk_status st;
	uint64_t gen;

	assert_int_equal(put(s, PK_F_TRUSTED_CERTS, "a.der", "leaf1.der", &st), PK_OK);
	gen = pk_store_generation(s);
	/* editors and sed -i write a copy beside the original */
	assert_int_equal(put(s, PK_F_TRUSTED_CERTS, "b.pem", "leaf1.pem", &st), PK_OK);
	assert_int_equal(entries(s, PK_F_TRUSTED_CERTS), 2);
	assert_int_equal(pk_store_generation(s), gen + 1);
	assert_int_equal(pk_trust_remove(s, &me, PK_F_TRUSTED_CERTS, "a.der", &st), PK_OK);
	assert_int_equal(entries(s, PK_F_TRUSTED_CERTS), 1);
}

static void issuers_take_only_cas(void **state)
{
	struct pk_store *s = *state;
	struct pk_status st;

	assert_int_equal(put(s, PK_F_ISSUERS_CERTS, "leaf.der", "leaf1.der", &st), PK_E_NOT_CA);
	assert_int_equal(put(s, PK_F_ISSUERS_CERTS, "int.der", "intermediate-ca.der", &st),
			 PK_OK);
	assert_int_equal(entries(s, PK_F_ISSUERS_CERTS), 1);
}

static void crl_needs_its_ca(void **state)
{
	struct pk_store *s = *state;
	struct pk_status st;

	assert_int_equal(put(s, PK_F_TRUSTED_CRL, "i.crl", "intermediate-ca.crl", &st),
			 PK_E_NO_ISSUER);
	assert_int_equal(put(s, PK_F_ISSUERS_CERTS, "int.der", "intermediate-ca.der", &st),
			 PK_OK);
	assert_int_equal(put(s, PK_F_TRUSTED_CRL, "i.crl", "intermediate-ca.crl", &st), PK_OK);
	assert_int_equal(put(s, PK_F_TRUSTED_CRL, "o.crl", "other-ca.crl", &st),
			 PK_E_NO_ISSUER);
	assert_int_equal(put(s, PK_F_TRUSTED_CERTS, "c.crl", "root-ca.crl", &st),
			 PK_E_WRONG_KIND);
}

static void move_applies_destination_rules(void **state)
{
	struct pk_store *s = *state;
	struct pk_status st;

	assert_int_equal(put(s, PK_F_REJECTED, "x.pem", "leaf1.pem", &st), PK_OK);
	assert_int_equal(pk_trust_rename(s, &me, PK_F_REJECTED, "x.pem", PK_F_ISSUERS_CERTS,
					 "x.pem", 0, &st),
			 PK_E_NOT_CA);
	assert_int_equal(entries(s, PK_F_REJECTED), 1);
	assert_int_equal(pk_trust_rename(s, &me, PK_F_REJECTED, "x.pem", PK_F_TRUSTED_CERTS,
					 "x.pem", 0, &st),
			 PK_OK);
	assert_int_equal(entries(s, PK_F_REJECTED), 0);
	assert_int_equal(pk_store_lookup(s, PK_F_TRUSTED_CERTS, "x.pem", NULL), PK_OK);
}

/* A move checks the destination's rules on the metadata stored with the
 * blob (certificates, keys) or on the bytes parsed again (other files):
 * every rule still holds, with the same error as for a new file. */
static void move_rules_hold_without_parsing(void **state)
{
	struct pk_store *s = *state;
	struct pk_status st;

	assert_int_equal(put(s, PK_F_REJECTED, "ca.pem", "intermediate-ca.pem", &st), PK_OK);
	assert_int_equal(pk_trust_rename(s, &me, PK_F_REJECTED, "ca.pem", PK_F_ISSUERS_CERTS,
					 "ca.pem", 0, &st),
			 PK_OK);
	assert_int_equal(put(s, PK_F_OWN_PRIVATE, "k.pem", "leaf1.key.pem", &st), PK_OK);
	assert_int_equal(pk_trust_rename(s, &me, PK_F_OWN_PRIVATE, "k.pem", PK_F_TRUSTED_CERTS,
					 "k.pem", 0, &st),
			 PK_E_WRONG_KIND);
	assert_int_equal(put(s, PK_F_TRUSTED_CERTS, "l1.der", "leaf1.der", &st), PK_OK);
	assert_int_equal(pk_trust_rename(s, &me, PK_F_TRUSTED_CERTS, "l1.der", PK_F_TRUSTED_CRL,
					 "l1.der", 0, &st),
			 PK_E_WRONG_KIND);
	assert_int_equal(put(s, PK_F_REJECTED, "again.pem", "leaf1.pem", &st), PK_OK);
	assert_int_equal(put(s, PK_F_OWN, "junk.der", "bad/truncated.der", &st), PK_OK);
	assert_int_equal(pk_trust_rename(s, &me, PK_F_OWN, "junk.der", PK_F_TRUSTED_CERTS,
					 "junk.der", 0, &st),
			 PK_E_MALFORMED);
	assert_int_equal(pk_trust_rename(s, &me, PK_F_REJECTED, "again.pem", PK_F_TRUSTED_CERTS,
					 "again.pem", 0, &st),
			 PK_OK);
	assert_int_equal(entries(s, PK_F_TRUSTED_CERTS), 2);
	assert_int_equal(entries(s, PK_F_ISSUERS_CERTS), 1);
}

static void rename_keeps_inode_and_noreplace_holds(void **state)
{
	struct pk_store *s = *state;
	struct pk_status st;
	struct pk_attr a, b;

	assert_int_equal(put(s, PK_F_TRUSTED_CERTS, "a", "leaf1.der", &st), PK_OK);
	assert_int_equal(put(s, PK_F_TRUSTED_CERTS, "b", "leaf2.der", &st), PK_OK);
	assert_int_equal(pk_store_lookup(s, PK_F_TRUSTED_CERTS, "a", &a), PK_OK);
	assert_int_equal(pk_trust_rename(s, &me, PK_F_TRUSTED_CERTS, "a", PK_F_TRUSTED_CERTS,
					 "b", PK_NOREPLACE, &st),
			 PK_E_EXISTS);
	assert_int_equal(pk_trust_rename(s, &me, PK_F_TRUSTED_CERTS, "a", PK_F_TRUSTED_CERTS,
					 "b", 0, &st),
			 PK_OK);
	assert_int_equal(pk_store_lookup(s, PK_F_TRUSTED_CERTS, "b", &b), PK_OK);
	assert_int_equal(a.ino, b.ino);
	assert_int_equal(entries(s, PK_F_TRUSTED_CERTS), 1);
}

static void rejected_dedupes_and_caps(void **state)
{
	struct pk_store *s = *state;
	struct pk_status st;

	assert_int_equal(put(s, PK_F_REJECTED, "1", "leaf1.der", &st), PK_OK);
	assert_int_equal(put(s, PK_F_REJECTED, "1-again", "leaf1.pem", &st), PK_OK);
	assert_int_equal(entries(s, PK_F_REJECTED), 1);
	assert_int_equal(pk_store_lookup(s, PK_F_REJECTED, "1", NULL), PK_E_NOENT);
	assert_int_equal(put(s, PK_F_REJECTED, "2", "leaf2.der", &st), PK_OK);
	assert_int_equal(put(s, PK_F_REJECTED, "3", "leaf3.der", &st), PK_OK);
	assert_int_equal(entries(s, PK_F_REJECTED), 2); /* max_rejected = 2 */
	assert_int_equal(pk_store_lookup(s, PK_F_REJECTED, "1-again", NULL), PK_E_NOENT);
	assert_int_equal(put(s, PK_F_REJECTED, "k", "app1.key.pkcs8.pem", &st),
			 PK_E_WRONG_KIND);
}

static void private_keys_pair_and_stay_private(void **state)
{
	struct pk_store *s = *state;
	struct pk_status st;
	struct pk_attr a = {.mode = 0644};

	assert_int_equal(put(s, PK_F_OWN_PRIVATE, "k.pem", "app1.key.pkcs8.pem", &st), PK_OK);
	assert_int_equal(pk_store_lookup(s, PK_F_OWN_PRIVATE, "k.pem", &a), PK_OK);
	assert_int_equal(a.mode, 0600);
	a.mode = 0644;
	assert_int_equal(
		pk_trust_setattr(s, &me, PK_F_OWN_PRIVATE, "k.pem", &a, PK_SET_MODE, &st),
		PK_E_PERM);
	assert_int_equal(put(s, PK_F_OWN_CERTS, "c.der", "app1.der", &st), PK_OK);
	assert_int_equal(put(s, PK_F_OWN_PRIVATE, "c.der", "app1.der", &st), PK_E_WRONG_KIND);
}

static void garbage_and_chains(void **state)
{
	struct pk_store *s = *state;
	struct pk_status st;

	assert_int_equal(put(s, PK_F_TRUSTED_CERTS, "g", "bad/garbage.der", &st),
			 PK_E_MALFORMED);
	assert_int_equal(put(s, PK_F_TRUSTED_CERTS, "t", "bad/truncated.der", &st),
			 PK_E_MALFORMED);
	assert_int_equal(put(s, PK_F_TRUSTED_CERTS, "b", "bad/badbase64.pem", &st),
			 PK_E_MALFORMED);
	assert_int_equal(put(s, PK_F_TRUSTED_CERTS, "u", "unrelated.pem", &st), PK_E_CHAIN);
	assert_int_equal(put(s, PK_F_TRUSTED_CERTS, "c", "leaf1-chain.pem", &st), PK_OK);
	assert_int_equal(put(s, PK_F_TRUSTED_CERTS, "d", "leaf1-chain.der", &st), PK_OK);
	assert_int_equal(entries(s, PK_F_TRUSTED_CERTS), 2);
}

static void aux_files_and_empty_files(void **state)
{
	struct pk_store *s = *state;
	struct pk_status st;
	struct pk_file f = {.data = "", .len = 0, .attr = {.mode = 0644}};

	assert_int_equal(put(s, PK_F_OWN, "openssl.cnf", "bad/text.txt", &st), PK_OK);
	assert_int_equal(pk_trust_put(s, &me, PK_F_TRUSTED_CERTS, "lock", &f, 0, &st), PK_OK);
	assert_int_equal(pk_trust_put(s, &me, PK_F_TRUSTED, "x", &f, 0, &st), PK_E_PERM);
	assert_int_equal(put(s, PK_F_TRUSTED_CERTS, "big", "bad/big.der", &st), PK_E_TOO_BIG);
}

static void audit_log_records_refusals(void **state)
{
	struct pk_store *s = *state;
	struct pk_status st;
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);

	put(s, PK_F_ISSUERS_CERTS, "leaf.der", "leaf1.der", &st);
	put(s, PK_F_REJECTED, "r.der", "leaf1.der", &st);
	pk_trust_rename(s, &me, PK_F_REJECTED, "r.der", PK_F_TRUSTED_CERTS, "r.der", 0, &st);
	assert_int_equal(pk_audit_print(s, out, 0), PK_OK);
	fclose(out);
	assert_non_null(strstr(text, "refused (EPERM)"));
	assert_non_null(strstr(text, "not a CA"));
	assert_non_null(strstr(text, "trust    rejected/r.der -> trusted/certs/r.der"));
	assert_non_null(strstr(text, "cmd=unit"));
	free(text);
}

static void folder_mtime_advances(void **state)
{
	struct pk_store *s = *state;
	struct pk_status st;
	struct pk_attr before, after;

	assert_int_equal(pk_store_dir_attr(s, PK_F_TRUSTED_CERTS, &before), PK_OK);
	usleep(2000);
	assert_int_equal(put(s, PK_F_TRUSTED_CERTS, "a", "leaf1.der", &st), PK_OK);
	assert_int_equal(pk_store_dir_attr(s, PK_F_TRUSTED_CERTS, &after), PK_OK);
	assert_true(after.mtime_ns > before.mtime_ns);
	usleep(2000);
	assert_int_equal(pk_trust_remove(s, &me, PK_F_TRUSTED_CERTS, "a", &st), PK_OK);
	assert_int_equal(pk_store_dir_attr(s, PK_F_TRUSTED_CERTS, &before), PK_OK);
	assert_true(before.mtime_ns > after.mtime_ns);
}

static void reopen_keeps_everything(void **state)
{
	struct pk_store_opts o = {.create = 0};
	struct pk_store *s = *state;
	struct pk_status st;
	struct pk_attr a, b;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	assert_int_equal(put(s, PK_F_TRUSTED_CERTS, "a", "leaf1.der", &st), PK_OK);
	assert_int_equal(pk_store_lookup(s, PK_F_TRUSTED_CERTS, "a", &a), PK_OK);
	pk_store_close(s);
	pk_limits_default(&o.limits);
	assert_int_equal(pk_store_open(dbpath, &o, &s, &st), PK_OK);
	*state = s;
	assert_int_equal(pk_store_lookup(s, PK_F_TRUSTED_CERTS, "a", &b), PK_OK);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_true(pk_store_new_ino(s) > a.ino);
}

static void foreign_database_is_refused(void **state)
{
	struct pk_store_opts o = {.create = 1};
	struct pk_status st;
	struct pk_store *s;
	sqlite3 *db;
	char path[300];

	(void)state;
	snprintf(path, sizeof(path), "%s.other", dbpath);
	unlink(path);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	pk_limits_default(&o.limits);
	assert_int_equal(pk_store_open(path, &o, &s, &st), PK_E_SCHEMA);
	assert_non_null(strstr(st.reason, "not a pkifs database"));
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(put_reads_back_exact_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(second_name_in_trust_folder_is_kept, setup,
						teardown),
		cmocka_unit_test_setup_teardown(issuers_take_only_cas, setup, teardown),
		cmocka_unit_test_setup_teardown(crl_needs_its_ca, setup, teardown),
		cmocka_unit_test_setup_teardown(move_applies_destination_rules, setup,
						teardown),
		cmocka_unit_test_setup_teardown(move_rules_hold_without_parsing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(rename_keeps_inode_and_noreplace_holds, setup,
						teardown),
		cmocka_unit_test_setup_teardown(rejected_dedupes_and_caps, setup, teardown),
		cmocka_unit_test_setup_teardown(private_keys_pair_and_stay_private, setup,
						teardown),
		cmocka_unit_test_setup_teardown(garbage_and_chains, setup, teardown),
		cmocka_unit_test_setup_teardown(aux_files_and_empty_files, setup, teardown),
		cmocka_unit_test_setup_teardown(audit_log_records_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(folder_mtime_advances, setup, teardown),
		cmocka_unit_test_setup_teardown(reopen_keeps_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(foreign_database_is_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
