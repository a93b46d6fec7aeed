/*
 * cli_own.c: `pkifs own create|renew|import`: the application's own
 * certificate and key, made and stored in one audited transaction, on a
 * mounted store (the mount shows it within its poll interval) or not.
 */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_inventory.h"
#include "cli_util.h"
#include "pkifs/inventory.h"
#include "pkifs/owncert.h"
#include "pkifs/trust.h"

static const char usage_own[] =
	"usage: pkifs own create [--db FILE | MOUNT] --uri URI [--dns NAME]... [--ip ADDR]...\n"
	"                        [--cn NAME] [--org ORG] [--key ALG] [--days N] [--name NAME]\n"
	"                        [--cert-file FILE] [--key-file FILE] [--csr OUT]\n"
	"       pkifs own renew [--db FILE | MOUNT] CERTNAME [--new-key] [--days N]\n"
	"       pkifs own import [--db FILE | MOUNT] CERT [--name FILE]\n"
	"\n"
	"create: a key and a self-signed OPC UA application instance certificate\n"
	"(subjectAltName URI and DNS/IP names; digitalSignature, nonRepudiation,\n"
	"keyEncipherment, dataEncipherment (EC: keyAgreement), keyCertSign;\n"
	"serverAuth, clientAuth; SHA-256) into own/certs/NAME.der and\n"
	"own/private/NAME.pem (0600) in one transaction. ALG: rsa2048 (default),\n"
	"rsa3072, rsa4096, ec-p256, ec-p384; --days default 365; NAME default the\n"
	"CN. --cert-file/--key-file name the files as a stack expects them\n"
	"(node-opcua: certificate.pem and private_key.pem; a .pem certificate is\n"
	"written as PEM). --csr OUT stores only the key and writes a PKCS#10\n"
	"request to OUT for a CA to sign; `own import` then adds the signed\n"
	"certificate, which pairs with its key by public key.\n"
	"renew: a new certificate with the subject, names and usages of\n"
	"own/certs/CERTNAME, for the same key (--new-key: a new key of the same type\n"
	"replaces it); the old one stays in history (snapshot --at).\n";

struct own_args {
	char db[4096];
	struct pk_own_spec spec;
	const char *name, *cert_file, *key_file, *csr, *target;
	int new_key;
};

/* One option with a value into a; 0, or -1 when it is none of ours. */
static int option(struct own_args *a, const char *opt, const char *val)
{
	struct pk_own_spec *sp = &a->spec;

	if (!strcmp(opt, "--uri"))
		sp->uri = val;
	else if (!strcmp(opt, "--dns") && sp->n_dns < PK_OWN_MAX_NAMES)
		sp->dns[sp->n_dns++] = val;
	else if (!strcmp(opt, "--ip") && sp->n_ip < PK_OWN_MAX_NAMES)
		sp->ip[sp->n_ip++] = val;
	else if (!strcmp(opt, "--cn"))
		sp->cn = val;
	else if (!strcmp(opt, "--org"))
		sp->org = val;
	else if (!strcmp(opt, "--key"))
		sp->key = val;
	else if (!strcmp(opt, "--days"))
		sp->days = atoi(val);
	else if (!strcmp(opt, "--name"))
		a->name = val;
	else if (!strcmp(opt, "--cert-file"))
		a->cert_file = val;
	else if (!strcmp(opt, "--key-file"))
		a->key_file = val;
	else if (!strcmp(opt, "--csr"))
		a->csr = val;
	else if (!strcmp(opt, "--db"))
		snprintf(a->db, sizeof(a->db), "%s", val);
	else
		return -1;
	return 0;
}

/* Parse `own SUB ...`; 0, or 2 after the usage. */
static int parse_own(int argc, char **argv, struct own_args *a)
{
	memset(a, 0, sizeof(*a));
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--new-key"))
			a->new_key = 1;
		else if (argv[i][0] == '-' && i + 1 < argc &&
			 option(a, argv[i], argv[i + 1]) == 0)
			i++;
		else if (argv[i][0] != '-' && !a->db[0] &&
			 cli_db_of_path(argv[i], a->db, sizeof(a->db), NULL, 0) == 0)
			continue;
		else if (argv[i][0] != '-' && !a->target)
			a->target = argv[i];
		else
			return fprintf(stderr, "pkifs own: unexpected %s\n%s", argv[i],
				       usage_own),
			       2;
	}
	if (!a->db[0])
		return fprintf(stderr, "pkifs: no store: give --db FILE or a mountpoint\n%s",
			       usage_own),
		       2;
	return 0;
}

/* A file to put: bytes, a mode, now. */
static struct pk_file file_of(const void *data, size_t len, unsigned mode)
{
	struct pk_file f = {data, len, {0}};
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	f.attr.mode = mode;
	f.attr.uid = (unsigned)getuid();
	f.attr.gid = (unsigned)getgid();
	f.attr.mtime_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	return f;
}

/* Does name end in .pem (the certificate is then written as PEM)? */
static int is_pem(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && !strcmp(name + n - 4, ".pem");
}

/* Report a refusal in one line; the exit status. */
static int refused(const char *what, const struct pk_status *st)
{
	fprintf(stderr, "pkifs own: %s refused: %s\n", what, st->reason);
	return 1;
}

/* The file names of create: own/certs/CERT and own/private/KEY. */
static void create_names(const struct own_args *a, char *cert, char *key, size_t size)
{
	const char *cut = strrchr(a->spec.uri, ':');
	const char *base = a->name	   ? a->name
			   : a->spec.cn	   ? a->spec.cn
			   : cut && cut[1] ? cut + 1
					   : "own";

	if (a->cert_file)
		snprintf(cert, size, "%s", a->cert_file);
	else
		snprintf(cert, size, "%s.der", base);
	if (a->key_file)
		snprintf(key, size, "%s", a->key_file);
	else
		snprintf(key, size, "%s.pem", base);
}

/* Write a request to path: 0, or -1 after a message. */
static int write_request(const char *path, const struct pk_own_out *out)
{
	FILE *f = fopen(path, "w");
	int ok = f && fwrite(out->cert, 1, out->cert_len, f) == out->cert_len;

	if (f && fclose(f) != 0)
		ok = 0;
	if (!ok)
		fprintf(stderr, "pkifs own: cannot write %s\n", path);
	return ok ? 0 : -1;
}

/* Put a certificate and its key in one transaction. */
static enum pk_err put_pair(struct pk_store *s, const char *cert_name, const struct pk_file *cf,
			    const char *key_name, const struct pk_file *kf, unsigned flags,
			    struct pk_status *st)
{
	struct pk_caller me;
	struct pk_put cert = {PK_F_OWN_CERTS, cert_name, cf, flags};
	struct pk_put key = {PK_F_OWN_PRIVATE, key_name, kf, flags};

	cli_self(&me);
	return pk_trust_put_pair(s, &me, &cert, &key, st);
}

/* own create: a key and its certificate, or a key and a request. */
static int own_create(struct pk_store *s, struct own_args *a)
{
	char cert_name[256], key_name[256];
	struct pk_own_out out;
	struct pk_status st = {0};
	struct pk_caller me;
	struct pk_file cf, kf;
	enum pk_err e;

	if (!a->spec.uri)
		return fprintf(stderr, "pkifs own create: --uri is required\n%s", usage_own), 2;
	create_names(a, cert_name, key_name, sizeof(cert_name));
	a->spec.pem = is_pem(cert_name);
	e = a->csr ? pk_own_request(&a->spec, &out, &st) : pk_own_make(&a->spec, &out, &st);
	if (e != PK_OK)
		return refused("create", &st);
	cli_self(&me);
	cf = file_of(out.cert, out.cert_len, 0644);
	kf = file_of(out.key, out.key_len, 0600);
	if (a->csr && write_request(a->csr, &out) != 0)
		e = PK_E_IO;
	else if (a->csr)
		e = pk_trust_put(s, &me, PK_F_OWN_PRIVATE, key_name, &kf, PK_NOREPLACE, &st);
	else
		e = put_pair(s, cert_name, &cf, key_name, &kf, PK_NOREPLACE, &st);
	pk_own_out_free(&out);
	if (e == PK_OK && a->csr)
		printf("own/private/%s; request in %s\n", key_name, a->csr);
	else if (e == PK_OK)
		printf("own/certs/%s and own/private/%s\n", cert_name, key_name);
	return e == PK_OK ? 0 : st.reason[0] ? refused("create", &st) : 1;
}

/* The bytes of own/certs/name's key, and its name; -1 after a message. */
static int read_key(struct pk_store *s, const char *name, char *key_name, size_t size,
		    void **key, size_t *len)
{
	struct pk_attr at;

	if (pk_inventory_pair(s, PK_F_OWN_CERTS, name, key_name, size) != PK_OK ||
	    pk_store_read(s, PK_F_OWN_PRIVATE, key_name, key, len, &at) != PK_OK) {
		fprintf(stderr,
			"pkifs own renew: no key of own/certs/%s in own/private "
			"(--new-key makes one)\n",
			name);
		return -1;
	}
	return 0;
}

/* own renew: a new certificate like the old, same key or a new one. */
static int own_renew(struct pk_store *s, struct own_args *a)
{
	char key_name[256];
	void *old = NULL, *key = NULL;
	size_t old_len = 0, key_len = 0;
	struct pk_own_out out = {0};
	struct pk_status st = {0};
	struct pk_caller me;
	struct pk_attr at;
	struct pk_file cf, kf;
	enum pk_err e = PK_E_NOENT;

	if (!a->target)
		return fprintf(stderr, "%s", usage_own), 2;
	if (pk_store_read(s, PK_F_OWN_CERTS, a->target, &old, &old_len, &at) != PK_OK)
		fprintf(stderr, "pkifs own renew: no own/certs/%s\n", a->target);
	else if (a->new_key && pk_inventory_pair(s, PK_F_OWN_CERTS, a->target, key_name,
						 sizeof(key_name)) != PK_OK)
		snprintf(key_name, sizeof(key_name), "%s.pem", a->target);
	if (old && (a->new_key ||
		    read_key(s, a->target, key_name, sizeof(key_name), &key, &key_len) == 0))
		e = pk_own_renew(old, old_len, key, key_len, a->spec.days, is_pem(a->target),
				 &out, &st);
	cli_self(&me);
	cf = file_of(out.cert, out.cert_len, 0644);
	kf = file_of(out.key, out.key_len, 0600);
	if (e == PK_OK && a->new_key)
		e = put_pair(s, a->target, &cf, key_name, &kf, 0, &st);
	else if (e == PK_OK)
		e = pk_trust_put(s, &me, PK_F_OWN_CERTS, a->target, &cf, 0, &st);
	if (e == PK_OK)
		printf("own/certs/%s renewed%s%s\n", a->target,
		       a->new_key ? ", new key own/private/" : "", a->new_key ? key_name : "");
	pk_own_out_free(&out);
	free(old);
	free(key);
	return e == PK_OK ? 0 : st.reason[0] ? refused("renew", &st) : 1;
}

/* own import: a certificate a CA signed, beside the key of its request. */
static int own_import(struct pk_store *s, struct own_args *a)
{
	char copy[4096], pair[256];
	struct pk_status st = {0};
	struct pk_caller me;
	struct pk_file f;
	size_t len = 0;
	char *data = a->target ? cli_read_file(a->target, &len) : NULL;
	const char *name = a->name;
	enum pk_err e;

	if (!data)
		return a->target ? 2 : (fprintf(stderr, "%s", usage_own), 2);
	snprintf(copy, sizeof(copy), "%s", a->target);
	if (!name)
		name = basename(copy);
	cli_self(&me);
	f = file_of(data, len, 0644);
	e = pk_trust_put(s, &me, PK_F_OWN_CERTS, name, &f, PK_NOREPLACE, &st);
	free(data);
	if (e != PK_OK)
		return refused("import", &st);
	if (pk_inventory_pair(s, PK_F_OWN_CERTS, name, pair, sizeof(pair)) == PK_OK)
		printf("own/certs/%s, paired with own/private/%s\n", name, pair);
	else
		printf("own/certs/%s (no key in own/private pairs with it yet)\n", name);
	return 0;
}

int cmd_own(int argc, char **argv)
{
	struct own_args a;
	struct pk_store *s;
	int rc;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return printf("%s", usage_own), argc < 2 ? 2 : 0;
	rc = parse_own(argc, argv, &a);
	if (rc)
		return rc;
	if (strcmp(argv[1], "create") && strcmp(argv[1], "renew") && strcmp(argv[1], "import"))
		return fprintf(stderr, "pkifs own: unknown %s\n%s", argv[1], usage_own), 2;
	s = cli_open_rw(a.db);
	if (!s)
		return 2;
	rc = !strcmp(argv[1], "create")	 ? own_create(s, &a)
	     : !strcmp(argv[1], "renew") ? own_renew(s, &a)
					 : own_import(s, &a);
	pk_store_close(s);
	cli_sync_mount(a.db);
	return rc;
}
