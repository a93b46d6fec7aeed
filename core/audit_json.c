/*
 * audit_json.c: audit rows as JSON objects, one a line (`pkifs log --json`),
 * so that a program can follow the log without parsing the text form.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit_int.h"
#include "pkifs/audit.h"

/* s as a JSON string (null when NULL): the text the log prints for it
 * (pk_text_put's escapes), with quotes, backslashes and control bytes
 * escaped for JSON, so that the value is always valid UTF-8. */
static void json_str(FILE *out, const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem;

	if (!s || !(mem = open_memstream(&buf, &len))) {
		fputs("null", out);
		return;
	}
	pk_text_put(mem, s);
	fclose(mem);
	fputc('"', out);
	for (const unsigned char *c = (const unsigned char *)buf; c && *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(out, "\\%c", *c);
		else if (*c < 0x20 || *c == 0x7f)
			fprintf(out, "\\u%04x", *c);
		else
			fputc(*c, out);
	}
	fputc('"', out);
	free(buf);
}

/* Column i of q as text, or NULL. */
static const char *col(sqlite3_stmt *q, int i)
{
	return (const char *)sqlite3_column_text(q, i);
}

void pk_audit_print_json(FILE *out, sqlite3_stmt *q)
{
	int64_t t = sqlite3_column_int64(q, 0);
	time_t sec = (time_t)(t / 1000000000);
	int err = sqlite3_column_int(q, 10);
	char when[40];
	struct tm tm;

	gmtime_r(&sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(out, "{\"time\":\"%s.%03dZ\",\"time_ns\":%lld,\"gen\":%lld,\"op\":", when,
		(int)(t / 1000000 % 1000), (long long)t, (long long)sqlite3_column_int64(q, 1));
	json_str(out, col(q, 2));
	fputs(",\"path\":", out);
	json_str(out, col(q, 3));
	fputs(",\"path2\":", out);
	json_str(out, col(q, 4));
	fputs(",\"sha1\":", out);
	json_str(out, col(q, 5));
	fprintf(out,
		",\"uid\":%lld,\"pid\":%lld,\"cmd\":", (long long)sqlite3_column_int64(q, 6),
		(long long)sqlite3_column_int64(q, 7));
	json_str(out, col(q, 8));
	fputs(",\"outcome\":", out);
	json_str(out, col(q, 9));
	fputs(",\"errno\":", out);
	json_str(out, err ? strerrorname_np(err) : NULL);
	fputs(",\"reason\":", out);
	json_str(out, col(q, 11));
	fputs("}\n", out);
}
