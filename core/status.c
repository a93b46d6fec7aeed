/*
 * status.c: the core's result codes, their names and their errno.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "pkifs/status.h"

/* One row per error: its name for logs and its errno for the FUSE boundary. */
static const struct {
	const char *name;
	int errnum;
} err_table[] = {
	[PK_OK] = {"ok", 0},
	[PK_E_MALFORMED] = {"malformed", EBADMSG},
	[PK_E_WRONG_KIND] = {"wrong-kind", EINVAL},
	[PK_E_CHAIN] = {"bad-chain", EINVAL},
	[PK_E_NOT_CA] = {"not-a-ca", EPERM},
	[PK_E_NO_ISSUER] = {"unknown-issuer", ENOKEY},
	[PK_E_BAD_SIG] = {"bad-signature", EKEYREJECTED},
	[PK_E_TOO_BIG] = {"too-big", EFBIG},
	[PK_E_EXISTS] = {"exists", EEXIST},
	[PK_E_NOENT] = {"not-found", ENOENT},
	[PK_E_PERM] = {"refused", EPERM},
	[PK_E_READONLY] = {"read-only", EROFS},
	[PK_E_NOSPC] = {"no-space", ENOSPC},
	[PK_E_BUSY] = {"busy", EBUSY},
	[PK_E_NOMEM] = {"no-memory", ENOMEM},
	[PK_E_NAME] = {"bad-name", EINVAL},
	[PK_E_NAMELEN] = {"name-too-long", ENAMETOOLONG},
	[PK_E_SCHEMA] = {"bad-schema", EIO},
	[PK_E_IO] = {"io-error", EIO},
};

#define ERR_COUNT (sizeof(err_table) / sizeof(err_table[0]))

enum pk_err pk_fail(struct pk_status *st, enum pk_err err, const char *fmt, ...)
{
	va_list ap;

	if (!st)
		return err;
	st->err = err;
	va_start(ap, fmt);
	vsnprintf(st->reason, sizeof(st->reason), fmt, ap);
	va_end(ap);
	return err;
}

const char *pk_err_name(enum pk_err err)
{
	if ((unsigned)err >= ERR_COUNT || !err_table[err].name)
		return "unknown";
	return err_table[err].name;
}

int pk_err_errno(enum pk_err err)
{
	if ((unsigned)err >= ERR_COUNT)
		return EIO;
	return err_table[err].errnum;
}

int pk_err_rename_errno(enum pk_err err)
{
	int e = pk_err_errno(err);

	return e == EINVAL ? EPERM : e;
}
