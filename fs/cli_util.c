/*
 * cli_util.c: store lookup and output helpers of the commands (cli_util.h).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_util.h"

/* Undo /proc/mounts' octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
	char *w = s;

	for (; *s; s++, w++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] && s[3]) {
			*w = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*w = *s;
		}
	}
	*w = 0;
}

/* Is mp the path itself or a folder above it? */
static int covers(const char *mp, const char *path)
{
	size_t n = strlen(mp);

	return strncmp(mp, path, n) == 0 && (path[n] == 0 || path[n] == '/' || n == 1);
}

int cli_db_of_path(const char *path, char *db, size_t size, char *mp, size_t mp_size)
{
	char abs[4096], src[4096], dst[4096], type[64];
	size_t best = 0;
	FILE *f = fopen("/proc/self/mounts", "r");

	if (!f || !realpath(path, abs)) {
		if (f)
			fclose(f);
		return -1;
	}
	while (fscanf(f, "%4095s %4095s %63s %*[^\n]", src, dst, type) == 3) {
		unescape(src);
		unescape(dst);
		if (strcmp(type, "fuse.pkifs") || strncmp(src, "pkifs:", 6) ||
		    !covers(dst, abs) || strlen(dst) < best)
			continue;
		best = strlen(dst);
		snprintf(db, size, "%s", src + 6);
		if (mp)
			snprintf(mp, mp_size, "%s", dst);
	}
	fclose(f);
	return best ? 0 : -1;
}

struct pk_store *cli_open_ro(const char *db)
{
	struct pk_store_opts so = {.readonly = 1};
	struct pk_status st = {0};
	struct pk_store *s = NULL;

	pk_limits_default(&so.limits);
	if (access(db, R_OK) != 0) {
		fprintf(stderr, "pkifs: %s: cannot read\n", db);
		return NULL;
	}
	if (pk_store_open(db, &so, &s, &st) != PK_OK) {
		fprintf(stderr, "pkifs: %s: %s\n", db, st.reason);
		return NULL;
	}
	return s;
}

void cli_json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(out, "\\u%04x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

int cli_duration(const char *text, int64_t *seconds)
{
	char *end;
	long long n = strtoll(text, &end, 10);
	int64_t unit = 1;

	if (end == text || n < 0)
		return -1;
	if (*end == 'd')
		unit = 86400;
	else if (*end == 'h')
		unit = 3600;
	else if (*end == 'm')
		unit = 60;
	else if (*end != 's' && *end)
		return -1;
	if (*end && end[1])
		return -1;
	*seconds = (int64_t)n * unit;
	return 0;
}
