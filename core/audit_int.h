/*
 * audit_int.h: audit rows as JSON (core-internal).
 */
#ifndef PKIFS_CORE_AUDIT_INT_H
#define PKIFS_CORE_AUDIT_INT_H

#include <sqlite3.h>
#include <stdio.h>

/* One row of pk_audit_print_filtered's query as one JSON object a line:
 * time, gen, op, path, path2, sha1, uid, pid, cmd, outcome, errno, reason. */
void pk_audit_print_json(FILE *out, sqlite3_stmt *q);

#endif
