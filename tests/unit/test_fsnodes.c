/*
 * test_fsnodes.c: the table of nodes the kernel holds (fs/nodes.h) — paths
 * from node ids, lookup counts, renames, open nodes whose name is gone.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "nodes.h"

#define ROOT 1

static struct nodes T; /* the table under test, fresh for each */

static struct stat attr(uint64_t ino, off_t size)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_ino = ino;
	st.st_size = size;
	st.st_mode = 0100644;
	st.st_nlink = 1;
	return st;
}

/* trusted (6) under the root, certs (7) under it, x.der (1000) in certs. */
static void tree(void)
{
	struct stat d = attr(6, 0), c = attr(7, 0), f = attr(1000, 42);

	assert_int_equal(nodes_ref(&T, 6, ROOT, "trusted", &d), 0);
	assert_int_equal(nodes_ref(&T, 7, 6, "certs", &c), 0);
	assert_int_equal(nodes_ref(&T, 1000, 7, "x.der", &f), 0);
}

static int setup(void **state)
{
	(void)state;
	nodes_init(&T);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	nodes_clear(&T);
	pthread_mutex_destroy(&T.lock);
	return 0;
}

static void test_path_is_built_from_parents(void **state)
{
	char buf[256];

	(void)state;
	tree();
	assert_int_equal(nodes_path(&T, ROOT, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/");
	assert_int_equal(nodes_path(&T, 1000, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/trusted/certs/x.der");
	assert_int_equal(nodes_path(&T, 7, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/trusted/certs");
	assert_int_equal(nodes_path(&T, 4242, buf, sizeof(buf)), -ENOENT);
	assert_int_equal(nodes_path(&T, 1000, buf, 10), -ENAMETOOLONG);
	assert_int_equal(nodes_count(&T), 3);
}

static void test_last_forget_frees_the_node(void **state)
{
	struct stat f = attr(1000, 42);
	char buf[256];

	(void)state;
	tree();
	assert_int_equal(nodes_ref(&T, 1000, 7, "x.der", &f), 0); /* looked up twice */
	nodes_forget(&T, 1000, 1);
	assert_int_equal(nodes_path(&T, 1000, buf, sizeof(buf)), 0);
	nodes_forget(&T, 1000, 1);
	assert_int_equal(nodes_path(&T, 1000, buf, sizeof(buf)), -ENOENT);
	assert_int_equal(nodes_count(&T), 2);
	nodes_forget(&T, 31337, 5); /* a node never held: nothing happens */
	assert_int_equal(nodes_count(&T), 2);
}

static void test_rename_moves_the_path(void **state)
{
	struct stat d = attr(8, 0);
	char buf[256];

	(void)state;
	tree();
	assert_int_equal(nodes_ref(&T, 8, ROOT, "rejected", &d), 0);
	nodes_moved(&T, 1000, 8, "y.der");
	assert_int_equal(nodes_path(&T, 1000, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/rejected/y.der");
}

static void test_open_node_keeps_its_attributes(void **state)
{
	struct stat st, changed = attr(1000, 42);

	(void)state;
	tree();
	assert_int_equal(nodes_orphan_attr(&T, 1000, &st), -ENOENT); /* not open */
	nodes_open(&T, 1000);
	changed.st_mode = 0100600;
	nodes_set_attr(&T, 1000, &changed);
	assert_int_equal(nodes_orphan_attr(&T, 1000, &st), 0);
	assert_int_equal(st.st_ino, 1000);
	assert_int_equal(st.st_size, 42);
	assert_int_equal(st.st_mode, 0100600);
	assert_int_equal(st.st_nlink, 0);
	nodes_close(&T, 1000);
	assert_int_equal(nodes_orphan_attr(&T, 1000, &st), -ENOENT);
}

static void test_open_node_outlives_its_forget(void **state)
{
	struct stat st;

	(void)state;
	tree();
	nodes_open(&T, 1000);
	nodes_forget(&T, 1000, 1); /* the kernel dropped the name, a handle is open */
	assert_int_equal(nodes_orphan_attr(&T, 1000, &st), 0);
	assert_int_equal(st.st_size, 42);
	nodes_close(&T, 1000);
	assert_int_equal(nodes_orphan_attr(&T, 1000, &st), -ENOENT);
}

static void test_many_nodes_grow_the_table(void **state)
{
	char buf[256], want[64];

	(void)state;
	tree();
	for (uint64_t i = 0; i < 5000; i++) {
		struct stat f = attr(2000 + i, (off_t)i);
		char name[32];
		snprintf(name, sizeof(name), "f%llu.der", (unsigned long long)i);
		assert_int_equal(nodes_ref(&T, 2000 + i, 7, name, &f), 0);
	}
	assert_int_equal(nodes_count(&T), 5003);
	for (uint64_t i = 0; i < 5000; i += 499) {
		snprintf(want, sizeof(want), "/trusted/certs/f%llu.der", (unsigned long long)i);
		assert_int_equal(nodes_path(&T, 2000 + i, buf, sizeof(buf)), 0);
		assert_string_equal(buf, want);
	}
	for (uint64_t i = 0; i < 5000; i++)
		nodes_forget(&T, 2000 + i, 1);
	assert_int_equal(nodes_count(&T), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_path_is_built_from_parents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_last_forget_frees_the_node, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_moves_the_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_node_keeps_its_attributes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_node_outlives_its_forget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_nodes_grow_the_table, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
