/*
 * test_check.c: the store's invariants (pkifs check), the rejected/ refresh
 * that once lost a certificate's bytes, and the upgrade of a schema 1 store,
 * on real SQLite files with certificates from the test PKI.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pkifs/check.h"
#include "pkifs/snapshot.h"
#include "pkifs/store.h"
#include "pkifs/trust.h"
#include "store_int.h"
#include "testpki.h"

static const struct pk_caller me = {0, 0, 1, "unit"};
static char dbpath[256];

/* What a check found: "kind path" lines. */
struct found {
	char text[8192];
	unsigned n;
};

static void collect(void *ctx, const struct pk_violation *v)
{
	struct found *f = ctx;
	size_t len = strlen(f->text);

	snprintf(f->text + len, sizeof(f->text) - len, "%s %s: %s\n", v->kind, v->path,
		 v->what);
	f->n++;
}

static struct pk_store *open_store(int create)
{
	struct pk_store_opts o = {.create = create};
	struct pk_status st;
	struct pk_store *s = NULL;

	pk_limits_default(&o.limits);
	o.limits.max_rejected = 3;
	assert_int_equal(pk_store_open(dbpath, &o, &s, &st), PK_OK);
	return s;
}

static int setup(void **state)
{
	snprintf(dbpath, sizeof(dbpath), "/tmp/pkifs-check-%d.db", (int)getpid());
	unlink(dbpath);
	*state = open_store(1);
	return 0;
}

static int teardown(void **state)
{
	pk_store_close(*state);
	test_rm_db(dbpath);
	return 0;
}

static enum pk_err put(struct pk_store *s, enum pk_folder f, const char *name, const char *file)
{
	struct pk_file pf = {0};
	struct pk_status st;
	size_t len;
	void *data = test_pki_file(file, &len);
	enum pk_err e;

	pf.data = data;
	pf.len = len;
	pf.attr.mode = 0644;
	pf.attr.mtime_ns = 1700000000000000000LL;
	e = pk_trust_put(s, &me, f, name, &pf, 0, &st);
	free(data);
	return e;
}

/* Run the check; the violations found. */
static struct found *check(struct pk_store *s)
{
	static struct found f;
	struct pk_check_counts n;
	struct pk_status st;

	memset(&f, 0, sizeof(f));
	assert_int_equal(pk_store_check(s, collect, &f, NULL, &n, &st), PK_OK);
	assert_int_equal(n.violations, f.n);
	return &f;
}

/* Does f/name hold exactly the bytes of the test PKI file? */
static void assert_holds(struct pk_store *s, enum pk_folder f, const char *name,
			 const char *file)
{
	size_t len, got;
	void *want = test_pki_file(file, &len), *data = NULL;
	struct pk_attr a;

	assert_int_equal(pk_store_read(s, f, name, &data, &got, &a), PK_OK);
	assert_int_equal(got, len);
	assert_memory_equal(data, want, len);
	assert_int_equal(a.size, len);
	free(data);
	free(want);
}

/* Run raw SQL on the file, foreign keys off (how damage is made). */
static void damage(const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void rejected_refresh_keeps_the_bytes(void **state)
{
	struct pk_store *s = *state;
	struct pk_attr a;

	assert_int_equal(put(s, PK_F_REJECTED, "x1.der", "app2.der"), PK_OK);
	assert_int_equal(put(s, PK_F_REJECTED, "x2.der", "app2.der"), PK_OK);
	assert_int_equal(pk_store_lookup(s, PK_F_REJECTED, "x1.der", &a), PK_E_NOENT);
	assert_holds(s, PK_F_REJECTED, "x2.der", "app2.der");
	/* the next blob must not take the refreshed one's place */
	assert_int_equal(put(s, PK_F_OWN, "openssl.cnf", "bad/garbage.der"), PK_OK);
	assert_int_equal(put(s, PK_F_REJECTED, "y.der", "app1.der"), PK_OK);
	assert_holds(s, PK_F_REJECTED, "x2.der", "app2.der");
	assert_holds(s, PK_F_REJECTED, "y.der", "app1.der");
	assert_int_equal(check(s)->n, 0);
}

static void clean_after_every_kind_of_change(void **state)
{
	struct pk_store *s = *state;
	struct pk_status st;

	assert_int_equal(put(s, PK_F_TRUSTED_CERTS, "root.der", "root-ca.der"), PK_OK);
	assert_int_equal(put(s, PK_F_ISSUERS_CERTS, "int.pem", "intermediate-ca.pem"), PK_OK);
	assert_int_equal(put(s, PK_F_ISSUERS_CRL, "int.crl", "intermediate-ca.crl"), PK_OK);
	assert_int_equal(put(s, PK_F_OWN_CERTS, "app1.der", "app1.der"), PK_OK);
	assert_int_equal(put(s, PK_F_OWN_PRIVATE, "app1.pem", "app1.key.pem"), PK_OK);
	assert_int_equal(pk_snapshot_create(s, &me, "s1", 0, &st), PK_OK);
	for (int i = 0; i < 6; i++) {
		char name[32];
		snprintf(name, sizeof(name), "r%d.der", i);
		assert_int_equal(put(s, PK_F_REJECTED, name, i % 2 ? "leaf2.der" : "leaf3.der"),
				 PK_OK);
	}
	assert_int_equal(pk_trust_rename(s, &me, PK_F_REJECTED, "r5.der", PK_F_TRUSTED_CERTS,
					 "l2.der", 0, &st),
			 PK_OK);
	assert_int_equal(pk_trust_remove(s, &me, PK_F_TRUSTED_CERTS, "root.der", &st), PK_OK);
	assert_int_equal(pk_snapshot_restore(s, &me, "s1", &st), PK_OK);
	assert_int_equal(pk_snapshot_delete(s, &me, "s1", &st), PK_OK);
	assert_string_equal(check(s)->text, "");
}

/* Make the store hold one of everything, then close it for damage. */
static void fill_and_close(void **state)
{
	struct pk_store *s = *state;
	struct pk_status st;

	assert_int_equal(put(s, PK_F_TRUSTED_CERTS, "root.der", "root-ca.der"), PK_OK);
	assert_int_equal(put(s, PK_F_TRUSTED_CERTS, "leaf1.der", "leaf1.der"), PK_OK);
	assert_int_equal(put(s, PK_F_OWN_PRIVATE, "k.pem", "app1.key.pem"), PK_OK);
	assert_int_equal(put(s, PK_F_REJECTED, "a.der", "leaf2.der"), PK_OK);
	assert_int_equal(put(s, PK_F_REJECTED, "b.der", "leaf3.der"), PK_OK);
	assert_int_equal(pk_snapshot_create(s, &me, "s1", 0, &st), PK_OK);
	assert_int_equal(check(s)->n, 0);
	pk_store_close(s);
	*state = NULL;
}

/* One kind of damage made by hand, found with its kind and path. */
static void assert_finds(void **state, const char *sql, const char *kind, const char *path)
{
	char want[300];

	fill_and_close(state);
	damage(sql);
	*state = open_store(0);
	snprintf(want, sizeof(want), "%s %s", kind, path);
	if (!strstr(check(*state)->text, want))
		fail_msg("wanted '%s', found:\n%s", want, check(*state)->text);
}

static void finds_missing_blob(void **state)
{
	assert_finds(
		state,
		"DELETE FROM blob WHERE id = (SELECT blob FROM entry WHERE name = 'leaf1.der')",
		"missing-blob", "trusted/certs/leaf1.der");
}

static void finds_bytes_that_do_not_hash(void **state)
{
	assert_finds(state,
		     "UPDATE blob SET data = data || x'00' WHERE id ="
		     " (SELECT blob FROM entry WHERE name = 'root.der')",
		     "hash-mismatch", "trusted/certs/root.der");
}

static void finds_stored_metadata_that_lies(void **state)
{
	assert_finds(state,
		     "UPDATE blob SET is_ca = 1 - is_ca WHERE id ="
		     " (SELECT blob FROM entry WHERE name = 'leaf1.der')",
		     "metadata", "trusted/certs/leaf1.der");
}

static void finds_entry_breaking_its_folder_rule(void **state)
{
	assert_finds(state, "UPDATE entry SET folder = 5 WHERE name = 'k.pem'", "folder-rule",
		     "trusted/certs/k.pem");
}

static void finds_readable_private_key(void **state)
{
	assert_finds(state, "UPDATE entry SET mode = 420 WHERE name = 'k.pem'", "folder-rule",
		     "own/private/k.pem");
}

static void finds_rejected_duplicate(void **state)
{
	assert_finds(state,
		     "UPDATE entry SET blob = (SELECT blob FROM entry WHERE name = 'a.der')"
		     " WHERE name = 'b.der'",
		     "rejected-duplicate", "rejected");
}

static void finds_rejected_over_its_cap(void **state)
{
	assert_finds(state, "INSERT OR REPLACE INTO setting VALUES('max_rejected', 1)",
		     "rejected-over-cap", "rejected");
}

static void finds_shared_live_inode(void **state)
{
	assert_finds(state,
		     "UPDATE entry SET ino = (SELECT ino FROM entry WHERE name = 'root.der')"
		     " WHERE name = 'leaf1.der'",
		     "inode", "-");
}

static void finds_bad_generations(void **state)
{
	assert_finds(state, "UPDATE entry SET died = born - 1 WHERE name = 'a.der'",
		     "generation", "rejected/a.der");
}

static void finds_snapshot_past_the_last_generation(void **state)
{
	assert_finds(state, "UPDATE snapshot SET gen = 1000", "snapshot", "snapshot s1");
}

static void finds_snapshot_without_folder_rows(void **state)
{
	assert_finds(state, "DELETE FROM snapshot_dir WHERE folder = 3", "snapshot",
		     "snapshot s1");
}

static void repair_removes_exactly_the_lost_entries(void **state)
{
	struct pk_status st;
	struct pk_attr a;
	unsigned removed;

	fill_and_close(state);
	damage("DELETE FROM blob WHERE id = (SELECT blob FROM entry WHERE name = 'leaf1.der')");
	*state = open_store(0);
	assert_int_equal(pk_store_repair(*state, &me, &removed, &st), PK_OK);
	assert_int_equal(removed, 1);
	assert_string_equal(check(*state)->text, "");
	assert_int_equal(pk_store_lookup(*state, PK_F_TRUSTED_CERTS, "leaf1.der", &a),
			 PK_E_NOENT);
	assert_holds(*state, PK_F_TRUSTED_CERTS, "root.der", "root-ca.der");
	assert_holds(*state, PK_F_REJECTED, "a.der", "leaf2.der");
}

/* A store made by schema 1 (tests/data) opens, upgrades in place, and never
 * hands a lost blob's id to new bytes. */
static void schema_1_store_is_upgraded(void **state)
{
	FILE *f = fopen("tests/data/store-v1-damaged.sql", "r");
	static char sql[65536];
	size_t n, len;
	struct pk_store *s;
	struct pk_attr a;
	struct pk_object o;
	struct pk_status st;
	void *data;

	assert_non_null(f);
	n = fread(sql, 1, sizeof(sql) - 1, f);
	fclose(f);
	sql[n] = 0;
	pk_store_close(*state);
	unlink(dbpath);
	damage(sql);
	*state = s = open_store(0);
	assert_int_equal(pk_query_int(s, "PRAGMA user_version"), 2);
	assert_non_null(strstr(check(s)->text, "missing-blob rejected/x2.der"));
	assert_int_equal(check(s)->n, 1);
	assert_int_equal(put(s, PK_F_OWN, "new.cnf", "bad/garbage.der"), PK_OK);
	assert_int_equal(check(s)->n, 1); /* x2.der did not come to hold new.cnf */
	/* the dump's certificates are not the test PKI's (made anew per build) */
	assert_int_equal(pk_store_read(s, PK_F_TRUSTED_CERTS, "root.der", &data, &len, &a),
			 PK_OK);
	assert_int_equal(pk_object_parse(data, len, &o, &st), PK_OK);
	assert_int_equal(o.kind, PK_KIND_CERT);
	assert_true(o.is_ca);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(rejected_refresh_keeps_the_bytes),
		T(clean_after_every_kind_of_change),
		T(finds_missing_blob),
		T(finds_bytes_that_do_not_hash),
		T(finds_stored_metadata_that_lies),
		T(finds_entry_breaking_its_folder_rule),
		T(finds_readable_private_key),
		T(finds_rejected_duplicate),
		T(finds_rejected_over_its_cap),
		T(finds_shared_live_inode),
		T(finds_bad_generations),
		T(finds_snapshot_past_the_last_generation),
		T(finds_snapshot_without_folder_rows),
		T(repair_removes_exactly_the_lost_entries),
		T(schema_1_store_is_upgraded),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
