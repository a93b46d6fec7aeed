/*
 * folder.c: the table of folders and their content rules.
 */
#include <stdio.h>
#include <string.h>

#include "pkifs/folder.h"

/* Trust group: the folders that say what is trusted; own/ and its key
 * folder stay as they are. */
enum { TG = 1 };

/* Fleet: the folders a fleet shares through its log (-o etcd=): the trust
 * and issuer lists; own/ and rejected/ stay each machine's own. */
enum { FL = 1 };

/* clang-format off */
/* The folders of one certificate group under its directory G ("" for the
 * application group, whose tree is the root): first is the group's own
 * directory, and the rows keep the application group's order. */
#define GROUP_ROWS(first, G, SEP)                                                                 \
	[first + 1] = {G SEP "own", "own", first, PK_C_AUX, 0755, PK_V_NONE, 0},                    \
	[first + 2] = {G SEP "own/certs", "certs", first + 1, PK_C_CERT, 0755, PK_V_NONE, 0},       \
	[first + 3] = {G SEP "own/private", "private", first + 1, PK_C_KEY, 0700, PK_V_NONE, 0},    \
	[first + 4] = {G SEP "trusted", "trusted", first, PK_C_NONE, 0755, PK_V_NONE, 0},           \
	[first + 7] = {G SEP "issuers", "issuers", first, PK_C_NONE, 0755, PK_V_NONE, 0},           \
	[first + 10] = {G SEP "rejected", "rejected", first, PK_C_REJECTED, 0755, PK_V_NONE, TG}

/* The trust lists of a group whose CAs and CRLs stay out of the views. */
#define LIST_ROWS(first, G)                                                                       \
	[first + 5] = {G "/trusted/certs", "certs", first + 4, PK_C_CERT, 0755, PK_V_NONE, TG, FL},     \
	[first + 6] = {G "/trusted/crl", "crl", first + 4, PK_C_CRL, 0755, PK_V_NONE, TG, FL},          \
	[first + 8] = {G "/issuers/certs", "certs", first + 7, PK_C_CA_CERT, 0755, PK_V_NONE, TG, FL},  \
	[first + 9] = {G "/issuers/crl", "crl", first + 7, PK_C_CRL, 0755, PK_V_NONE, TG, FL}
/* clang-format on */

static const struct pk_folder_info folders[PK_F_COUNT] = {
	/* clang-format off */
	/*                     path             leaf       parent        content        mode  views           trust group, fleet */
	[PK_F_ROOT]          = {"",              "",        PK_F_NONE,    PK_C_AUX,      0755, PK_V_NONE,      0},
	[PK_F_TRUSTED_CERTS] = {"trusted/certs", "certs",   PK_F_TRUSTED, PK_C_CERT,     0755, PK_V_CERTS,     TG, FL},
	[PK_F_TRUSTED_CRL]   = {"trusted/crl",   "crl",     PK_F_TRUSTED, PK_C_CRL,      0755, PK_V_CRLS,      TG, FL},
	[PK_F_ISSUERS_CERTS] = {"issuers/certs", "certs",   PK_F_ISSUERS, PK_C_CA_CERT,  0755, PK_V_CHAIN_CAS, TG, FL},
	[PK_F_ISSUERS_CRL]   = {"issuers/crl",   "crl",     PK_F_ISSUERS, PK_C_CRL,      0755, PK_V_CRLS,      TG, FL},
	GROUP_ROWS(PK_F_ROOT, "", ""),
	/* open62541's names for the groups' directories; they hold only folders */
	[PK_F_USER]          = {"UserTokenCerts", "UserTokenCerts", PK_F_ROOT, PK_C_NONE, 0755, PK_V_NONE, 0},
	GROUP_ROWS(PK_F_USER, "UserTokenCerts", "/"),
	LIST_ROWS(PK_F_USER, "UserTokenCerts"),
	[PK_F_HTTPS]         = {"HttpCerts",     "HttpCerts", PK_F_ROOT,  PK_C_NONE,     0755, PK_V_NONE,      0},
	GROUP_ROWS(PK_F_HTTPS, "HttpCerts", "/"),
	LIST_ROWS(PK_F_HTTPS, "HttpCerts"),
	/* clang-format on */
};

_Static_assert(PK_F_COUNT < 64, "other spellings' inode numbers are f + 1 + 64 * via");
_Static_assert(PK_F_COUNT == PK_G_COUNT * PK_F_PER_GROUP, "every group has every folder");

/* The other spellings: every one resolves; fs/ decides which ones listings
 * show (-o layout). */
static const struct pk_folder_alias aliases[] = {
	/* OPC UA Part 12, UA-.NET, open62541 */
	{PK_F_ROOT, "issuer", PK_F_ISSUERS, PK_SP_PART12},
	{PK_F_REJECTED, "certs", PK_F_REJECTED, PK_SP_PART12},
	{PK_F_USER, "issuer", PK_F_USER_ISSUERS, PK_SP_PART12},
	{PK_F_USER_REJECTED, "certs", PK_F_USER_REJECTED, PK_SP_PART12},
	{PK_F_HTTPS, "issuer", PK_F_HTTPS_ISSUERS, PK_SP_PART12},
	{PK_F_HTTPS_REJECTED, "certs", PK_F_HTTPS_REJECTED, PK_SP_PART12},
	/* open62541: the application group's directory is the root */
	{PK_F_ROOT, "ApplCerts", PK_F_ROOT, PK_SP_GROUP},
	/* UA-.NET: the user-token and https trust lists beside the root's */
	{PK_F_ROOT, "trustedUser", PK_F_USER_TRUSTED, PK_SP_GROUP},
	{PK_F_ROOT, "issuerUser", PK_F_USER_ISSUERS, PK_SP_GROUP},
	{PK_F_ROOT, "trustedHttps", PK_F_HTTPS_TRUSTED, PK_SP_GROUP},
	{PK_F_ROOT, "issuerHttps", PK_F_HTTPS_ISSUERS, PK_SP_GROUP},
};

#define N_ALIASES (sizeof(aliases) / sizeof(aliases[0]))

/* Entries of an owner-only folder; the bits no key may have. */
#define KEY_MODE    0600u
#define GROUP_OTHER 077u

void pk_limits_default(struct pk_limits *l)
{
	l->cert_max = 64 * 1024;
	l->crl_max = 16 * 1024 * 1024;
	l->aux_max = 1024 * 1024;
	l->max_rejected = 128;
}

const struct pk_folder_info *pk_folder_info(enum pk_folder f)
{
	return &folders[f];
}

enum pk_folder pk_folder_child(enum pk_folder parent, const char *leaf)
{
	for (int f = 0; f < PK_F_COUNT; f++)
		if (folders[f].parent == parent && strcmp(folders[f].leaf, leaf) == 0)
			return (enum pk_folder)f;
	return PK_F_NONE;
}

size_t pk_folder_max_size(const struct pk_limits *l, enum pk_folder f)
{
	switch (folders[f].content) {
	case PK_C_NONE: /* a file dropped here is filed in certs/ or crl/ */
		return l->cert_max > l->crl_max ? l->cert_max : l->crl_max;
	case PK_C_AUX:
		return l->aux_max;
	case PK_C_CRL:
		return l->crl_max;
	default:
		return l->cert_max;
	}
}

int pk_folder_holds_certs(enum pk_folder f)
{
	enum pk_content c = folders[f].content;

	return c == PK_C_CERT || c == PK_C_CA_CERT || c == PK_C_REJECTED;
}

int pk_folder_owner_only(enum pk_folder f)
{
	return folders[f].content == PK_C_KEY;
}

unsigned pk_folder_entry_mode(enum pk_folder f, unsigned mode)
{
	return pk_folder_owner_only(f) ? KEY_MODE : mode;
}

enum pk_err pk_folder_check_mode(enum pk_folder f, unsigned mode, struct pk_status *st)
{
	if (pk_folder_owner_only(f) && (mode & GROUP_OTHER))
		return pk_fail(st, PK_E_PERM,
			       "private keys stay readable by their owner only (mode "
			       "0%o refused)",
			       mode & 07777);
	return PK_OK;
}

unsigned pk_folder_dir_mode(enum pk_folder f, unsigned asked)
{
	return pk_folder_owner_only(f) ? asked & ~GROUP_OTHER : asked;
}

int pk_folder_feeds_views(enum pk_folder f)
{
	return f >= 0 && f < PK_F_COUNT && folders[f].view != PK_V_NONE;
}

int pk_folder_trust_group(enum pk_folder f)
{
	return f >= 0 && f < PK_F_COUNT && folders[f].trust_group;
}

const struct pk_folder_alias *pk_folder_aliases(size_t *n)
{
	*n = N_ALIASES;
	return aliases;
}

enum pk_folder pk_folder_alias(enum pk_folder parent, const char *leaf)
{
	for (size_t i = 0; i < N_ALIASES; i++)
		if (aliases[i].parent == parent && strcmp(aliases[i].leaf, leaf) == 0)
			return aliases[i].target;
	return PK_F_NONE;
}

enum pk_group pk_folder_group(enum pk_folder f)
{
	return (enum pk_group)(f / PK_F_PER_GROUP);
}

enum pk_folder pk_folder_role(enum pk_folder f)
{
	return (enum pk_folder)(f % PK_F_PER_GROUP);
}

enum pk_folder pk_folder_in_group(enum pk_group g, enum pk_folder role)
{
	return (enum pk_folder)(g * PK_F_PER_GROUP + role);
}

static const char *const group_names[PK_G_COUNT] = {"app", "user", "https"};

const char *pk_group_name(enum pk_group g)
{
	return group_names[g];
}

int pk_group_parse(const char *name)
{
	for (int g = 0; g < PK_G_COUNT; g++)
		if (strcmp(name, group_names[g]) == 0)
			return g;
	return -1;
}

/* An alias of kind not yet followed; below ApplCerts/ only the application
 * group's folders (ApplCerts/UserTokenCerts is nothing). */
enum pk_folder pk_folder_step(enum pk_folder parent, const char *leaf, size_t len, int *via)
{
	char name[32];
	enum pk_folder f;

	if (len >= sizeof(name))
		return PK_F_NONE;
	memcpy(name, leaf, len);
	name[len] = 0;
	for (size_t i = 0; i < N_ALIASES; i++) {
		const struct pk_folder_alias *al = &aliases[i];

		if (al->parent != parent || (*via & al->kind) || strcmp(al->leaf, name) != 0)
			continue;
		if (parent == PK_F_ROOT && (*via & PK_SP_GROUP) &&
		    pk_folder_group(al->target) != PK_G_APP)
			continue;
		*via |= al->kind;
		return al->target;
	}
	f = pk_folder_child(parent, name);
	if (f != PK_F_NONE && parent == PK_F_ROOT && (*via & PK_SP_GROUP) &&
	    pk_folder_group(f) != PK_G_APP)
		return PK_F_NONE;
	return f;
}

int pk_folder_resolve(const char *rel, enum pk_folder *f, const char **name)
{
	int via = 0;

	*f = PK_F_ROOT;
	while (*rel == '/')
		rel++;
	while (*rel) {
		size_t len = strcspn(rel, "/");
		enum pk_folder next = pk_folder_step(*f, rel, len, &via);

		if (next == PK_F_NONE)
			break;
		*f = next;
		rel += len;
		while (*rel == '/')
			rel++;
	}
	*name = rel;
	return strchr(rel, '/') ? -1 : 0;
}

const char *pk_kind_words(enum pk_kind k)
{
	static const char *const words[] = {
		[PK_KIND_NONE] = "not a certificate, CRL or key",
		[PK_KIND_EMPTY] = "an empty file",
		[PK_KIND_CERT] = "a certificate",
		[PK_KIND_CRL] = "a CRL",
		[PK_KIND_KEY] = "a private key",
		[PK_KIND_PKCS12] = "a PKCS#12 bundle",
		[PK_KIND_CSR] = "a certificate signing request",
	};
	return words[k];
}

/* A certificate folder: one certificate (chain allowed); issuers/ wants a CA. */
static enum pk_err check_cert(enum pk_folder f, const struct pk_object *o, struct pk_status *st)
{
	const char *path = folders[f].path;

	if (o->kind == PK_KIND_CSR && f == PK_F_OWN_CERTS)
		return PK_OK; /* a request for a CA, kept beside the certificates */
	if (o->kind != PK_KIND_CERT)
		return pk_fail(st, PK_E_WRONG_KIND, "%s takes certificates; this file is %s",
			       path, pk_kind_words(o->kind));
	if (folders[f].content == PK_C_CA_CERT && (!o->is_ca || !o->key_cert_sign))
		return pk_fail(st, PK_E_NOT_CA,
			       "%s takes only CA certificates (basicConstraints "
			       "CA:TRUE and keyCertSign); %s is %s",
			       path, o->subject,
			       o->is_ca ? "a CA without keyCertSign" : "not a CA");
	return PK_OK;
}

enum pk_err pk_folder_check(enum pk_folder f, const struct pk_object *o, struct pk_status *st)
{
	const char *path = folders[f].path;

	if (o->kind == PK_KIND_EMPTY && folders[f].content != PK_C_NONE)
		return PK_OK; /* lock files, touch: never trust entries */
	if (o->kind == PK_KIND_NONE && folders[f].content > PK_C_AUX)
		return pk_fail(st, PK_E_MALFORMED,
			       "%s takes PKI objects; this file is neither PEM nor DER "
			       "(no PEM armor, and it does not start as a DER sequence)",
			       path);
	switch (folders[f].content) {
	case PK_C_NONE:
		return pk_fail(st, PK_E_PERM, "%s/ holds only folders; put files in %s", path,
			       pk_folder_child(f, "certs") != PK_F_NONE
				       ? "its certs/ or crl/"
				       : "its group's folders");
	case PK_C_AUX:
		return PK_OK;
	case PK_C_CERT:
	case PK_C_CA_CERT:
	case PK_C_REJECTED:
		return check_cert(f, o, st);
	case PK_C_CRL:
		if (o->kind != PK_KIND_CRL)
			return pk_fail(st, PK_E_WRONG_KIND, "%s takes CRLs; this file is %s",
				       path, pk_kind_words(o->kind));
		return PK_OK;
	case PK_C_KEY:
		if (o->kind != PK_KIND_KEY && o->kind != PK_KIND_PKCS12)
			return pk_fail(st, PK_E_WRONG_KIND,
				       "%s takes private keys; this file is %s", path,
				       pk_kind_words(o->kind));
		return PK_OK;
	}
	return PK_OK;
}

enum pk_err pk_folder_route(enum pk_folder f, const void *data, size_t len, enum pk_folder *to,
			    struct pk_status *st)
{
	const char *path = folders[f].path;
	struct pk_object o;
	enum pk_err e;

	*to = f;
	if (folders[f].content != PK_C_NONE || pk_folder_child(f, "certs") == PK_F_NONE)
		return PK_OK; /* a group's directory: pk_folder_check refuses */
	e = pk_object_parse(data, len, &o, st);
	if (e != PK_OK)
		return e;
	if (o.kind == PK_KIND_CERT || o.kind == PK_KIND_CRL) {
		*to = pk_folder_child(f, o.kind == PK_KIND_CERT ? "certs" : "crl");
		return PK_OK;
	}
	if (o.kind == PK_KIND_NONE)
		return pk_fail(
			st, PK_E_MALFORMED,
			"%s/ takes certificates and CRLs; this file is neither PEM nor DER",
			path);
	return pk_fail(st, PK_E_WRONG_KIND,
		       "%s/ holds only folders: a certificate dropped here is filed in "
		       "%s/certs, a CRL in %s/crl; this file is %s",
		       path, path, path, pk_kind_words(o.kind));
}
