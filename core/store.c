/*
 * store.c: opening, closing and reading the certificate database.
 *
 * One SQLite connection per open store, guarded by one mutex: every public
 * call takes it, so the daemon's FUSE threads may call in concurrently. WAL
 * mode lets other processes (pkifs log, backups) read while the daemon writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "store_int.h"
#include "schema.sql.h"

int64_t pk_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

enum pk_err pk_sql_fail(struct pk_store *s, int rc, struct pk_status *st)
{
	const char *msg = s && s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);

	switch (rc & 0xff) {
	case SQLITE_FULL:
		return pk_fail(st, PK_E_NOSPC, "database disk is full: %s", msg);
	case SQLITE_READONLY:
		return pk_fail(st, PK_E_READONLY, "database is read-only: %s", msg);
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return pk_fail(st, PK_E_BUSY, "database is locked by another process: %s", msg);
	case SQLITE_NOMEM:
		return pk_fail(st, PK_E_NOMEM, "out of memory: %s", msg);
	case SQLITE_NOTADB:
		return pk_fail(st, PK_E_SCHEMA, "not a pkifs database: %s", msg);
	default:
		return pk_fail(st, PK_E_IO, "database error: %s", msg);
	}
}

sqlite3_stmt *pk_stmt(struct pk_store *s, enum stmt_id id)
{
	sqlite3_stmt *q = s->stmt[id];

	if (!q) {
		if (sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &q,
				       NULL) != SQLITE_OK)
			return NULL;
		s->stmt[id] = q;
	}
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return q;
}

/* A single-value pragma or query, as an integer (-1 on error). */
int64_t pk_query_int(struct pk_store *s, const char *sql)
{
	sqlite3_stmt *q;
	int64_t v = -1;

	if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return v;
}

/* The fixed folders' rows that are missing (all in a new database; the
 * certificate groups' in one made before them, where each snapshot gets
 * them as empty folders of its time). */
static int add_folder_rows(struct pk_store *s)
{
	char sql[256];
	int64_t now = pk_now_ns();
	int rc = SQLITE_OK;

	for (int f = 0; rc == SQLITE_OK && f < PK_F_COUNT; f++) {
		snprintf(sql, sizeof(sql),
			 "INSERT OR IGNORE INTO dir VALUES(%d, %u, %u, %u, %lld, %lld);"
			 "INSERT OR IGNORE INTO snapshot_dir SELECT name, %d, %u, %u, %u,"
			 " time, time FROM snapshot",
			 f, pk_folder_info(f)->dir_mode, (unsigned)getuid(), (unsigned)getgid(),
			 (long long)now, (long long)now, f, pk_folder_info(f)->dir_mode,
			 (unsigned)getuid(), (unsigned)getgid());
		rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	}
	return rc;
}

/* Add the folder rows a store made by an older pkifs lacks, in one
 * transaction. */
static enum pk_err upgrade_folders(struct pk_store *s, struct pk_status *st)
{
	int rc;

	if (pk_query_int(s, "SELECT count(*) FROM dir") >= PK_F_COUNT)
		return PK_OK;
	rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = add_folder_rows(s);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		enum pk_err e = pk_sql_fail(s, rc, st);
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return e;
	}
	return PK_OK;
}

/* Create the schema and the fixed folders' rows in a new database. */
static enum pk_err create_schema(struct pk_store *s, struct pk_status *st)
{
	char sql[160];
	int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, schema_sql, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = add_folder_rows(s);
	if (rc == SQLITE_OK) {
		snprintf(sql, sizeof(sql),
			 "PRAGMA application_id = %d; PRAGMA user_version = %d; COMMIT",
			 PK_APPLICATION_ID, PK_SCHEMA_VERSION);
		rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	}
	if (rc != SQLITE_OK) {
		enum pk_err e = pk_sql_fail(s, rc, st);
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return e;
	}
	return PK_OK;
}

/* Bring an older store up to this schema, in place, in one transaction.
 * Foreign keys are off while tables are rebuilt (a pragma that cannot
 * change inside a transaction). */
static enum pk_err upgrade_schema(struct pk_store *s, struct pk_status *st)
{
	enum pk_err e = PK_OK;
	int rc = sqlite3_exec(s->db, "PRAGMA foreign_keys = OFF; BEGIN IMMEDIATE", NULL, NULL,
			      NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, upgrade_v2_sql, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		e = pk_sql_fail(s, rc, st);
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	}
	sqlite3_exec(s->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
	return e;
}

/* Check the file is ours and not newer; create the schema in an empty one,
 * upgrade an older one unless it is opened for reading only. */
static enum pk_err check_schema(struct pk_store *s, int create, int readonly,
				struct pk_status *st)
{
	int64_t tables = pk_query_int(s, "SELECT count(*) FROM sqlite_master");
	int64_t app = pk_query_int(s, "PRAGMA application_id");
	int64_t ver = pk_query_int(s, "PRAGMA user_version");
	enum pk_err e;

	if (tables < 0)
		return pk_fail(st, PK_E_SCHEMA, "not a pkifs database (%s)",
			       sqlite3_errmsg(s->db));
	if (tables == 0 && create)
		return create_schema(s, st);
	if (tables == 0 || app != PK_APPLICATION_ID)
		return pk_fail(st, PK_E_SCHEMA, "not a pkifs database");
	if (ver > PK_SCHEMA_VERSION)
		return pk_fail(st, PK_E_SCHEMA,
			       "database schema %lld is newer than this pkifs (%d)",
			       (long long)ver, PK_SCHEMA_VERSION);
	if (readonly)
		return PK_OK;
	e = ver < PK_SCHEMA_VERSION ? upgrade_schema(s, st) : PK_OK;
	return e == PK_OK ? upgrade_folders(s, st) : e;
}

/* Create a missing database file with mode 0600 before SQLite opens it. */
static enum pk_err ensure_file(const char *path, const struct pk_store_opts *o,
			       struct pk_status *st)
{
	int fd = open(path, o->create ? O_RDONLY | O_CREAT | O_CLOEXEC : O_RDONLY | O_CLOEXEC,
		      0600);

	if (fd < 0)
		return pk_fail(st, errno == EACCES ? PK_E_PERM : PK_E_IO,
			       "cannot open database %s: %s", path, strerror(errno));
	close(fd);
	return PK_OK;
}

/* Connection settings: WAL, enforced foreign keys (an entry never names a
 * missing blob), a bounded wait for other processes' locks, a 2 MiB page
 * cache (the OS caches the file; the daemon's peak RSS at 100k entries
 * must stay under 32 MiB). */
static enum pk_err configure(struct pk_store *s, struct pk_status *st)
{
	int rc;

	sqlite3_busy_timeout(s->db, 2000);
	sqlite3_extended_result_codes(s->db, 0);
	rc = sqlite3_exec(s->db,
			  "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
			  " PRAGMA foreign_keys = ON; PRAGMA cache_size = -2048;",
			  NULL, NULL, NULL);
	if (rc != SQLITE_OK && rc != SQLITE_READONLY)
		return pk_sql_fail(s, rc, st);
	return PK_OK;
}

void pk_load_counters(struct pk_store *s)
{
	/* the last generation is the newest one any row records: not stored
	 * apart, so a commit writes one page less */
	int64_t gen = pk_query_int(s, "SELECT max(coalesce((SELECT max(gen) FROM audit), 0),"
				      " coalesce((SELECT max(born) FROM entry), 0),"
				      " coalesce((SELECT max(died) FROM entry), 0))");
	int64_t ino = pk_query_int(s, "SELECT max(ino) FROM entry");

	s->gen = gen > 0 ? (uint64_t)gen : 0;
	s->next_ino = ino >= PK_FIRST_INO ? (uint64_t)ino + 1 : PK_FIRST_INO;
	s->data_version = pk_query_int(s, "PRAGMA data_version");
}

/* Is the database on a read-only filesystem? Then it is opened immutable
 * (no WAL index can be made there): reads are served, writes are EROFS. */
static int on_readonly_fs(const char *path)
{
	struct statvfs sv;

	return statvfs(path, &sv) == 0 && (sv.f_flag & ST_RDONLY);
}

enum pk_err pk_store_open(const char *path, const struct pk_store_opts *o,
			  struct pk_store **out, struct pk_status *st)
{
	struct pk_store *s = calloc(1, sizeof(*s));
	int immutable = on_readonly_fs(path), ro = o->readonly || immutable;
	int flags = ro ? SQLITE_OPEN_READONLY | SQLITE_OPEN_URI : SQLITE_OPEN_READWRITE;
	char *uri = immutable ? sqlite3_mprintf("file:%s?immutable=1", path) : NULL;
	enum pk_err e;

	if (!s)
		return pk_fail(st, PK_E_NOMEM, "out of memory");
	s->limits = o->limits;
	pthread_mutex_init(&s->lock, NULL);
	e = ro ? PK_OK : ensure_file(path, o, st);
	if (e == PK_OK && sqlite3_open_v2(uri ? uri : path, &s->db, flags | SQLITE_OPEN_NOMUTEX,
					  NULL) != SQLITE_OK)
		e = pk_fail(st, PK_E_IO, "cannot open database %s: %s", path,
			    s->db ? sqlite3_errmsg(s->db) : "out of memory");
	sqlite3_free(uri);
	if (e == PK_OK)
		e = configure(s, st);
	if (e == PK_OK)
		e = check_schema(s, o->create && !o->readonly, ro, st);
	if (e != PK_OK) {
		pk_store_close(s);
		return e;
	}
	pk_load_counters(s);
	*out = s;
	return PK_OK;
}

void pk_store_close(struct pk_store *s)
{
	if (!s)
		return;
	for (int i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->lock);
	free(s->changed);
	free(s->gc);
	for (size_t i = 0; i < s->n_deferred; i++)
		free(s->deferred[i]);
	free(s);
}

void pk_store_on_change(struct pk_store *s, pk_changed_fn fn, void *ctx)
{
	s->changed_fn = fn;
	s->changed_ctx = ctx;
}

const struct pk_limits *pk_store_limits(const struct pk_store *s)
{
	return &s->limits;
}

uint64_t pk_store_new_ino(struct pk_store *s)
{
	uint64_t ino;

	pthread_mutex_lock(&s->lock);
	if (!s->in_tx) /* a restore by the CLI may have used numbers since */
		pk_catch_up(s);
	ino = s->next_ino++;
	pthread_mutex_unlock(&s->lock);
	return ino;
}

uint64_t pk_store_generation(struct pk_store *s)
{
	uint64_t g;

	pthread_mutex_lock(&s->lock);
	g = s->gen;
	pthread_mutex_unlock(&s->lock);
	return g;
}

enum pk_err pk_store_sync(struct pk_store *s)
{
	int rc;

	pthread_mutex_lock(&s->lock);
	rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	pthread_mutex_unlock(&s->lock);
	return rc == SQLITE_OK || rc == SQLITE_BUSY ? PK_OK : pk_sql_fail(s, rc, NULL);
}
