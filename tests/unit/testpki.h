/*
 * testpki.h: the unit tests' access to the test PKI that
 * scripts/gen-test-pki.sh made (directory in PKIFS_TEST_PKI). Include after
 * cmocka.h.
 */
#ifndef PKIFS_TESTPKI_H
#define PKIFS_TESTPKI_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* The test PKI directory. */
static inline const char *test_pki_dir(void)
{
	const char *d = getenv("PKIFS_TEST_PKI");
	return d ? d : "build/testpki";
}

/* The bytes of a test PKI file (malloc'd, one spare byte), length in *len. */
static inline void *test_pki_file(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	void *buf;

	snprintf(path, sizeof(path), "%s/%s", test_pki_dir(), name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	rewind(f);
	buf = malloc(*len + 1);
	assert_int_equal(fread(buf, 1, *len, f), *len);
	fclose(f);
	return buf;
}

/* Remove a test store and its WAL files. */
static inline void test_rm_db(const char *path)
{
	char p[4096];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

#endif
