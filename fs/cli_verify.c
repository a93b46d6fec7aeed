/*
 * cli_verify.c: `pkifs verify CERT`: would a stack using this store accept
 * CERT, step by step (verify.h), as lines or JSON; exit 0 accepted,
 * 1 rejected, 2 when CERT or the store cannot be read.
 */
#include <stdlib.h>
#include <string.h>

#include "cli_inventory.h"
#include "cli_util.h"
#include "pkifs/verify.h"

static const char usage_verify[] =
	"usage: pkifs verify CERT [--db FILE | MOUNT] [--as client|server]\n"
	"                    [--allow-unknown-revocation] [--group app|user|https] [--json]\n"
	"\n"
	"Would a stack using this store accept CERT (DER or PEM, optionally with\n"
	"its chain)? The validation steps of OPC UA Part 4, one line each:\n"
	"structure, chain (to a self-signed root, from trusted/ and issuers/),\n"
	"signature, validity, revocation (CRLs of trusted/crl and issuers/crl; a CA\n"
	"without a valid CRL is \"unknown\", which rejects unless\n"
	"--allow-unknown-revocation), CA rules, key usage (--as: clientAuth or\n"
	"serverAuth), policy (no SHA-1, no RSA under 2048 bits) and trust list (it\n"
	"or a CA of its chain in trusted/). Exit 0 accepted, 1 rejected, 2 when\n"
	"CERT or the store cannot be read. --group: against the trust lists of the\n"
	"user-token (UserTokenCerts/) or https (HttpCerts/) group instead of the\n"
	"application group's.\n";

/* The verdicts, a line each, or as JSON. */
static void print_verdicts(const struct pk_verify_result *r, int json)
{
	static const char *const words[] = {"skipped", "ok", "FAIL", "unknown"};

	if (json) {
		printf("{\"accepted\": %s, \"chain\": ", r->accepted ? "true" : "false");
		cli_json_str(stdout, r->chain);
		printf(", \"steps\": [");
	}
	for (int i = 0; i < PK_VS_COUNT; i++) {
		const char *name = pk_verify_step_name(i), *v = words[r->step[i].verdict];
		if (json) {
			printf("%s\n  {\"step\": \"%s\", \"verdict\": \"%s\", \"why\": ",
			       i ? "," : "", name, v);
			cli_json_str(stdout, r->step[i].why);
			printf("}");
		} else {
			printf("%-11s %-8s %s\n", name, v, r->step[i].why);
		}
	}
	if (json)
		printf("\n]}\n");
	else
		printf("chain:      %s\nverdict:    %s\n", r->chain[0] ? r->chain : "-",
		       r->accepted ? "accepted" : "rejected");
}

int cmd_verify(int argc, char **argv)
{
	struct cli_args a;
	struct pk_verify_result r = {0};
	struct pk_status st = {0};
	struct pk_store *s;
	size_t len = 0;
	char *cert;
	int rc = cli_parse(argc, argv, usage_verify, &a);

	if (rc)
		return rc == 1 ? 0 : rc;
	if (a.n_rest != 1)
		return fprintf(stderr, "%s", usage_verify), 2;
	cert = cli_read_file(a.orig[0], &len);
	s = cert ? cli_open_ro(a.db) : NULL;
	if (!s) {
		free(cert);
		return 2;
	}
	if (pk_verify(s, cert, len, &a.verify, &r, &st) != PK_OK)
		rc = 2, fprintf(stderr, "pkifs: %s: %s\n", a.db, st.reason);
	else
		print_verdicts(&r, a.json), rc = !r.accepted;
	pk_store_close(s);
	free(cert);
	return rc;
}
