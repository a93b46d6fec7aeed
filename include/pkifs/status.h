/*
 * status: the core's own result type.
 *
 * Every core call returns an enum pk_err and, where the caller gives one, fills
 * a struct pk_status with a reason in words. core/ never speaks errno; fs/ alone
 * maps pk_err to errno at the FUSE boundary (pk_err_errno), so the reason a user
 * reads in the audit log and the errno close(2) returns come from one place.
 */
#ifndef PKIFS_STATUS_H
#define PKIFS_STATUS_H

enum pk_err {
	PK_OK = 0,
	PK_E_MALFORMED,	 /* bytes are not a well-formed object (EBADMSG) */
	PK_E_WRONG_KIND, /* well-formed, but not what this folder holds (EINVAL) */
	PK_E_CHAIN,	 /* certificates in one file do not form a chain (EINVAL) */
	PK_E_NOT_CA,	 /* folder takes only CA certificates (EPERM) */
	PK_E_NO_ISSUER,	 /* no CA in the store can have signed it (ENOKEY) */
	PK_E_BAD_SIG,	 /* a candidate CA exists but the signature fails (EKEYREJECTED) */
	PK_E_TOO_BIG,	 /* over the folder's size cap (EFBIG) */
	PK_E_EXISTS,	 /* the name exists (EEXIST) */
	PK_E_NOENT,	 /* no such entry (ENOENT) */
	PK_E_PERM,	 /* refused by policy (EPERM) */
	PK_E_READONLY,	 /* read-only area or store (EROFS) */
	PK_E_NOSPC,	 /* disk full (ENOSPC) */
	PK_E_BUSY,	 /* database locked by another process (EBUSY) */
	PK_E_NOMEM,	 /* out of memory (ENOMEM) */
	PK_E_NAME,	 /* unusable name (EINVAL) */
	PK_E_NAMELEN,	 /* name too long (ENAMETOOLONG) */
	PK_E_SCHEMA,	 /* not a pkifs database, or a newer schema */
	PK_E_IO,	 /* anything else from the database (EIO) */
};

struct pk_status {
	enum pk_err err;
	char reason[256];
};

/* Record err and a printf-style reason in st (st may be NULL); returns err. */
enum pk_err pk_fail(struct pk_status *st, enum pk_err err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A short fixed name of an error ("malformed", "duplicate", ...). */
const char *pk_err_name(enum pk_err err);

/* The errno that the FUSE boundary returns for err (positive). */
int pk_err_errno(enum pk_err err);

/* The same for a refused rename, so that mv prints something true: EPERM
 * where pk_err_errno gives EINVAL, which mv reads as "a subdirectory of
 * itself" (and first retries, as if renameat2's flags were unsupported), and
 * for a duplicate, whose EEXIST mv reads as "cannot overwrite directory". */
int pk_err_rename_errno(enum pk_err err);

#endif
