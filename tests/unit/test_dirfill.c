/*
 * test_dirfill.c: directory listings one kernel buffer at a time
 * (fs/dirfill.h). A listing is read in pages of a few entries while names
 * come and go between the pages: a name that stayed throughout is given
 * exactly once, in name order, and no name is given twice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dirfill.h"

#define NAMES 400

/* The kernel's side: one page of at most room entries. */
struct page {
	int room, n;
	char names[64][32];
	off_t offs[64];
};

static int fill(void *buf, const char *name, const struct stat *st, off_t off, int plus)
{
	struct page *pg = buf;

	(void)st;
	(void)plus;
	if (pg->n == pg->room)
		return 1;
	snprintf(pg->names[pg->n], sizeof(pg->names[0]), "%s", name);
	pg->offs[pg->n++] = off;
	return 0;
}

/* The folder: names present[i] of "f%03d". */
static int present[NAMES];

/* One readdir at off, as fs_readdir makes it: dots, then the names after
 * the resume point. */
static void read_page(struct handle *h, off_t off, struct page *pg)
{
	struct dir_fill d;
	struct stat st = {.st_mode = 0100644};
	const char *after;
	char name[32];

	pg->n = 0;
	dir_fill_init(&d, pg, fill, 1, off, h);
	if (dir_fill_dots(&d, NULL, 7, 6))
		return;
	after = dir_fill_resume(&d);
	for (int i = 0; i < NAMES; i++) {
		snprintf(name, sizeof(name), "f%03d", i);
		if (!present[i] || (after && strcmp(name, after) <= 0))
			continue;
		if (dir_fill_stored(&d, name, &st))
			return;
	}
}

/* List the folder whole in pages of room entries; between pages, churn()
 * changes it. Counts of each name given into seen. */
static void list_all(int room, void (*churn)(int page), int *seen, int *dots)
{
	struct handle h = {0};
	struct page pg = {.room = room};
	off_t off = 0;

	for (int page = 0;; page++) {
		read_page(&h, off, &pg);
		if (pg.n == 0)
			break;
		for (int i = 0; i < pg.n; i++) {
			if (pg.names[i][0] == '.')
				(*dots)++;
			else
				seen[atoi(pg.names[i] + 1)]++;
			assert_true(pg.offs[i] > off); /* offsets only grow */
		}
		off = pg.offs[pg.n - 1];
		if (churn)
			churn(page);
	}
	dir_fill_free(&h);
}

static void fill_folder(int every)
{
	for (int i = 0; i < NAMES; i++)
		present[i] = i % every == 0;
}

static void test_pages_give_every_name_once(void **state)
{
	int seen[NAMES] = {0}, dots = 0;

	(void)state;
	fill_folder(1);
	list_all(7, NULL, seen, &dots);
	assert_int_equal(dots, 2);
	for (int i = 0; i < NAMES; i++)
		assert_int_equal(seen[i], 1);
}

/* Between pages: a flood of new names and removals all over the folder. */
static void churn(int page)
{
	for (int i = page % 3; i < NAMES; i += 5)
		if (i % 2) /* odd names come and go; even ones stay */
			present[i] = !present[i];
}

static void test_names_that_come_and_go_never_repeat_a_name(void **state)
{
	int seen[NAMES] = {0}, dots = 0;

	(void)state;
	fill_folder(1);
	list_all(5, churn, seen, &dots);
	assert_int_equal(dots, 2);
	for (int i = 0; i < NAMES; i++) {
		assert_true(seen[i] <= 1);
		if (i % 2 == 0) /* present throughout */
			assert_int_equal(seen[i], 1);
	}
}

static void test_rewind_lists_from_the_first(void **state)
{
	struct handle h = {0};
	struct page a = {.room = 10}, b = {.room = 10};

	(void)state;
	fill_folder(2);
	read_page(&h, 0, &a);
	read_page(&h, a.offs[a.n - 1], &b);
	assert_string_not_equal(a.names[2], b.names[0]);
	read_page(&h, 0, &b); /* rewinddir */
	assert_int_equal(b.n, a.n);
	for (int i = 0; i < a.n; i++)
		assert_string_equal(a.names[i], b.names[i]);
	dir_fill_free(&h);
}

static void test_partial_page_goes_on_after_the_last_taken(void **state)
{
	struct handle h = {0};
	struct page a = {.room = 10}, b = {.room = 10};

	(void)state;
	fill_folder(1);
	read_page(&h, 0, &a);
	/* the reader's buffer took only the first four of the ten */
	read_page(&h, a.offs[3], &b);
	assert_string_equal(b.names[0], a.names[4]);
	dir_fill_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pages_give_every_name_once),
		cmocka_unit_test(test_names_that_come_and_go_never_repeat_a_name),
		cmocka_unit_test(test_rewind_lists_from_the_first),
		cmocka_unit_test(test_partial_page_goes_on_after_the_last_taken),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
