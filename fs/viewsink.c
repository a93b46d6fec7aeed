/*
 * viewsink.c: writes into the generated views are accepted and dropped.
 *
 * The views are generated, never stored, and a restore ignores them: an
 * `rsync -a` of a backup that holds capath/ and cafile.pem must not fail
 * the whole run on them. So inside the views a temporary file (a dot-name,
 * as rsync's .NAME.XXXXXX) can be made, written, given times and modes, and
 * renamed over a view name, and view names can be "removed" or touched —
 * all without effect on the views, which stay what the store makes them.
 * Anything else is EROFS, logged: a new visible name in capath/ (`cp ca.pem
 * capath/HASH.0`, the c_rehash habit, would otherwise trust nothing and say
 * nothing), opening a view file for writing. Snapshots are EROFS too.
 */
#include <errno.h>
#include <stdio.h>

#include "ctx.h"
#include "viewsink.h"

/* Sink files live in the pending table under a folder id no folder has. */
#define SINK_FOLDER ((enum pk_folder)PK_F_COUNT)

int is_view(const struct node *n)
{
	return n->area == AREA_CAPATH || n->area == AREA_CAFILE;
}

struct pending *sink_get(const struct node *n)
{
	if (n->area != AREA_CAPATH || n->type != NODE_NAME)
		return NULL;
	return pending_get(fs_pending(), SINK_FOLDER, n->name);
}

/* Log op at n as an EROFS refusal, with the path and why it is read-only. */
int sink_refuse(const char *op, const struct node *n)
{
	char path[600];

	if (n->area == AREA_SNAPSHOT) {
		const char *dir = n->folder == PK_F_NONE ? "" : pk_folder_info(n->folder)->path;
		snprintf(path, sizeof(path), "%s/%s%s%s%s%s", path_snapshot_dir, n->snap,
			 *dir ? "/" : "", dir, n->name ? "/" : "", n->name ? n->name : "");
		return fs_refuse(op, PK_F_ROOT, path, PK_E_READONLY, "snapshots are read-only");
	}
	if (n->area == AREA_CAFILE)
		return fs_refuse(op, PK_F_ROOT, path_cafile, PK_E_READONLY,
				 "%s is generated from trusted/ and issuers/", path_cafile);
	snprintf(path, sizeof(path), "%s%s%s", path_capath_dir, n->name ? "/" : "",
		 n->name ? n->name : "");
	return fs_refuse(op, PK_F_ROOT, path, PK_E_READONLY,
			 "%s/ is generated from trusted/ and issuers/: put the certificate in "
			 "trusted/certs (no c_rehash needed)",
			 path_capath_dir);
}

int sink_create(const struct node *n, mode_t mode, struct pending **out)
{
	struct pending *p;

	if (n->area != AREA_CAPATH || n->type != NODE_NAME || n->name[0] != '.')
		return sink_refuse("create", n);
	p = fs_new_pending(SINK_FOLDER, n->name, mode);
	if (!p)
		return -ENOMEM;
	p->staged = 1; /* never committed */
	*out = p;
	return 0;
}

/* Drop the pending record at from, if any; 0 when there was one. */
static int drop(const struct node *from)
{
	struct pending *p = from->area == AREA_LIVE && from->type == NODE_NAME
				    ? pending_get(fs_pending(), from->folder, from->name)
				    : sink_get(from);

	if (!p || !p->staged) {
		if (p)
			pending_put(p);
		return -EROFS;
	}
	pending_unlist(p);
	pending_put(p);
	return 0;
}

int sink_rename(const struct node *from, const struct node *to)
{
	if (to->type != NODE_NAME || drop(from) != 0)
		return sink_refuse("rename", to);
	return 0; /* a staged copy of a view: accepted, dropped */
}

int sink_unlink(const struct node *n)
{
	if (drop(n) == 0)
		return 0;
	return n->type == NODE_NAME ? 0 : -EROFS; /* a view name stays */
}

int sink_setattr(const struct node *n, const struct pk_attr *a, unsigned which)
{
	struct pending *p = sink_get(n);

	if (!p)
		return 0; /* the view keeps its own attributes */
	pending_set_attr(p, a, which);
	pending_put(p);
	return 0;
}
