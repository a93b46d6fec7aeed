/*
 * drop.c: files dropped into trusted/ or issuers/ (see drop.h).
 */
#include <stdlib.h>

#include "ctx.h"
#include "drop.h"
#include "inval.h"

/* Pick the folder for bytes written as f/name; audit a refusal. */
enum pk_err drop_route(const struct pk_caller *c, const char *op, enum pk_folder f,
		       const char *name, const void *data, size_t len, enum pk_folder *to,
		       unsigned *flags, struct pk_status *st)
{
	enum pk_err e;

	st->err = PK_OK;
	st->reason[0] = 0;
	e = pk_folder_route(f, data, len, to, st);
	if (e != PK_OK) {
		pk_trust_refused(fs_store(), c, op, f, name, st);
		return e;
	}
	if (*to != f)
		*flags |= PK_DROPPED;
	return PK_OK;
}

/* Pick the folder for stored entry from/fname moved to f/name: its bytes are
 * read only when f is a drop folder; a refusal is a rename's (EPERM). */
enum pk_err drop_route_entry(const struct pk_caller *c, enum pk_folder from, const char *fname,
			     enum pk_folder f, const char *name, enum pk_folder *to,
			     unsigned *flags, struct pk_status *st)
{
	void *data = NULL;
	size_t len = 0;
	enum pk_err e;

	*to = f;
	if (pk_folder_info(f)->content != PK_C_NONE)
		return PK_OK; /* not a drop: nothing to read */
	if (pk_store_read(fs_store(), from, fname, &data, &len, NULL) != PK_OK)
		return pk_fail(st, PK_E_NOENT, "%s/%s does not exist",
			       pk_folder_info(from)->path, fname);
	st->err = PK_OK;
	e = pk_folder_route(f, data, len, to, st);
	free(data);
	if (e != PK_OK && pk_err_rename_errno(e) != pk_err_errno(e))
		e = st->err = PK_E_PERM; /* as any refused rename (status.h) */
	if (e != PK_OK)
		pk_trust_refused(fs_store(), c, "rename", f, name, st);
	else if (*to != f)
		*flags |= PK_DROPPED;
	return e;
}

/* Queue the dropped name for the kernel to forget (inval.c sends it). */
void drop_forget(enum pk_folder f, const char *name)
{
	inval_queue(fs_inval(), f, name);
}
