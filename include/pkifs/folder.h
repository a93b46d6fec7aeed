/*
 * folder: the folders of a PKI tree and the rules each one applies.
 *
 * A folder is one of a fixed set (own/certs, trusted/crl, rejected, ...). Each
 * has a content rule saying what a file in it must be (any certificate, a CA
 * certificate, a CRL, a private key, any bytes, or nothing at all) and a size
 * cap. The whole table lives in core/folder.c so every folder's rules are on
 * one screen: what it takes, its mode rule (private keys stay owner-only),
 * what it gives the generated views, whether a trust group may write it, and
 * the other spellings stacks use for it (issuer/ for issuers/,
 * rejected/certs/ for rejected/). fs/ asks here instead of knowing any of it.
 */
#ifndef PKIFS_FOLDER_H
#define PKIFS_FOLDER_H

#include <stddef.h>
#include "pkifs/object.h"
#include "pkifs/status.h"

enum pk_folder {
	PK_F_ROOT = 0,
	PK_F_OWN,
	PK_F_OWN_CERTS,
	PK_F_OWN_PRIVATE,
	PK_F_TRUSTED,
	PK_F_TRUSTED_CERTS,
	PK_F_TRUSTED_CRL,
	PK_F_ISSUERS,
	PK_F_ISSUERS_CERTS,
	PK_F_ISSUERS_CRL,
	PK_F_REJECTED,
	/* The user-token group: the same folders under UserTokenCerts/, in the
	 * same order (a folder's role is its number modulo PK_F_PER_GROUP). */
	PK_F_USER,
	PK_F_USER_OWN,
	PK_F_USER_OWN_CERTS,
	PK_F_USER_OWN_PRIVATE,
	PK_F_USER_TRUSTED,
	PK_F_USER_TRUSTED_CERTS,
	PK_F_USER_TRUSTED_CRL,
	PK_F_USER_ISSUERS,
	PK_F_USER_ISSUERS_CERTS,
	PK_F_USER_ISSUERS_CRL,
	PK_F_USER_REJECTED,
	/* The https group, under HttpCerts/. */
	PK_F_HTTPS,
	PK_F_HTTPS_OWN,
	PK_F_HTTPS_OWN_CERTS,
	PK_F_HTTPS_OWN_PRIVATE,
	PK_F_HTTPS_TRUSTED,
	PK_F_HTTPS_TRUSTED_CERTS,
	PK_F_HTTPS_TRUSTED_CRL,
	PK_F_HTTPS_ISSUERS,
	PK_F_HTTPS_ISSUERS_CERTS,
	PK_F_HTTPS_ISSUERS_CRL,
	PK_F_HTTPS_REJECTED,
	PK_F_COUNT, /* below 64: inode numbers of other spellings are f + 1 + 64 * via */
	PK_F_NONE = -1,
	PK_F_PER_GROUP = PK_F_USER,
};

/* Certificate groups (OPC UA Part 12): the application group is the tree
 * at the root; the user-token and https groups are trust lists of their own
 * with the same folders and rules. */
enum pk_group {
	PK_G_APP,
	PK_G_USER,
	PK_G_HTTPS,
	PK_G_COUNT,
	PK_G_ALL = -1, /* no group given */
};

/* What files a folder takes. */
enum pk_content {
	PK_C_NONE,     /* no files at all (trusted/, issuers/) */
	PK_C_AUX,      /* any bytes, kept verbatim (root, own/) */
	PK_C_CERT,     /* one certificate, optionally with its chain */
	PK_C_CA_CERT,  /* as PK_C_CERT, and it must be a CA */
	PK_C_CRL,      /* a CRL signed by a CA in trusted/ or issuers/ */
	PK_C_KEY,      /* a private key or PKCS#12 bundle, mode 0600 */
	PK_C_REJECTED, /* any certificate; deduplicated, capped */
};

/* What a folder gives the generated views (CApath directory, PEM bundle). */
enum pk_view_feed {
	PK_V_NONE,	/* nothing */
	PK_V_CERTS,	/* every certificate: trust anchors */
	PK_V_CHAIN_CAS, /* CA certificates that are not self-signed: chain links */
	PK_V_CRLS,	/* every CRL */
};

struct pk_folder_info {
	const char *path;      /* "trusted/certs"; "" for the root */
	const char *leaf;      /* last path element: "certs" */
	enum pk_folder parent; /* PK_F_NONE for the root */
	enum pk_content content;
	unsigned dir_mode;	/* default permission bits of the folder */
	enum pk_view_feed view; /* what it gives the views */
	int trust_group;	/* group-owned and writable under -o trust_group */
	int replicated;		/* shared by a fleet (replica.h) */
};

/* Kinds of other spellings, as bits: a path follows each kind at most once
 * (rejected/certs/certs is nothing), and a folder reached by a path has the
 * inode number PK_FOLDER_INO(f) + 64 * (the bits it followed). */
enum pk_spelling {
	PK_SP_PART12 = 1, /* issuer/ for issuers/, rejected/certs/ for rejected/ */
	PK_SP_GROUP = 2,  /* open62541's ApplCerts/ (the root), UA-.NET's trustedUser/ ... */
	PK_SP_ALL = 3,
};

/* Another spelling of a folder that stacks use: leaf under parent names
 * target ("issuer" under the root is issuers/). */
struct pk_folder_alias {
	enum pk_folder parent;
	const char *leaf;
	enum pk_folder target;
	enum pk_spelling kind;
};

/* Configurable limits: size caps per content and the rejected/ cap. */
struct pk_limits {
	size_t cert_max;       /* certificates and keys, default 64 KiB */
	size_t crl_max;	       /* CRLs, default 16 MiB */
	size_t aux_max;	       /* auxiliary files, default 1 MiB */
	unsigned max_rejected; /* entries kept in rejected/, default 128 */
};

/* The defaults above. */
void pk_limits_default(struct pk_limits *l);

/* The table row of f (f must be a valid folder). */
const struct pk_folder_info *pk_folder_info(enum pk_folder f);

/* The child folder of parent called leaf, or PK_F_NONE. */
enum pk_folder pk_folder_child(enum pk_folder parent, const char *leaf);

/* Largest file the folder accepts (for trusted/ and issuers/: the largest
 * a file dropped into them may be, see pk_folder_route). */
size_t pk_folder_max_size(const struct pk_limits *l, enum pk_folder f);

/*
 * The checks that need only the parsed object: kind, CA flags, key mode.
 * Store-dependent checks (a CRL's CA, rejected/'s refresh) are the trust layer's.
 */
enum pk_err pk_folder_check(enum pk_folder f, const struct pk_object *o, struct pk_status *st);

/* An object kind in words ("a certificate", "a CRL"), for reasons. */
const char *pk_kind_words(enum pk_kind k);

/*
 * Where a file written into f goes: f itself, but for trusted/ and issuers/,
 * which hold only folders, its certs/ for a certificate and its crl/ for a
 * CRL (the bytes are parsed to tell). Anything else dropped there is refused
 * with the reason.
 */
enum pk_err pk_folder_route(enum pk_folder f, const void *data, size_t len, enum pk_folder *to,
			    struct pk_status *st);

/* Is a certificate folder (certs, rejected) whose entries carry thumbprints. */
int pk_folder_holds_certs(enum pk_folder f);

/*
 * The mode rule. A private-key folder is owner-only: its entries are always
 * 0600 (whatever mode a file was written with) and may never be given group
 * or other bits (refused), and the folder itself drops group and other bits
 * from a chmod (rsync -a and tar x of a key folder made under umask 022 must
 * succeed). Other folders keep the modes they are given.
 */
int pk_folder_owner_only(enum pk_folder f);
/* The mode an entry written into f is stored with. */
unsigned pk_folder_entry_mode(enum pk_folder f, unsigned mode);
/* PK_OK when an entry of f may have mode; PK_E_PERM with the reason if not. */
enum pk_err pk_folder_check_mode(enum pk_folder f, unsigned mode, struct pk_status *st);
/* The mode folder f keeps of a chmod to asked. */
unsigned pk_folder_dir_mode(enum pk_folder f, unsigned asked);

/* Does f give anything to the views (a change in it changes them)? */
int pk_folder_feeds_views(enum pk_folder f);

/* Is f one of the folders -o trust_group makes group-owned and writable? */
int pk_folder_trust_group(enum pk_folder f);

/* A folder's group, its role (the application group's folder that does
 * the same: PK_F_TRUSTED_CERTS for UserTokenCerts/trusted/certs), and the
 * folder of group g with role r. */
enum pk_group pk_folder_group(enum pk_folder f);
enum pk_folder pk_folder_role(enum pk_folder f);
enum pk_folder pk_folder_in_group(enum pk_group g, enum pk_folder role);

/* A group's name for the CLI ("app", "user", "https"), and back (-1). */
const char *pk_group_name(enum pk_group g);
int pk_group_parse(const char *name);

/* One step of a path: the folder that leaf (len bytes) names under parent,
 * reached with *via (enum pk_spelling bits) so far, which it updates; or
 * PK_F_NONE (leaf is a name inside parent). */
enum pk_folder pk_folder_step(enum pk_folder parent, const char *leaf, size_t len, int *via);

/* The folder (and the name) a path relative to the tree names, in any
 * spelling ("issuer/certs/x.der"): 0, or -1 if it names no folder. *name
 * points into rel ("" for a folder itself). */
int pk_folder_resolve(const char *rel, enum pk_folder *f, const char **name);

/* The other spellings, *n of them. */
const struct pk_folder_alias *pk_folder_aliases(size_t *n);

/* The folder leaf names under parent as another spelling, or PK_F_NONE. */
enum pk_folder pk_folder_alias(enum pk_folder parent, const char *leaf);

#endif
