/*
 * mounts.c: questions to the mount table (mounts.h), all through one
 * walk of /proc/self/mounts with getmntent_r (which decodes the octal
 * escapes of names).
 */
#include <limits.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mounts.h"

#define PKIFS_TYPE "fuse.pkifs"
#define PKIFS_SOURCE "pkifs:"

/* Call fn on each mount until it returns nonzero: that value, 0 at the end
 * of the table, -1 when it cannot be read. */
static int each_mount(int (*fn)(const struct mntent *m, void *ctx), void *ctx)
{
	FILE *f = setmntent("/proc/self/mounts", "r");
	char buf[3 * PATH_MAX];
	struct mntent m;
	int rc = 0;

	if (!f)
		return -1;
	while (!rc && getmntent_r(f, &m, buf, sizeof(buf)))
		rc = fn(&m, ctx);
	endmntent(f);
	return rc;
}

/* The database a pkifs mount serves, or NULL for another filesystem. */
static const char *pkifs_db(const struct mntent *m)
{
	size_t n = strlen(PKIFS_SOURCE);

	if (strcmp(m->mnt_type, PKIFS_TYPE) || strncmp(m->mnt_fsname, PKIFS_SOURCE, n))
		return NULL;
	return m->mnt_fsname + n;
}

/* What a question looks for, and where the answer goes. */
struct ask {
	const char *key;  /* the path asked about */
	const char *real; /* key resolved by realpath, or NULL */
	char *db, *mp;	  /* answers (either may be NULL) */
	size_t db_size, mp_size, best;
};

static void answer(struct ask *a, const struct mntent *m)
{
	if (a->db)
		snprintf(a->db, a->db_size, "%s", pkifs_db(m));
	if (a->mp)
		snprintf(a->mp, a->mp_size, "%s", m->mnt_dir);
}

static int at_path(const struct mntent *m, void *ctx)
{
	return strcmp(m->mnt_dir, ((struct ask *)ctx)->key) == 0;
}

int mounts_any_at(const char *path)
{
	struct ask a = {.key = path};

	return each_mount(at_path, &a) == 1;
}

static int of_db(const struct mntent *m, void *ctx)
{
	struct ask *a = ctx;
	const char *db = pkifs_db(m);
	char real[PATH_MAX];

	if (!db)
		return 0;
	if (strcmp(db, a->key) && !(a->real && realpath(db, real) && !strcmp(real, a->real)))
		return 0;
	answer(a, m);
	return 1;
}

int mounts_of_db(const char *db, char *mp, size_t size)
{
	char real[PATH_MAX];
	struct ask a = {.key = db, .mp = mp, .mp_size = size};

	a.real = realpath(db, real);
	return each_mount(of_db, &a) == 1 ? 0 : -1;
}

static int db_at(const struct mntent *m, void *ctx)
{
	struct ask *a = ctx;

	if (!pkifs_db(m) || strcmp(m->mnt_dir, a->key))
		return 0;
	answer(a, m);
	return 1;
}

int mounts_db_at(const char *mp, char *db, size_t size)
{
	struct ask a = {.key = mp, .db = db, .db_size = size};

	return each_mount(db_at, &a) == 1 ? 0 : -1;
}

/* Is mountpoint mp the path itself or a folder above it? */
static int covers(const char *mp, const char *path)
{
	size_t n = strlen(mp);

	return strncmp(mp, path, n) == 0 && (path[n] == 0 || path[n] == '/' || n == 1);
}

static int covering(const struct mntent *m, void *ctx)
{
	struct ask *a = ctx;
	size_t n = strlen(m->mnt_dir);

	if (pkifs_db(m) && covers(m->mnt_dir, a->key) && n >= a->best) {
		a->best = n;
		answer(a, m);
	}
	return 0;
}

int mounts_covering(const char *abs, char *db, size_t size, char *mp, size_t mp_size)
{
	struct ask a = {.key = abs, .db = db, .db_size = size, .mp = mp, .mp_size = mp_size};

	return each_mount(covering, &a) == 0 && a.best ? 0 : -1;
}
