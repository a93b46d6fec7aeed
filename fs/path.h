/*
 * path.h: from a path in the mount to what it names.
 *
 * The live tree is fixed folders, reached in every spelling the stacks use
 * (folder.c's aliases: issuer/ = issuers/, rejected/certs/ = rejected/,
 * ApplCerts/ = the root, trustedUser/ = UserTokenCerts/trusted/ ...), and
 * names inside them: files or lock
 * directories, told apart later by looking the name up. Beside it at the
 * root: snapshot/ (snapshot/NAME/ is a read-only copy of the live layout),
 * and the generated views, a CApath directory and a CA file (names set by
 * mount options, either may be off). This is the only place that splits
 * paths.
 */
#ifndef PKIFS_FS_PATH_H
#define PKIFS_FS_PATH_H

#include <stdint.h>

#include "pkifs/folder.h"
#include "pkifs/store.h"
#include "pkifs/view.h"

enum area {
	AREA_LIVE,     /* the PKI tree */
	AREA_SNAPSHOT, /* snapshot/ and below */
	AREA_CAPATH,   /* the CApath view directory and its files */
	AREA_CAFILE,   /* the CA file view */
};

enum node_type {
	NODE_DIR,  /* a folder (live or in a snapshot), or a view directory */
	NODE_NAME, /* a name inside a folder */
};

struct node {
	enum area area;
	enum node_type type;
	enum pk_folder folder;
	const char *name; /* NODE_NAME: points into the resolved path */
	int via;	  /* the kinds of other spellings followed (enum pk_spelling) */
	char snap[256];	  /* AREA_SNAPSHOT: the snapshot's name ("" = snapshot/) */
};

/* Which spelling of each folder listings show (every one always
 * resolves): node-opcua's issuers/ and rejected/ holding the files (the
 * default), Part 12's issuer/ and rejected/certs/ holding them, or both
 * (a walk then sees those folders twice: rsync -a copies them twice). The
 * user-token and https groups are listed once, under UserTokenCerts/ and
 * HttpCerts/; open62541's layout lists the application group under
 * ApplCerts/ instead of at the root, UA-.NET's the groups' trust lists as
 * trustedUser/, issuerUser/, trustedHttps/ and issuerHttps/ (both Part 12
 * spelled). */
enum path_layout {
	LAYOUT_NODE_OPCUA,
	LAYOUT_PART12,
	LAYOUT_BOTH,
	LAYOUT_OPEN62541,
	LAYOUT_UANET
};
extern enum path_layout path_layout;

/* Parse a -o layout= value: 0, or -1. */
int path_layout_parse(const char *value);

/* Does a listing of folder f (reached with via) show the names stored in
 * it? Part 12's layout shows rejected/'s under certs/. */
int path_lists_names(enum pk_folder f, int via);

/* Names of the root-level extras (NULL: switched off). */
extern const char *path_snapshot_dir;
extern const char *path_capath_dir;
extern const char *path_cafile;

/* Resolve path ("/trusted/certs/x.der"): 0, or -ENOENT / -ENAMETOOLONG. */
int path_resolve(const char *path, struct node *n);

/* Fixed child folders of f as readdir shows them (aliases included). */
struct dir_child {
	const char *name;
	enum pk_folder folder;
	int via; /* the spellings followed: shown with its own inode */
};

/* Inode of a folder reached through other spellings (via, enum
 * pk_spelling bits): not the real folder's, so ls -R and find do not take
 * rejected/certs/ for a loop and the kernel never sees one directory under
 * two names. */
#define PATH_SPELL_INO(ino, via) ((ino) + 64 * (uint64_t)(via))
/* The views' fixed inode numbers: the CA file (core/view.c gives it) and
 * the CApath directory. */
#define PATH_CAFILE_INO (PK_VIEW_INO_BASE - 1)
#define PATH_CAPATH_INO (PK_VIEW_INO_BASE - 2)
/* snapshot/'s. */
#define PATH_SNAPROOT_INO (PK_FIRST_INO - 2)

/* Fill out (room for PK_F_COUNT + 2) and return how many. */
int path_children(enum pk_folder f, int via, struct dir_child *out);

/* The inode numbers of folder f under each of its spellings: how many
 * (1 to 4). */
int path_dir_inos(enum pk_folder f, uint64_t out[4]);

/* Is name usable as a new name: valid UTF-8 without controls (C0, DEL, C1),
 * line separators or bidirectional overrides? 0 with the reason in why. */
int path_name_ok(const char *name, char *why, size_t size);

/* "/trusted/certs/x" for (folder, name) into buf (name may be NULL). */
void path_format(char *buf, size_t size, enum pk_folder f, const char *name);

#endif
