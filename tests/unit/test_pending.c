/*
 * test_pending.c: files being written and lock directories (fs/pending.h) —
 * the table by folder and name, references, the memory caps, listings.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pending.h"

#define TC PK_F_TRUSTED_CERTS
#define MAX 65536

static struct pending_table T; /* the table under test, fresh for each */

static struct pk_attr attr(uint64_t ino)
{
	struct pk_attr a;

	memset(&a, 0, sizeof(a));
	a.ino = ino;
	a.mode = 0644;
	return a;
}

static struct pending *new_file(const char *name, uint64_t ino)
{
	struct pk_attr a = attr(ino);
	struct pending *p = pending_new(&T, TC, name, &a);

	assert_non_null(p);
	return p;
}

/* Close the caller's handle on p and drop it from the table. */
static void gone(struct pending *p)
{
	pending_unlist(p);
	pending_put(p);
}

static size_t bytes_in_use(void)
{
	size_t b, bm, l, lm;

	pending_usage(&T, &b, &bm, &l, &lm);
	return b;
}

static int setup(void **state)
{
	(void)state;
	pending_init(&T);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	assert_int_equal(T.nrecords, 0); /* each test left nothing behind */
	assert_int_equal(T.bytes_used, 0);
	pending_clear(&T);
	pthread_mutex_destroy(&T.lock);
	return 0;
}

static void test_record_is_found_by_folder_and_name(void **state)
{
	struct pending *p = new_file("x.der", 1000), *q;

	(void)state;
	q = pending_get(&T, TC, "x.der");
	assert_ptr_equal(q, p);
	pending_put(q);
	assert_null(pending_get(&T, TC, "y.der"));
	assert_null(pending_get(&T, PK_F_ISSUERS_CERTS, "x.der"));
	gone(p);
	assert_null(pending_get(&T, TC, "x.der"));
}

static void test_last_handle_closing_unlists_a_file(void **state)
{
	struct pending *p = new_file("x.der", 1000), *q = pending_get(&T, TC, "x.der");

	(void)state;
	assert_false(pending_last_handle(p)); /* two handles */
	pending_release(q);
	assert_true(pending_last_handle(p));
	pending_release(p);
	assert_null(pending_get(&T, TC, "x.der"));
}

static void test_staged_file_outlives_its_close(void **state)
{
	struct pending *p = new_file(".x.der.Ab12Cd", 1000), *q;

	(void)state;
	assert_false(pending_last_handle(p));
	pending_release(p);
	q = pending_get(&T, TC, ".x.der.Ab12Cd");
	assert_non_null(q); /* rsync sets its attributes by path, then renames */
	assert_int_equal(pending_rename(q, TC, "x.der"), 0);
	assert_null(pending_get(&T, TC, ".x.der.Ab12Cd"));
	p = pending_get(&T, TC, "x.der");
	assert_ptr_equal(p, q);
	pending_put(p);
	gone(q);
}

static void test_write_past_the_end_fills_with_zeros(void **state)
{
	struct pending *p = new_file("x.der", 1000);
	static const char zero[4] = {0};

	(void)state;
	pending_lock(&T);
	assert_int_equal(pending_write(p, "ab", 2, 4, MAX), 0);
	pending_unlock(&T);
	assert_int_equal(p->len, 6);
	assert_memory_equal(p->buf, zero, 4);
	assert_memory_equal(p->buf + 4, "ab", 2);
	assert_true(p->written && p->dirty);
	pending_lock(&T);
	assert_int_equal(pending_resize(p, 1, MAX), 0);
	assert_int_equal(pending_write(p, "z", 1, MAX, MAX), -EFBIG);
	assert_int_equal(pending_resize(p, MAX + 1, MAX), -EFBIG);
	assert_int_equal(pending_write(p, "z", 1, SIZE_MAX, MAX), -EFBIG); /* wraps */
	pending_unlock(&T);
	assert_int_equal(p->len, 1);
	gone(p);
	assert_int_equal(bytes_in_use(), 0);
}

static void test_bytes_of_all_files_are_capped(void **state)
{
	struct pending *a = new_file("a.der", 1000), *b = new_file("b.der", 1001);
	char buf[5000];

	(void)state;
	memset(buf, 'x', sizeof(buf));
	pending_set_caps(&T, 8192, SIZE_MAX);
	pending_lock(&T);
	assert_int_equal(pending_write(a, buf, 4096, 0, MAX), 0);
	assert_int_equal(pending_write(b, buf, 4096, 0, MAX), 0);
	assert_int_equal(pending_write(b, buf, 1, 4096, MAX), -ENOSPC);
	pending_unlock(&T);
	assert_int_equal(b->len, 4096); /* the refused write left it as it was */
	pending_drop_buf(a);		/* a refused file gives its room back */
	assert_int_equal(bytes_in_use(), 4096);
	pending_lock(&T);
	assert_int_equal(pending_write(b, buf, 4000, 4096, MAX), 0);
	pending_unlock(&T);
	gone(a);
	gone(b);
	assert_int_equal(bytes_in_use(), 0);
}

static void test_lock_directories_are_unique_and_capped(void **state)
{
	struct pk_attr a = attr(5000);
	struct pending *l1, *l2;
	int err;

	(void)state;
	pending_set_caps(&T, SIZE_MAX, 1);
	l1 = pending_new_lockdir(&T, TC, "x.lock", &a, &err);
	assert_non_null(l1);
	assert_int_equal(err, 0);
	assert_null(pending_new_lockdir(&T, TC, "x.lock", &a, &err));
	assert_int_equal(err, -EEXIST);
	assert_null(pending_new_lockdir(&T, TC, "y.lock", &a, &err));
	assert_int_equal(err, -ENOSPC);
	pending_release(l1); /* mkdir returned: the table holds it alone */
	l1 = pending_get(&T, TC, "x.lock");
	assert_non_null(l1);
	gone(l1); /* rmdir */
	l2 = pending_new_lockdir(&T, TC, "y.lock", &a, &err);
	assert_non_null(l2);
	gone(l2);
}

/* Mark p as holding content, so listings show it. */
static void written(struct pending *p)
{
	pending_lock(&T);
	assert_int_equal(pending_write(p, "x", 1, 0, MAX), 0);
	pending_unlock(&T);
}

static void test_listing_is_in_name_order_and_pages(void **state)
{
	static const char *names[] = {"d.der", "b.der", "e.der", "a.der", "c.der"};
	struct pending *p[5], *staged = new_file(".hidden", 99), *empty = new_file("0.der", 98);
	struct pending_name out[2];
	const char *after = NULL;
	char seen[64] = "", last[256];
	int more = 1;

	(void)state;
	for (int i = 0; i < 5; i++)
		written(p[i] = new_file(names[i], 1000 + (uint64_t)i));
	written(staged);
	while (more) {
		size_t n = pending_names_after(&T, TC, after, out, 2, &more);
		for (size_t i = 0; i < n; i++)
			strncat(seen, out[i].name, 1);
		assert_true(n > 0 || !more);
		if (n) {
			snprintf(last, sizeof(last), "%s", out[n - 1].name);
			after = last;
		}
	}
	/* staged files and files with nothing written are not shown */
	assert_string_equal(seen, "abcde");
	assert_int_equal(pending_names_after(&T, PK_F_ISSUERS_CERTS, NULL, out, 2, &more), 0);
	for (int i = 0; i < 5; i++)
		gone(p[i]);
	gone(staged);
	gone(empty);
}

static void test_two_writers_of_one_name_list_once(void **state)
{
	struct pending *a = new_file("x.der", 1000), *b = new_file("x.der", 1001);
	struct pending_name out[4];
	int more;

	(void)state;
	written(a);
	written(b);
	assert_int_equal(pending_names_after(&T, TC, NULL, out, 4, &more), 1);
	assert_false(more);
	assert_int_equal(out[0].attr.ino, 1001); /* the newest */
	gone(b);
	assert_ptr_equal(pending_get(&T, TC, "x.der"), a);
	pending_put(a);
	gone(a);
}

static void test_many_records_grow_and_shrink_the_table(void **state)
{
	static struct pending *p[3000];
	char name[32];

	(void)state;
	for (int i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "f%04d.der", i);
		p[i] = new_file(name, 10000 + (uint64_t)i);
	}
	for (int i = 0; i < 3000; i += 97) {
		struct pending *q;
		snprintf(name, sizeof(name), "f%04d.der", i);
		q = pending_get(&T, TC, name);
		assert_ptr_equal(q, p[i]);
		pending_put(q);
	}
	for (int i = 0; i < 3000; i++)
		gone(p[i]);
	assert_null(pending_get(&T, TC, "f0000.der"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_record_is_found_by_folder_and_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_last_handle_closing_unlists_a_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_staged_file_outlives_its_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_past_the_end_fills_with_zeros, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bytes_of_all_files_are_capped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_directories_are_unique_and_capped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listing_is_in_name_order_and_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_writers_of_one_name_list_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_records_grow_and_shrink_the_table, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
