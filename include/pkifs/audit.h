/*
 * audit: the record of every trust operation, accepted or refused.
 *
 * One row per operation, written in the same transaction as the change it
 * records (a refusal in a transaction of its own): when, which generation,
 * what, which path(s), which certificate, who asked, and for a refusal the
 * error and the reason in words. `pkifs log` prints it. This header is the
 * reading side; rows are written by the core alone (core/audit_int.h).
 */
#ifndef PKIFS_AUDIT_H
#define PKIFS_AUDIT_H

#include <stdint.h>
#include <stdio.h>
#include "pkifs/store.h"

/* Print the last n rows (n <= 0: all), oldest first. Every text is printed
 * escaped: a byte that is no part of valid UTF-8 and a C0 control or DEL as
 * \xNN, a C1 control, U+2028/U+2029 and a bidirectional embedding, override
 * or isolate (U+202A-U+202E, U+2066-U+2069) as \uNNNN, and '\' as "\\". */
enum pk_err pk_audit_print(struct pk_store *s, FILE *out, long n);

/* The first character of s that the log prints escaped (above), or NULL;
 * *what is the byte (*is_byte: invalid UTF-8, or a C0 control or DEL) or
 * the code point. Names holding one are refused. */
const char *pk_text_unsafe(const char *s, uint32_t *what, int *is_byte);

/* Write s to out escaped as the log prints it. */
void pk_text_put(FILE *out, const char *s);

/* Which rows to print (a zeroed filter: all), and how. */
struct pk_audit_filter {
	int64_t after_id; /* only rows after this one (following the log) */
	int64_t since_ns; /* only rows at or after this time; 0: any */
	const char *op;	  /* only this operation ("put", "rename", ...); NULL: any */
	int refused;	  /* only refusals */
	int json;	  /* one JSON object a line instead of text */
};

/* Print the last n rows that f lets through (n <= 0: all), oldest first;
 * *last_id (if not NULL) becomes the id of the last row printed. */
enum pk_err pk_audit_print_filtered(struct pk_store *s, FILE *out, long n,
				    const struct pk_audit_filter *f, int64_t *last_id);

#endif
