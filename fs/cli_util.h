/*
 * cli_util.h: what the read-side commands share: finding and opening the
 * store (by --db FILE or by a mountpoint), JSON strings, durations.
 */
#ifndef PKIFS_FS_CLI_UTIL_H
#define PKIFS_FS_CLI_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pkifs/store.h"

/* The store file of the pkifs mount that holds path (a mountpoint or a
 * path below one), into db; 0, or -1 when path is in no pkifs mount. mp
 * (may be NULL) gets the mountpoint. */
int cli_db_of_path(const char *path, char *db, size_t size, char *mp, size_t mp_size);

/* Open a store for reading, or say why not in one line (NULL). */
struct pk_store *cli_open_ro(const char *db);

/* s as a JSON string on out. */
void cli_json_str(FILE *out, const char *s);

/* "30d", "12h", "90m", "45s" or plain seconds: 0, or -1 when malformed. */
int cli_duration(const char *text, int64_t *seconds);

#endif
