/*
 * folder.c: the table of folders and their content rules.
 */
#include <stdio.h>
#include <string.h>

#include "pkifs/folder.h"

/* Trust group: the folders that say what is trusted; own/ and its key
 * folder stay as they are. */
enum { TG = 1 };

static const struct pk_folder_info folders[PK_F_COUNT] = {
	/* clang-format off */
	/*                     path             leaf       parent        content        mode  views           trust group */
	[PK_F_ROOT]          = {"",              "",        PK_F_NONE,    PK_C_AUX,      0755, PK_V_NONE,      0},
	[PK_F_OWN]           = {"own",           "own",     PK_F_ROOT,    PK_C_AUX,      0755, PK_V_NONE,      0},
	[PK_F_OWN_CERTS]     = {"own/certs",     "certs",   PK_F_OWN,     PK_C_CERT,     0755, PK_V_NONE,      0},
	[PK_F_OWN_PRIVATE]   = {"own/private",   "private", PK_F_OWN,     PK_C_KEY,      0700, PK_V_NONE,      0},
	[PK_F_TRUSTED]       = {"trusted",       "trusted", PK_F_ROOT,    PK_C_NONE,     0755, PK_V_NONE,      0},
	[PK_F_TRUSTED_CERTS] = {"trusted/certs", "certs",   PK_F_TRUSTED, PK_C_CERT,     0755, PK_V_CERTS,     TG},
	[PK_F_TRUSTED_CRL]   = {"trusted/crl",   "crl",     PK_F_TRUSTED, PK_C_CRL,      0755, PK_V_CRLS,      TG},
	[PK_F_ISSUERS]       = {"issuers",       "issuers", PK_F_ROOT,    PK_C_NONE,     0755, PK_V_NONE,      0},
	[PK_F_ISSUERS_CERTS] = {"issuers/certs", "certs",   PK_F_ISSUERS, PK_C_CA_CERT,  0755, PK_V_CHAIN_CAS, TG},
	[PK_F_ISSUERS_CRL]   = {"issuers/crl",   "crl",     PK_F_ISSUERS, PK_C_CRL,      0755, PK_V_CRLS,      TG},
	[PK_F_REJECTED]      = {"rejected",      "rejected",PK_F_ROOT,    PK_C_REJECTED, 0755, PK_V_NONE,      TG},
	/* clang-format on */
};

/* The other spellings: every one resolves; fs/ decides which ones listings
 * show (-o layout). */
static const struct pk_folder_alias aliases[] = {
	{PK_F_ROOT, "issuer", PK_F_ISSUERS},	 /* OPC UA Part 12, UA-.NET */
	{PK_F_REJECTED, "certs", PK_F_REJECTED}, /* Part 12, UA-.NET, open62541 */
};

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
	*n = sizeof(aliases) / sizeof(aliases[0]);
	return aliases;
}

enum pk_folder pk_folder_alias(enum pk_folder parent, const char *leaf)
{
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (aliases[i].parent == parent && strcmp(aliases[i].leaf, leaf) == 0)
			return aliases[i].target;
	return PK_F_NONE;
}

/* Is f the folder a, or inside it? */
static int within(enum pk_folder f, enum pk_folder a)
{
	for (; f != PK_F_NONE; f = folders[f].parent)
		if (f == a)
			return 1;
	return 0;
}

int pk_folder_alias_path(enum pk_folder f, char *buf, size_t size)
{
	for (size_t i = 0; f >= 0 && f < PK_F_COUNT && i < sizeof(aliases) / sizeof(aliases[0]);
	     i++) {
		const struct pk_folder_alias *al = &aliases[i];
		const char *up = folders[al->parent].path;
		const char *rest = folders[f].path + strlen(folders[al->target].path);
		int n;

		if (!within(f, al->target))
			continue;
		n = snprintf(buf, size, "%s%s%s%s", up, *up ? "/" : "", al->leaf, rest);
		return n >= 0 && (size_t)n < size ? 0 : -1;
	}
	return -1;
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
		return pk_fail(st, PK_E_PERM,
			       "%s/ holds only folders; put files in its certs/ or crl/", path);
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
	if (folders[f].content != PK_C_NONE)
		return PK_OK;
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
