/*
 * store_int.h: what the core's modules share about an open store. Not part
 * of the interface: fs/ sees only include/pkifs/.
 */
#ifndef PKIFS_STORE_INT_H
#define PKIFS_STORE_INT_H

#include <pthread.h>
#include <sqlite3.h>

#include "pkifs/replica.h"
#include "pkifs/store.h"

/* enum pk_kind's numbers as SQL text: "b.kind = " SQL_KIND_CERT. Not a bound
 * parameter: SQLite uses a partial index (WHERE kind = 2) only for a query
 * whose WHERE says the same constant. */
#define SQL_NUM_(x)   #x
#define SQL_NUM(x)    SQL_NUM_(x)
#define SQL_KIND_CERT SQL_NUM(PK_KIND_CERT_ID)
#define SQL_KIND_CRL  SQL_NUM(PK_KIND_CRL_ID)

enum stmt_id {
	Q_ENTRY_LOOKUP,
	Q_ENTRY_READ,
	Q_ENTRY_LIST,
	Q_ENTRY_KILL,
	Q_ENTRY_INSERT,
	Q_ENTRY_BY_THUMB,
	Q_ENTRY_BY_PUBKEY,
	Q_ENTRY_COUNT,
	Q_ENTRY_OLDEST,
	Q_BLOB_FIND,
	Q_BLOB_INSERT,
	Q_BLOB_DATA,
	Q_BLOB_META,
	Q_CA_BY_HASH,
	Q_DIR_GET,
	Q_DIR_TOUCH,
	Q_DIR_SET,
	Q_AUDIT_INSERT,
	Q_ENTRY_FORGET,
	Q_SNAP_GET,
	Q_SNAP_ENTRY,
	Q_SNAP_ENTRIES,
	Q_SNAP_DIR,
	Q_BLOB_FORGET,
	Q_DATA_VERSION,
	Q_COUNT
};

struct pk_store {
	sqlite3 *db;
	pthread_mutex_t lock;
	sqlite3_stmt *stmt[Q_COUNT];
	struct pk_limits limits;
	uint64_t gen; /* last committed generation */
	uint64_t next_ino;
	int64_t data_version; /* PRAGMA data_version when the counters were read */
	int in_tx;
	struct pk_replicator repl; /* commit NULL: not in a fleet */
	pk_changed_fn changed_fn;
	void *changed_ctx;
	/* names and folders the running transaction changed */
	struct changed {
		enum pk_folder f;
		char *name;
	} * changed;
	size_t n_changed, cap_changed;
	/* blobs whose rows the running transaction deleted: collected at
	 * commit, after its inserts, if nothing names them any more */
	int64_t *gc;
	size_t n_gc, cap_gc;
	/* refusals not yet in the audit log (audit_int.h): audit.c keeps
	 * them, each one malloc'd block */
	struct pk_audit_deferred *deferred[32];
	size_t n_deferred;
};

/* A prepared statement, reset and with bindings cleared. */
sqlite3_stmt *pk_stmt(struct pk_store *s, enum stmt_id id);

/* Map an SQLite result code to a pk_err with a reason. */
enum pk_err pk_sql_fail(struct pk_store *s, int rc, struct pk_status *st);

/* Transactions: begin bumps the generation; rollback restores it. */
enum pk_err pk_tx_begin(struct pk_store *s, struct pk_status *st);
enum pk_err pk_tx_commit(struct pk_store *s, struct pk_status *st);
void pk_tx_rollback(struct pk_store *s);

/* A single-value pragma or query, as an integer (-1 on error). */
int64_t pk_query_int(struct pk_store *s, const char *sql);

/* Catch up with what another process (the CLI's restore, snapshot) has
 * committed since the counters were read: the generation and inode counters
 * move past its, and the listener hears what it changed. 1 if it had. Not
 * inside a transaction; the store's lock held. */
int pk_catch_up(struct pk_store *s);

/* Read the generation counter and the next free inode number from the rows
 * (at open, and again after another process committed). */
void pk_load_counters(struct pk_store *s);

/* Note that the running transaction deleted a row naming blob id; the
 * commit deletes the blob if no row names it then (0, or -1 out of memory). */
int pk_gc_note(struct pk_store *s, int64_t blob);

/* Fill a from columns col.. of q: ino, mode, uid, gid, mtime, ctime, size. */
void pk_row_attr(sqlite3_stmt *q, int col, struct pk_attr *a);

/* pk_store_list_after with the store's lock held. */
enum pk_err pk_entry_list_locked(struct pk_store *s, enum pk_folder f, const char *after,
				 pk_list_fn fn, void *ctx);

/* Wall-clock time in nanoseconds. */
int64_t pk_now_ns(void);

/* Remember that the transaction changed f/name, or with name NULL the
 * content of folder f, for the listener (pk_changed_fn). */
void pk_note_changed(struct pk_store *s, enum pk_folder f, const char *name);

#endif
