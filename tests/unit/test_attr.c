/*
 * test_attr.c: modes, owners and times of entries and folders, on a real
 * SQLite file with files from the test PKI (PKIFS_TEST_PKI): no-op changes,
 * the key folder's drop of group and other bits, and what the log says.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pkifs/audit.h"
#include "pkifs/store.h"
#include "pkifs/trust.h"
#include "testpki.h"

static const struct pk_caller me = {0, 0, 1, "unit"};
static char dbpath[256];

/* A fresh store in a temporary file. */
static int setup(void **state)
{
	struct pk_store_opts o = {.create = 1};
	struct pk_status st;
	struct pk_store *s;

	snprintf(dbpath, sizeof(dbpath), "/tmp/pkifs-unit-attr-%d.db", (int)getpid());
	unlink(dbpath);
	pk_limits_default(&o.limits);
	assert_int_equal(pk_store_open(dbpath, &o, &s, &st), PK_OK);
	*state = s;
	return 0;
}

/* Close the store and remove its files. */
static int teardown(void **state)
{
	char path[300];

	pk_store_close(*state);
	unlink(dbpath);
	snprintf(path, sizeof(path), "%s-wal", dbpath);
	unlink(path);
	snprintf(path, sizeof(path), "%s-shm", dbpath);
	unlink(path);
	return 0;
}

/* Put test PKI file at f/name, mode 0644, owner 0:0, a fixed mtime. */
static void put(struct pk_store *s, enum pk_folder f, const char *name, const char *file)
{
	struct pk_file pf = {0};
	struct pk_status st;
	size_t len;
	void *data = test_pki_file(file, &len);

	pf.data = data;
	pf.len = len;
	pf.attr.mode = 0644;
	pf.attr.mtime_ns = 1700000000123456789LL;
	assert_int_equal(pk_trust_put(s, &me, f, name, &pf, 0, &st), PK_OK);
	free(data);
}

/* The whole audit log as text (malloc'd). */
static char *log_text(struct pk_store *s)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);

	assert_int_equal(pk_audit_print(s, out, 0), PK_OK);
	fclose(out);
	return text;
}

/* Does the last line of the log contain each of the strings (NULL-ended)? */
static void last_line_has(struct pk_store *s, ...)
{
	char *text = log_text(s), *last;
	const char *want;
	va_list ap;

	if (!text[0])
		fail_msg("the log is empty");
	text[strlen(text) - 1] = 0; /* the final newline */
	last = strrchr(text, '\n');
	last = last ? last + 1 : text;
	va_start(ap, s);
	while ((want = va_arg(ap, const char *)))
		if (!strstr(last, want))
			fail_msg("'%s' not in '%s'", want, last);
	va_end(ap);
	free(text);
}

/* Set attributes a (fields in which) of f/name (NULL: the folder). */
static enum pk_err set(struct pk_store *s, enum pk_folder f, const char *name, unsigned mode,
		       unsigned uid, unsigned gid, int64_t mtime, unsigned which)
{
	struct pk_attr a = {.mode = mode, .uid = uid, .gid = gid, .mtime_ns = mtime};
	struct pk_status st;

	return pk_trust_setattr(s, &me, f, name, &a, which, &st);
}

static void changes_to_what_is_are_no_changes(void **state)
{
	struct pk_store *s = *state;
	uint64_t gen;
	char *before, *after;

	put(s, PK_F_OWN, "c", "app1.der");
	gen = pk_store_generation(s);
	before = log_text(s);
	assert_int_equal(set(s, PK_F_OWN, "c", 0644, 0, 0, 0, PK_SET_MODE), PK_OK);
	assert_int_equal(set(s, PK_F_OWN, "c", 0, 0, 0, 0, PK_SET_UID | PK_SET_GID), PK_OK);
	assert_int_equal(set(s, PK_F_OWN, "c", 0, 0, 0, 1700000000123456789LL, PK_SET_MTIME),
			 PK_OK);
	assert_int_equal(set(s, PK_F_TRUSTED_CERTS, NULL, 0755, 0, 0, 0, PK_SET_MODE), PK_OK);
	assert_int_equal(set(s, PK_F_ROOT, NULL, 0, 0, 0, 0, PK_SET_GID), PK_OK);
	assert_int_equal(pk_store_generation(s), gen);
	after = log_text(s);
	assert_string_equal(before, after);
	free(before);
	free(after);
	assert_int_equal(set(s, PK_F_OWN, "c", 0640, 0, 0, 0, PK_SET_MODE), PK_OK);
	assert_int_equal(pk_store_generation(s), gen + 1);
	last_line_has(s, " chmod ", " own/c ", "ok: mode 0644 -> 0640", NULL);
}

static void folder_changes_are_logged(void **state)
{
	struct pk_store *s = *state;
	struct pk_attr a;

	assert_int_equal(set(s, PK_F_TRUSTED_CERTS, NULL, 0, 0, 1000, 0, PK_SET_GID), PK_OK);
	last_line_has(s, " chown ", " trusted/certs ", "ok: owner 0:0 -> 0:1000", NULL);
	assert_int_equal(set(s, PK_F_TRUSTED_CERTS, NULL, 0777, 0, 0, 0, PK_SET_MODE), PK_OK);
	last_line_has(s, " chmod ", " trusted/certs ", "ok: mode 0755 -> 0777", NULL);
	assert_int_equal(
		set(s, PK_F_REJECTED, NULL, 0775, 0, 1000, 0, PK_SET_MODE | PK_SET_GID), PK_OK);
	last_line_has(s, " setattr ", " rejected ",
		      "ok: mode 0755 -> 0775, owner 0:0 -> 0:1000", NULL);
	assert_int_equal(set(s, PK_F_ROOT, NULL, 0, 7, 0, 0, PK_SET_UID), PK_OK);
	last_line_has(s, " chown ", " . ", "ok: owner 0:0 -> 7:0", NULL);
	assert_int_equal(pk_store_dir_attr(s, PK_F_TRUSTED_CERTS, &a), PK_OK);
	assert_int_equal(a.mode & 07777, 0777);
	assert_int_equal(a.gid, 1000);
}

static void key_folder_stays_owner_only(void **state)
{
	struct pk_store *s = *state;
	struct pk_attr a;
	uint64_t gen = pk_store_generation(s);

	assert_int_equal(set(s, PK_F_OWN_PRIVATE, NULL, 0777, 0, 0, 0, PK_SET_MODE), PK_OK);
	assert_int_equal(pk_store_dir_attr(s, PK_F_OWN_PRIVATE, &a), PK_OK);
	assert_int_equal(a.mode & 07777, 0700);
	assert_int_equal(pk_store_generation(s), gen + 1); /* the drop is logged */
	last_line_has(s, " chmod ", " own/private ", "ok: mode 0700 -> 0700 (asked 0777",
		      "group and other bits dropped", NULL);
	assert_int_equal(set(s, PK_F_OWN_PRIVATE, NULL, 0500, 0, 0, 0, PK_SET_MODE), PK_OK);
	assert_int_equal(pk_store_dir_attr(s, PK_F_OWN_PRIVATE, &a), PK_OK);
	assert_int_equal(a.mode & 07777, 0500);
	last_line_has(s, "ok: mode 0700 -> 0500", NULL);
	/* a key itself: group or other bits are refused, and that is logged */
	put(s, PK_F_OWN_PRIVATE, "k.pem", "app1.key.pkcs8.pem");
	assert_int_equal(set(s, PK_F_OWN_PRIVATE, "k.pem", 0640, 0, 0, 0, PK_SET_MODE),
			 PK_E_PERM);
	last_line_has(s, " chmod ", " own/private/k.pem ", "refused (EPERM)", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(changes_to_what_is_are_no_changes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(folder_changes_are_logged, setup, teardown),
		cmocka_unit_test_setup_teardown(key_folder_stays_owner_only, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
