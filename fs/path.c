/*
 * path.c: path resolution for the mount (see path.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "path.h"
#include "pkifs/audit.h"

enum path_layout path_layout = LAYOUT_NODE_OPCUA;

int path_layout_parse(const char *value)
{
	static const char *const names[] = {"node-opcua", "part12", "both", "open62541",
					    "uanet"};

	for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++)
		if (!strcmp(value, names[i])) {
			path_layout = (enum path_layout)i;
			return 0;
		}
	return -1;
}

/* Each folder's spellings, as bits of the via values (0..3) that reach it:
 * the inode numbers it may have in the kernel. Made once. */
static uint8_t reachable[PK_F_COUNT];
static pthread_once_t reach_once = PTHREAD_ONCE_INIT;

/* Every (folder, via) a path reaches from (f, via). */
static void reach(enum pk_folder f, int via)
{
	size_t n;
	const struct pk_folder_alias *al = pk_folder_aliases(&n);

	if (reachable[f] & (1u << via))
		return;
	reachable[f] |= 1u << via;
	for (int c = 0; c < PK_F_COUNT; c++) {
		const char *leaf = pk_folder_info(c)->leaf;
		int v = via;

		if (pk_folder_info(c)->parent == f &&
		    pk_folder_step(f, leaf, strlen(leaf), &v) == c)
			reach(c, v);
	}
	for (size_t i = 0; i < n; i++) {
		int v = via;

		if (al[i].parent == f &&
		    pk_folder_step(f, al[i].leaf, strlen(al[i].leaf), &v) == al[i].target)
			reach(al[i].target, v);
	}
}

static void reach_all(void)
{
	reach(PK_F_ROOT, 0);
}

/* Do listings spell issuers/ as issuer/ and rejected/ as rejected/certs/
 * (Part 12, UA-.NET, open62541)? */
static int part12(void)
{
	return path_layout == LAYOUT_PART12 || path_layout == LAYOUT_OPEN62541 ||
	       path_layout == LAYOUT_UANET;
}

/* Has f a Part 12 spelling of c ("issuer" under the root for issuers/,
 * "certs" under rejected/ for itself)? */
static int has_part12(enum pk_folder f, enum pk_folder c)
{
	size_t n;
	const struct pk_folder_alias *al = pk_folder_aliases(&n);

	for (size_t i = 0; i < n; i++)
		if (al[i].parent == f && al[i].target == c && al[i].kind == PK_SP_PART12)
			return 1;
	return 0;
}

/* The Part 12 choice, made in each folder: child c of (f, via), reached
 * with v, is listed under one spelling (or, -o layout=both, under both). */
static int part12_listed(enum pk_folder f, int via, enum pk_folder c, int v)
{
	if ((v & ~via) & PK_SP_PART12)
		return part12() || path_layout == LAYOUT_BOTH;
	if (!(via & PK_SP_PART12) && has_part12(f, c))
		return !part12();
	return 1;
}

/* The groups' choice, made at the root: the application group's folders
 * at the root or under ApplCerts/ (open62541's layout); the other groups'
 * trust lists under UserTokenCerts/ and HttpCerts/ or as UA-.NET's
 * trustedUser/ ... (whose layout keeps own/ and rejected/, which UA-.NET
 * has not, under UserTokenCerts/ and HttpCerts/). */
static int group_listed(enum pk_folder f, int via, enum pk_folder c, int v)
{
	enum pk_folder r = pk_folder_role(c);
	int uanet = path_layout == LAYOUT_UANET, o62541 = path_layout == LAYOUT_OPEN62541;

	if (f != PK_F_ROOT || (via & PK_SP_GROUP))
		return !(uanet && !(v & PK_SP_GROUP) && pk_folder_group(c) != PK_G_APP &&
			 (r == PK_F_TRUSTED || r == PK_F_ISSUERS));
	if (v & PK_SP_GROUP)
		return c == PK_F_ROOT ? o62541 : uanet;
	return pk_folder_group(c) != PK_G_APP || !o62541;
}

int path_lists_names(enum pk_folder f, int via)
{
	if (f == PK_F_ROOT)
		return via == 0; /* ApplCerts/ holds the application group's folders only */
	return !(part12() && !(via & PK_SP_PART12) && has_part12(f, f));
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

	n->via = 0;
	while (*p == '/')
		p++;
	while (*p) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		enum pk_folder next = pk_folder_step(cur, p, len, &n->via);

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
	n->via = 0;
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

/* Child c of (f, via), reached with v, if the layout shows it. */
static void child(struct dir_child *out, int *n, const char *name, enum pk_folder f, int via,
		  enum pk_folder c, int v)
{
	if (part12_listed(f, via, c, v) && group_listed(f, via, c, v))
		out[(*n)++] = (struct dir_child){name, c, v};
}

int path_children(enum pk_folder f, int via, struct dir_child *out)
{
	size_t k;
	const struct pk_folder_alias *al = pk_folder_aliases(&k);
	int n = 0;

	for (int c = 0; c < PK_F_COUNT; c++) {
		const char *leaf = pk_folder_info(c)->leaf;
		int v = via;

		if (pk_folder_info(c)->parent == f &&
		    pk_folder_step(f, leaf, strlen(leaf), &v) == c)
			child(out, &n, leaf, f, via, c, v);
	}
	for (size_t i = 0; i < k; i++) {
		int v = via;

		if (al[i].parent == f &&
		    pk_folder_step(f, al[i].leaf, strlen(al[i].leaf), &v) == al[i].target)
			child(out, &n, al[i].leaf, f, via, al[i].target, v);
	}
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

int path_dir_inos(enum pk_folder f, uint64_t out[4])
{
	int n = 0;

	pthread_once(&reach_once, reach_all);
	for (int via = 0; via <= PK_SP_ALL; via++)
		if ((reachable[f] >> via) & 1)
			out[n++] = PATH_SPELL_INO(PK_FOLDER_INO(f), via);
	return n;
}
