/*
 * view: generated files for tools that do not speak OPC UA folders.
 *
 * The CApath view is what `openssl rehash` would make of the trust list:
 * `<subject_hash>.N` (PEM) for each certificate and `<issuer_hash>.rN` (PEM)
 * for each CRL, suffixes 0, 1, ... without gaps in order of arrival. Members:
 * everything in trusted/, plus the CA certificates of issuers/ that are not
 * self-signed (a root kept only in issuers/ must not become an anchor) and
 * the CRLs of issuers/. The CA file view is all of them in one PEM file.
 * Views are computed from the live store on demand, found by the subject
 * hash index, never stored, never part of snapshots.
 */
#ifndef PKIFS_VIEW_H
#define PKIFS_VIEW_H

#include "pkifs/store.h"

/* Parse a CApath name: hash, suffix number, is it a CRL. 0, or -1. */
int pk_view_parse_name(const char *name, uint32_t *hash, unsigned *n, int *crl);

/* The PEM text behind a CApath name, with attributes (size exact). */
enum pk_err pk_view_capath_get(struct pk_store *s, const char *name, char **pem, size_t *len,
			       struct pk_attr *a);

/* Every CApath name with its attributes, in hash order. */
enum pk_err pk_view_capath_list(struct pk_store *s, pk_list_fn fn, void *ctx);

/* The CA file: every member's PEM in one buffer (malloc'd). */
enum pk_err pk_view_cafile(struct pk_store *s, char **pem, size_t *len, struct pk_attr *a);

/* Inode numbers of view files live above this bit. */
#define PK_VIEW_INO_BASE (1ULL << 48)

#endif
