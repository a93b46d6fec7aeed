/*
 * cli_doctor.c: `pkifs doctor`: findings an operator should act on
 * (doctor.h), a line each or as JSON; exit 0 none, 1 some, 2 when the
 * store cannot be read.
 */
#include <stdio.h>

#include "cli_inventory.h"
#include "cli_util.h"
#include "pkifs/doctor.h"

static const char usage_doctor[] =
	"usage: pkifs doctor [--db FILE | MOUNT] [--json]\n"
	"\n"
	"Findings to act on: a CA in trusted/ or issuers/ without a CRL, an own key\n"
	"without its certificate or the reverse, expired certificates, CRLs past\n"
	"their next update, RSA keys under 2048 bits and SHA-1 signatures, a\n"
	"certificate held under several names in one folder, rejected/ near its\n"
	"cap, a store file others can read, a large audit log. One line each:\n"
	"PATH: WHAT [KIND]. Exit 0: none, 1: some, 2: the store cannot be read.\n";

int cmd_doctor(int argc, char **argv)
{
	struct cli_args a;
	struct pk_status st = {0};
	struct pk_store *s;
	unsigned n = 0;
	struct cli_out out = {0, 1};
	int rc = cli_parse(argc, argv, usage_doctor, &a);

	if (rc)
		return rc == 1 ? 0 : rc;
	if (a.n_rest)
		return fprintf(stderr, "%s", usage_doctor), 2;
	s = cli_open_ro(a.db);
	if (!s)
		return 2;
	out.json = a.json;
	if (a.json)
		printf("[");
	rc = pk_doctor(s, a.db, cli_print_violation, &out, &n, &st) == PK_OK ? n > 0 : 2;
	if (a.json)
		printf("%s]\n", out.first ? "" : "\n");
	else if (rc == 0)
		printf("pkifs doctor: nothing to act on\n");
	if (rc == 2)
		fprintf(stderr, "pkifs: %s: %s\n", a.db, st.reason);
	pk_store_close(s);
	return rc;
}
