/*
 * schema.sql.h: the store's schema, version 2. Included by store.c only.
 *
 * blob:  content-addressed bytes with the metadata parsed from them; kind is
 *        enum pk_kind. Ids are never reused (AUTOINCREMENT): a row that
 *        still named a deleted blob could otherwise come to hold another
 *        file's bytes. Partial indexes serve the lookups the rules and the
 *        generated views make: by thumbprint (duplicates), by public key
 *        (key/certificate pairing), by subject hash (CApath, a CRL's CA).
 * entry: a name in a folder. born/died are generations; the live tree is
 *        died IS NULL, the tree at generation g is born <= g < died.
 *        Changing an entry ends its row and starts a new one with the same
 *        ino, so history keeps every version. Its blob is a foreign key,
 *        enforced (PRAGMA foreign_keys = ON on every connection).
 * dir:   the fixed folders' own attributes.
 * audit: one row per operation, accepted or refused.
 * snapshot: named generations (taken by snapshot/ and the CLI), with the
 *        folders' attributes as they were (snapshot_dir).
 * setting: what the daemon was mounted with that `pkifs check` needs to
 *        judge the store (max_rejected).
 *
 * Version 1 had blob ids that could be reused, no enforced foreign keys and
 * no setting table: upgrade_v2_sql rebuilds what differs, in place.
 */
#define PK_APPLICATION_ID 0x706b6673 /* "pkfs" */
#define PK_SCHEMA_VERSION 2

#define PK_BLOB_COLUMNS                                                                        \
	"(id INTEGER PRIMARY KEY AUTOINCREMENT, sha256 BLOB NOT NULL UNIQUE,"                  \
	" data BLOB NOT NULL, kind INTEGER NOT NULL, thumb TEXT, pubkey BLOB,"                 \
	" subject_hash INTEGER, issuer_hash INTEGER, is_ca INTEGER NOT NULL,"                  \
	" self_signed INTEGER NOT NULL, subject TEXT, issuer TEXT, serial TEXT,"               \
	" not_before INTEGER, not_after INTEGER, key_cert_sign INTEGER NOT NULL,"              \
	" encrypted INTEGER NOT NULL)"
#define PK_BLOB_INDEXES                                                                        \
	"CREATE INDEX blob_thumb ON blob(thumb) WHERE thumb IS NOT NULL;"                      \
	"CREATE INDEX blob_pubkey ON blob(pubkey) WHERE pubkey IS NOT NULL;"                   \
	"CREATE INDEX blob_subject_hash ON blob(subject_hash) WHERE kind = " SQL_KIND_CERT ";" \
	"CREATE INDEX blob_issuer_hash ON blob(issuer_hash) WHERE kind = " SQL_KIND_CRL ";"
#define PK_SNAPSHOT_DIR_COLUMNS                                                                \
	"(snapshot TEXT NOT NULL REFERENCES snapshot(name) ON DELETE CASCADE,"                 \
	" folder INTEGER NOT NULL, mode INTEGER NOT NULL, uid INTEGER NOT NULL,"               \
	" gid INTEGER NOT NULL, mtime INTEGER NOT NULL, ctime INTEGER NOT NULL,"               \
	" PRIMARY KEY(snapshot, folder)) WITHOUT ROWID"
#define PK_SETTING_TABLE "CREATE TABLE setting(key TEXT PRIMARY KEY, value) WITHOUT ROWID;"

static const char schema_sql[] =
	"CREATE TABLE blob" PK_BLOB_COLUMNS ";" PK_BLOB_INDEXES
	"CREATE TABLE entry(id INTEGER PRIMARY KEY, ino INTEGER NOT NULL,"
	" folder INTEGER NOT NULL, name TEXT NOT NULL,"
	" blob INTEGER NOT NULL REFERENCES blob(id), size INTEGER NOT NULL,"
	" mode INTEGER NOT NULL, uid INTEGER NOT NULL, gid INTEGER NOT NULL,"
	" mtime INTEGER NOT NULL, ctime INTEGER NOT NULL,"
	" born INTEGER NOT NULL, died INTEGER);"
	"CREATE UNIQUE INDEX entry_live ON entry(folder, name) WHERE died IS NULL;"
	"CREATE INDEX entry_blob ON entry(blob);"
	"CREATE INDEX entry_name ON entry(folder, name, born);"
	"CREATE INDEX entry_ino ON entry(ino);"
	"CREATE TABLE dir(folder INTEGER PRIMARY KEY, mode INTEGER NOT NULL,"
	" uid INTEGER NOT NULL, gid INTEGER NOT NULL, mtime INTEGER NOT NULL,"
	" ctime INTEGER NOT NULL);"
	"CREATE TABLE audit(id INTEGER PRIMARY KEY, time INTEGER NOT NULL,"
	" gen INTEGER NOT NULL, op TEXT NOT NULL, path TEXT, path2 TEXT,"
	" thumb TEXT, uid INTEGER, pid INTEGER, comm TEXT, outcome TEXT NOT NULL,"
	" errno INTEGER, reason TEXT);"
	"CREATE INDEX audit_time ON audit(time);"
	"CREATE TABLE snapshot(name TEXT PRIMARY KEY, gen INTEGER NOT NULL,"
	" time INTEGER NOT NULL);"
	"CREATE TABLE snapshot_dir" PK_SNAPSHOT_DIR_COLUMNS ";" PK_SETTING_TABLE;

/* Version 1 -> 2, run with foreign keys off inside one transaction (the
 * usual rebuild: new table, copy, drop, rename). The blob sequence starts
 * past every id a row still names, so a lost blob's id is never handed out
 * again; rows whose blob is gone stay for `pkifs check --repair`. */
static const char upgrade_v2_sql[] =
	"CREATE TABLE blob_v2" PK_BLOB_COLUMNS ";"
	"INSERT INTO blob_v2 SELECT * FROM blob;"
	"DROP TABLE blob;"
	"ALTER TABLE blob_v2 RENAME TO blob;" PK_BLOB_INDEXES
	"DELETE FROM sqlite_sequence WHERE name = 'blob';"
	"INSERT INTO sqlite_sequence(name, seq) VALUES('blob',"
	" max(coalesce((SELECT max(id) FROM blob), 0),"
	" coalesce((SELECT max(blob) FROM entry), 0)));"
	"CREATE TABLE snapshot_dir_v2" PK_SNAPSHOT_DIR_COLUMNS ";"
	"INSERT INTO snapshot_dir_v2 SELECT * FROM snapshot_dir"
	" WHERE snapshot IN (SELECT name FROM snapshot);"
	"DROP TABLE snapshot_dir;"
	"ALTER TABLE snapshot_dir_v2 RENAME TO snapshot_dir;" PK_SETTING_TABLE
	"PRAGMA user_version = 2;";

/* Statements, by enum stmt_id (store_int.h). */
static const char *const stmt_sql[Q_COUNT] = {
	[Q_ENTRY_LOOKUP] = "SELECT ino, mode, uid, gid, mtime, ctime, size, blob FROM entry"
			   " WHERE folder = ?1 AND name = ?2 AND died IS NULL",
	[Q_ENTRY_READ] = "SELECT e.ino, e.mode, e.uid, e.gid, e.mtime, e.ctime,"
			 " e.size, b.data, e.blob FROM entry e JOIN blob b ON b.id = e.blob"
			 " WHERE e.folder = ?1 AND e.name = ?2 AND e.died IS NULL",
	/* names after ?2 ("": all), so a listing can go on where it stopped */
	[Q_ENTRY_LIST] = "SELECT name, ino, mode, uid, gid, mtime, ctime, size"
			 " FROM entry WHERE folder = ?1 AND died IS NULL AND name > ?2"
			 " ORDER BY name",
	[Q_ENTRY_KILL] = "UPDATE entry SET died = ?3 WHERE folder = ?1 AND name = ?2"
			 " AND died IS NULL",
	[Q_ENTRY_INSERT] = "INSERT INTO entry(ino, folder, name, blob, size, mode,"
			   " uid, gid, mtime, ctime, born)"
			   " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	/* CROSS JOIN: look the blob up by its index first, never scan a folder */
	[Q_ENTRY_BY_THUMB] = "SELECT e.name FROM blob b CROSS JOIN entry e ON e.blob = b.id"
			     " WHERE b.thumb = ?2 AND e.folder = ?1 AND e.died IS NULL"
			     " AND b.kind = " SQL_KIND_CERT " AND e.name <> ?3 LIMIT 1",
	[Q_ENTRY_BY_PUBKEY] = "SELECT e.name FROM blob b CROSS JOIN entry e ON e.blob = b.id"
			      " WHERE b.pubkey = ?2 AND e.folder = ?1 AND e.died IS NULL"
			      " LIMIT 1",
	[Q_ENTRY_COUNT] = "SELECT count(*) FROM entry WHERE folder = ?1 AND died IS NULL",
	[Q_ENTRY_OLDEST] = "SELECT name FROM entry WHERE folder = ?1 AND died IS NULL"
			   " ORDER BY mtime, id LIMIT 1",
	[Q_BLOB_FIND] = "SELECT id FROM blob WHERE sha256 = ?1",
	[Q_BLOB_INSERT] = "INSERT INTO blob(sha256, data, kind, thumb, pubkey,"
			  " subject_hash, issuer_hash, is_ca, self_signed, subject,"
			  " issuer, serial, not_before, not_after, key_cert_sign, encrypted)"
			  " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
			  " ?14, ?15, ?16)",
	[Q_BLOB_DATA] = "SELECT data FROM blob WHERE id = ?1",
	[Q_BLOB_META] = "SELECT kind, thumb, pubkey, subject_hash, issuer_hash, is_ca,"
			" key_cert_sign, self_signed, encrypted, subject, issuer, serial,"
			" not_before, not_after FROM blob WHERE id = ?1",
	[Q_CA_BY_HASH] =
		"SELECT b.data, e.folder, e.name FROM blob b"
		" CROSS JOIN entry e ON e.blob = b.id WHERE b.subject_hash = ?1"
		" AND b.kind = " SQL_KIND_CERT " AND e.died IS NULL AND e.folder IN (?2, ?3)",
	[Q_DIR_GET] = "SELECT mode, uid, gid, mtime, ctime FROM dir WHERE folder = ?1",
	[Q_DIR_TOUCH] = "UPDATE dir SET mtime = ?2, ctime = ?2 WHERE folder = ?1",
	[Q_DIR_SET] = "UPDATE dir SET mode = ?2, uid = ?3, gid = ?4, mtime = ?5,"
		      " ctime = ?6 WHERE folder = ?1",
	/* the tree at generation ?2 (snapshots): born <= g < died */
	[Q_SNAP_GET] = "SELECT gen, time FROM snapshot WHERE name = ?1",
	[Q_SNAP_ENTRY] = "SELECT ino, mode, uid, gid, mtime, ctime, size, blob FROM entry"
			 " WHERE folder = ?1 AND name = ?3 AND born <= ?2"
			 " AND (died IS NULL OR died > ?2)",
	/* names after ?3 ("": all), so a listing can go on where it stopped */
	[Q_SNAP_ENTRIES] = "SELECT ino, mode, uid, gid, mtime, ctime, size, name FROM entry"
			   " WHERE folder = ?1 AND name > ?3 AND born <= ?2"
			   " AND (died IS NULL OR died > ?2) ORDER BY name",
	[Q_SNAP_DIR] = "SELECT 0, mode, uid, gid, mtime, ctime, 0 FROM snapshot_dir"
		       " WHERE snapshot = ?1 AND folder = ?2",
	[Q_ENTRY_FORGET] = "DELETE FROM entry WHERE folder = ?1 AND name = ?2 AND died = ?3"
			   " AND NOT EXISTS (SELECT 1 FROM snapshot p WHERE p.gen >= entry.born"
			   " AND p.gen < entry.died) RETURNING blob",
	[Q_BLOB_FORGET] = "DELETE FROM blob WHERE id = ?1 AND NOT EXISTS"
			  " (SELECT 1 FROM entry WHERE blob = ?1)",
	[Q_DATA_VERSION] = "PRAGMA data_version", /* moves when another process commits */
	[Q_AUDIT_INSERT] = "INSERT INTO audit(time, gen, op, path, path2, thumb, uid,"
			   " pid, comm, outcome, errno, reason)"
			   " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
};
