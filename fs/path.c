/*
 * path.c: path resolution for the mount (see path.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "path.h"
#include "pkifs/audit.h"

/* Aliases: other spellings of a folder that stacks use. */
static const struct {
	enum pk_folder parent;
	const char *leaf;
	enum pk_folder target;
} aliases[] = {
	{PK_F_ROOT, "issuer", PK_F_ISSUERS},	 /* OPC UA Part 12, UA-.NET */
	{PK_F_REJECTED, "certs", PK_F_REJECTED}, /* Part 12, UA-.NET, open62541 */
};

/* The folder under parent named leaf[0..len); aliases only when allowed
 * (an alias is never followed twice: rejected/certs/certs is nothing). */
static enum pk_folder child_of(enum pk_folder parent, const char *leaf, size_t len,
			       int *via_alias)
{
	char name[32];

	if (len >= sizeof(name))
		return PK_F_NONE;
	memcpy(name, leaf, len);
	name[len] = 0;
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (!*via_alias && aliases[i].parent == parent &&
		    strcmp(aliases[i].leaf, name) == 0) {
			*via_alias = 1;
			return aliases[i].target;
		}
	return pk_folder_child(parent, name);
}

enum path_layout path_layout = LAYOUT_NODE_OPCUA;

int path_layout_parse(const char *value)
{
	static const char *const names[] = {"node-opcua", "part12", "both"};

	for (int i = 0; i < 3; i++)
		if (!strcmp(value, names[i])) {
			path_layout = (enum path_layout)i;
			return 0;
		}
	return -1;
}

/* Do listings show the other spellings (issuer/, rejected/certs/)? */
static int alias_listed(void)
{
	return path_layout != LAYOUT_NODE_OPCUA;
}

/* Do listings show fixed folder c under its own name? */
static int real_listed(enum pk_folder c)
{
	return path_layout != LAYOUT_PART12 || c != PK_F_ISSUERS;
}

int path_lists_names(enum pk_folder f, int via_alias)
{
	return path_layout != LAYOUT_PART12 || f != PK_F_REJECTED || via_alias;
}

const char *path_snapshot_dir = "snapshot";
const char *path_capath_dir = "capath";
const char *path_cafile = "cafile.pem";

/* Does the component p[0..len) equal name? */
static int is(const char *p, size_t len, const char *name)
{
	return name && strlen(name) == len && memcmp(p, name, len) == 0;
}

/* Walk the folders from p down; the last unknown component is a name. */
static int walk_folders(const char *p, struct node *n)
{
	enum pk_folder cur = PK_F_ROOT;

	n->via_alias = 0;
	while (*p == '/')
		p++;
	while (*p) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		enum pk_folder next = child_of(cur, p, len, &n->via_alias);

		if (len > 255)
			return -ENAMETOOLONG;
		if (next == PK_F_NONE) {
			if (end && end[strspn(end, "/")])
				return -ENOENT; /* nothing lives below a file */
			n->type = NODE_NAME;
			n->folder = cur;
			n->name = p;
			return 0;
		}
		cur = next;
		p += len;
		while (*p == '/')
			p++;
	}
	n->type = NODE_DIR;
	n->folder = cur;
	n->name = NULL;
	return 0;
}

/* snapshot/[NAME[/live path]] */
static int resolve_snapshot(const char *p, struct node *n)
{
	const char *end;
	size_t len;

	n->area = AREA_SNAPSHOT;
	n->snap[0] = 0;
	n->type = NODE_DIR;
	n->folder = PK_F_NONE;
	while (*p == '/')
		p++;
	if (!*p)
		return 0;
	end = strchr(p, '/');
	len = end ? (size_t)(end - p) : strlen(p);
	if (len >= sizeof(n->snap))
		return -ENAMETOOLONG;
	memcpy(n->snap, p, len);
	n->snap[len] = 0;
	return walk_folders(p + len, n);
}

/* capath/[NAME] */
static int resolve_capath(const char *p, struct node *n)
{
	while (*p == '/')
		p++;
	n->area = AREA_CAPATH;
	n->folder = PK_F_NONE;
	n->type = *p ? NODE_NAME : NODE_DIR;
	n->name = *p ? p : NULL;
	return *p && strchr(p, '/') ? -ENOENT : 0;
}

int path_resolve(const char *path, struct node *n)
{
	const char *p = path, *end;
	size_t len;

	if (!path) /* an operation on an open file that was removed */
		return -ENOENT;
	n->via_alias = 0;
	n->snap[0] = 0;
	while (*p == '/')
		p++;
	end = strchr(p, '/');
	len = end ? (size_t)(end - p) : strlen(p);
	if (is(p, len, path_snapshot_dir))
		return resolve_snapshot(p + len, n);
	if (is(p, len, path_capath_dir))
		return resolve_capath(p + len, n);
	if (is(p, len, path_cafile)) {
		n->area = AREA_CAFILE;
		n->type = NODE_NAME;
		n->folder = PK_F_NONE;
		n->name = p;
		return end && end[strspn(end, "/")] ? -ENOTDIR : 0;
	}
	n->area = AREA_LIVE;
	return walk_folders(p, n);
}

int path_children(enum pk_folder f, int via_alias, struct dir_child *out)
{
	int n = 0;

	for (int c = 0; c < PK_F_COUNT; c++)
		if (pk_folder_info(c)->parent == f && real_listed(c))
			out[n++] = (struct dir_child){pk_folder_info(c)->leaf, c, via_alias};
	for (size_t i = 0; !via_alias && i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (aliases[i].parent == f && alias_listed())
			out[n++] = (struct dir_child){aliases[i].leaf, aliases[i].target, 1};
	return n;
}

void path_format(char *buf, size_t size, enum pk_folder f, const char *name)
{
	const char *dir = pk_folder_info(f)->path;

	snprintf(buf, size, "/%s%s%s", dir, *dir && name ? "/" : "", name ? name : "");
}

int path_name_ok(const char *name, char *why, size_t size)
{
	uint32_t c;
	int is_byte;

	if (!pk_text_unsafe(name, &c, &is_byte))
		return 1;
	if (is_byte && (c < 0x20 || c == 0x7f))
		snprintf(why, size, "names cannot hold control characters (byte 0x%02x)",
			 (unsigned)c);
	else if (is_byte)
		snprintf(why, size, "names must be valid UTF-8 (byte 0x%02x is not)",
			 (unsigned)c);
	else if (c <= 0x9f)
		snprintf(why, size, "names cannot hold control characters (U+%04X)",
			 (unsigned)c);
	else if (c == 0x2028 || c == 0x2029)
		snprintf(why, size, "names cannot hold line or paragraph separators (U+%04X)",
			 (unsigned)c);
	else
		snprintf(why, size,
			 "names cannot hold bidirectional formatting characters (U+%04X): "
			 "they make a name read as another",
			 (unsigned)c);
	return 0;
}

/* Is f, or a folder above it, the target of an alias? */
static int aliased(enum pk_folder f)
{
	for (; f != PK_F_NONE; f = pk_folder_info(f)->parent)
		for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
			if (aliases[i].target == f)
				return 1;
	return 0;
}

int path_dir_inos(enum pk_folder f, uint64_t out[2])
{
	out[0] = PK_FOLDER_INO(f);
	if (!aliased(f))
		return 1;
	out[1] = PATH_ALIAS_INO(out[0]);
	return 2;
}
