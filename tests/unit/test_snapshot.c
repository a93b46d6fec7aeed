/*
 * test_snapshot.c: snapshots, history, restore, prune and backup on a real
 * SQLite file, with auxiliary files (own/ takes any bytes) and real
 * certificates from the test PKI.
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
#include <time.h>
#include <unistd.h>

#include "pkifs/snapshot.h"
#include "testpki.h"

static const struct pk_caller me = {0, 0, 1, "unit"};
static char dbpath[256];

static int setup(void **state)
{
	struct pk_store_opts o = {.create = 1};
	struct pk_status st;
	struct pk_store *s;

	snprintf(dbpath, sizeof(dbpath), "/tmp/pkifs-snap-%d.db", (int)getpid());
	unlink(dbpath);
	pk_limits_default(&o.limits);
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

/* Put text as own/name (auxiliary files take any bytes). */
static void put(struct pk_store *s, const char *name, const char *text)
{
	struct pk_file f = {.data = text, .len = strlen(text), .attr = {.mode = 0644}};
	struct pk_status st;

	assert_int_equal(pk_trust_put(s, &me, PK_F_OWN, name, &f, 0, &st), PK_OK);
}

/* The bytes of own/name at snapshot snap, as a malloc'd string. */
static char *at(struct pk_store *s, const char *snap, const char *name)
{
	struct pk_snapshot sn;
	void *data;
	size_t len;
	char *str;

	assert_int_equal(pk_snapshot_get(s, snap, &sn), PK_OK);
	if (pk_snapshot_read(s, &sn, PK_F_OWN, name, &data, &len, NULL) != PK_OK)
		return NULL;
	str = calloc(1, len + 1);
	memcpy(str, data, len);
	free(data);
	return str;
}

static int count(void *ctx, const char *name, const struct pk_attr *a)
{
	(void)name;
	(void)a;
	(*(int *)ctx)++;
	return 0;
}

static void snapshot_shows_its_time(void **state)
{
	struct pk_store *s = *state;
	struct pk_status st;
	struct pk_attr a = {.mode = 0600};
	struct pk_snapshot sn;
	char *v;
	int n = 0;

	put(s, "a", "one");
	put(s, "b", "bee");
	assert_int_equal(pk_snapshot_create(s, &me, "s1", 0, &st), PK_OK);
	assert_int_equal(pk_snapshot_create(s, &me, "s1", 0, &st), PK_E_EXISTS);
	put(s, "a", "two");
	assert_int_equal(pk_trust_remove(s, &me, PK_F_OWN, "b", &st), PK_OK);
	assert_int_equal(pk_trust_rename(s, &me, PK_F_OWN, "a", PK_F_OWN, "c", 0, &st), PK_OK);
	assert_int_equal(pk_trust_setattr(s, &me, PK_F_OWN, "c", &a, PK_SET_MODE, &st), PK_OK);
	assert_string_equal(v = at(s, "s1", "a"), "one");
	free(v);
	assert_string_equal(v = at(s, "s1", "b"), "bee");
	free(v);
	assert_null(at(s, "s1", "c"));
	assert_int_equal(pk_snapshot_get(s, "s1", &sn), PK_OK);
	assert_int_equal(pk_snapshot_lookup(s, &sn, PK_F_OWN, "a", &a), PK_OK);
	assert_int_equal(a.mode, 0644);
	assert_int_equal(pk_snapshot_entries(s, &sn, PK_F_OWN, count, &n), PK_OK);
	assert_int_equal(n, 2);
	assert_int_equal(pk_snapshot_create(s, &me, "bad/name", 0, &st), PK_E_NAME);
	assert_int_equal(pk_snapshot_delete(s, &me, "s1", &st), PK_OK);
	assert_int_equal(pk_snapshot_get(s, "s1", &sn), PK_E_NOENT);
}

/*
 * What one snapshot creation costs in SQLite work, counted rather than
 * timed (tests never assert on time): the rows it writes (inserted,
 * updated or deleted, triggers included) and the virtual machine
 * instructions its statements run. A scan of the entries, or a copy of
 * them, adds at least one instruction or one row per entry. Every
 * connection the store opens gets a progress handler called at each
 * instruction, installed by an auto extension registered before the store
 * opens (so the test needs no store internals).
 */
static struct {
	sqlite3 *db[4];
	size_t n_db;
	uint64_t vm_steps;
} counted;

static int count_step(void *ctx)
{
	(void)ctx;
	counted.vm_steps++;
	return 0;
}

static int count_on_open(sqlite3 *db, const char **err, const struct sqlite3_api_routines *api)
{
	(void)err;
	(void)api;
	if (counted.n_db < sizeof(counted.db) / sizeof(counted.db[0]))
		counted.db[counted.n_db++] = db;
	sqlite3_progress_handler(db, 1, count_step, NULL);
	return SQLITE_OK;
}

static int setup_counted(void **state)
{
	memset(&counted, 0, sizeof(counted));
	assert_int_equal(sqlite3_auto_extension((void (*)(void))count_on_open), SQLITE_OK);
	return setup(state);
}

static int teardown_counted(void **state)
{
	sqlite3_reset_auto_extension();
	return teardown(state);
}

static int64_t rows_written(void)
{
	int64_t n = 0;

	for (size_t i = 0; i < counted.n_db; i++)
		n += sqlite3_total_changes64(counted.db[i]);
	return n;
}

struct cost {
	int64_t rows;
	uint64_t steps;
};

static struct cost create_cost(struct pk_store *s, const char *name)
{
	struct pk_status st;
	int64_t rows = rows_written();
	uint64_t steps = counted.vm_steps;

	assert_int_equal(pk_snapshot_create(s, &me, name, 0, &st), PK_OK);
	return (struct cost){rows_written() - rows, counted.vm_steps - steps};
}

static void creation_cost_does_not_grow(void **state)
{
	struct pk_store *s = *state;
	struct cost small, large;
	char name[32];

	assert_true(counted.n_db > 0); /* the store's connection is counted */
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "f%05d", i);
		put(s, name, name);
	}
	small = create_cost(s, "small");
	for (int i = 100; i < 10000; i++) {
		snprintf(name, sizeof(name), "f%05d", i);
		put(s, name, name);
	}
	large = create_cost(s, "large");
	print_message("snapshot creation: %lld rows, %llu VM steps at 100 entries;"
		      " %lld rows, %llu VM steps at 10,000\n",
		      (long long)small.rows, (unsigned long long)small.steps,
		      (long long)large.rows, (unsigned long long)large.steps);
	/* the snapshot row, the folder rows, the audit row: more than one, and
	 * not one more for 9,900 more entries */
	assert_true(small.rows > 1);
	assert_int_equal(large.rows, small.rows);
	assert_true(small.steps > 0);
	/* a plan may differ by a few instructions; a scan would add 9,900 */
	assert_true(large.steps <= small.steps + small.steps / 10);
}

static void at_time_undoes_rm_and_restore_brings_it_back(void **state)
{
	struct pk_store *s = *state;
	struct pk_status st;
	struct pk_attr before, after;
	int64_t t;
	char *v;

	put(s, "key.cnf", "precious");
	assert_int_equal(pk_store_lookup(s, PK_F_OWN, "key.cnf", &before), PK_OK);
	usleep(20000);
	t = (int64_t)time(NULL) * 1000000000LL + 999999999LL; /* end of this second */
	sleep(1);
	assert_int_equal(pk_trust_remove(s, &me, PK_F_OWN, "key.cnf", &st), PK_OK);
	put(s, "new.cnf", "later");
	assert_int_equal(pk_snapshot_create(s, &me, "undo", t, &st), PK_OK);
	assert_string_equal(v = at(s, "undo", "key.cnf"), "precious");
	free(v);
	assert_null(at(s, "undo", "new.cnf"));
	assert_int_equal(pk_snapshot_create(s, &me, "future", t + 3600000000000LL, &st),
			 PK_E_NOENT);
	assert_int_equal(pk_snapshot_restore(s, &me, "undo", &st), PK_OK);
	assert_int_equal(pk_store_lookup(s, PK_F_OWN, "key.cnf", &after), PK_OK);
	assert_int_equal(after.ino, before.ino);
	assert_int_equal(after.mtime_ns, before.mtime_ns);
	assert_int_equal(pk_store_lookup(s, PK_F_OWN, "new.cnf", NULL), PK_E_NOENT);
}

static void prune_keeps_pinned_history(void **state)
{
	struct pk_store *s = *state;
	struct pk_status st;
	unsigned deleted = 0;
	char *v;

	put(s, "x", "v1");
	assert_int_equal(pk_snapshot_create(s, &me, "pin", 0, &st), PK_OK);
	put(s, "x", "v2");
	put(s, "x", "v3");
	usleep(10000);
	assert_int_equal(pk_history_prune(s, 1, 1000, &deleted), PK_OK);
	assert_int_equal(deleted, 1); /* v2: dead, old, shown by no snapshot */
	assert_string_equal(v = at(s, "pin", "x"), "v1");
	free(v);
	assert_int_equal(pk_history_prune(s, 1, 1000, &deleted), PK_OK);
	assert_int_equal(deleted, 0);
}

static void backup_is_a_store(void **state)
{
	struct pk_store_opts o = {.readonly = 1};
	struct pk_store *s = *state, *copy;
	struct pk_status st;
	char path[300], *v;

	put(s, "x", "kept");
	assert_int_equal(pk_snapshot_create(s, &me, "in-backup", 0, &st), PK_OK);
	snprintf(path, sizeof(path), "%s.backup", dbpath);
	test_rm_db(path);
	assert_int_equal(pk_store_backup(s, path, NULL, &st), PK_OK);
	assert_int_equal(pk_store_backup(s, path, NULL, &st), PK_E_EXISTS);
	pk_limits_default(&o.limits);
	assert_int_equal(pk_store_open(path, &o, &copy, &st), PK_OK);
	assert_string_equal(v = at(copy, "in-backup", "x"), "kept");
	free(v);
	pk_store_close(copy);
	test_rm_db(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(snapshot_shows_its_time, setup, teardown),
		cmocka_unit_test_setup_teardown(creation_cost_does_not_grow, setup_counted,
						teardown_counted),
		cmocka_unit_test_setup_teardown(at_time_undoes_rm_and_restore_brings_it_back,
						setup, teardown),
		cmocka_unit_test_setup_teardown(prune_keeps_pinned_history, setup, teardown),
		cmocka_unit_test_setup_teardown(backup_is_a_store, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
