/*
 * folder: the folders of a PKI tree and the rules each one applies.
 *
 * A folder is one of a fixed set (own/certs, trusted/crl, rejected, ...). Each
 * has a content rule saying what a file in it must be (any certificate, a CA
 * certificate, a CRL, a private key, any bytes, or nothing at all) and a size
 * cap. The whole table lives in core/folder.c so every folder's rules are on
 * one screen. Aliases (issuer/ for issuers/, rejected/certs/ for rejected/)
 * are a matter of paths and live in fs/, not here.
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
	PK_F_COUNT,
	PK_F_NONE = -1,
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

struct pk_folder_info {
	const char *path;      /* "trusted/certs"; "" for the root */
	const char *leaf;      /* last path element: "certs" */
	enum pk_folder parent; /* PK_F_NONE for the root */
	enum pk_content content;
	unsigned dir_mode; /* default permission bits of the folder */
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

#endif
