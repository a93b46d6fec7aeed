/*
 * mountopt.c: `-o` options of `pkifs mount`, through libfuse's option parser.
 *
 * pkifs's own options are one fuse_opt table, each with a key; the key says
 * how the value is read (a count, a byte size, a duration, a group, a view
 * name, a layout). Options of /etc/fstab and systemd mount units that mean
 * nothing to a daemon are dropped; the rest go on to libfuse.
 */
#include <errno.h>
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fuse_opt.h>

#include "mount.h"
#include "path.h"
#include "pkifs/folder.h"
#include "service.h"

enum opt_key {
	K_MAX_REJECTED,
	K_CERT_MAX,
	K_CRL_MAX,
	K_AUX_MAX,
	K_PENDING_MAX,
	K_MAX_LOCKS,
	K_RETENTION,
	K_AUTOSNAPSHOT,
	K_AUTOSNAPSHOT_KEEP,
	K_TRUST_GROUP,
	K_CAPATH,
	K_CAFILE,
	K_LAYOUT,
	K_ETCD,
	K_ETCD_PREFIX,
	K_ETCD_NODE,
	K_ETCD_CACERT,
	K_ETCD_CERT,
	K_ETCD_KEY,
	K_ETCD_USER,
	K_ETCD_PASSWORD_FILE,
};

static const struct fuse_opt opts[] = {
	FUSE_OPT_KEY("max_rejected=", K_MAX_REJECTED),
	FUSE_OPT_KEY("cert_max=", K_CERT_MAX),
	FUSE_OPT_KEY("crl_max=", K_CRL_MAX),
	FUSE_OPT_KEY("aux_max=", K_AUX_MAX),
	FUSE_OPT_KEY("pending_max=", K_PENDING_MAX),
	FUSE_OPT_KEY("max_locks=", K_MAX_LOCKS),
	FUSE_OPT_KEY("retention=", K_RETENTION),
	FUSE_OPT_KEY("autosnapshot=", K_AUTOSNAPSHOT),
	FUSE_OPT_KEY("autosnapshot_keep=", K_AUTOSNAPSHOT_KEEP),
	FUSE_OPT_KEY("trust_group=", K_TRUST_GROUP),
	FUSE_OPT_KEY("capath=", K_CAPATH),
	FUSE_OPT_KEY("cafile=", K_CAFILE),
	FUSE_OPT_KEY("layout=", K_LAYOUT),
	FUSE_OPT_KEY("etcd=", K_ETCD),
	FUSE_OPT_KEY("etcd_prefix=", K_ETCD_PREFIX),
	FUSE_OPT_KEY("etcd_node=", K_ETCD_NODE),
	FUSE_OPT_KEY("etcd_cacert=", K_ETCD_CACERT),
	FUSE_OPT_KEY("etcd_cert=", K_ETCD_CERT),
	FUSE_OPT_KEY("etcd_key=", K_ETCD_KEY),
	FUSE_OPT_KEY("etcd_user=", K_ETCD_USER),
	FUSE_OPT_KEY("etcd_password_file=", K_ETCD_PASSWORD_FILE),
	FUSE_OPT_END,
};

/* A positive decimal count: 0 and sets *n, or -1. */
static int count(const char *v, unsigned long long *n)
{
	char *end;

	errno = 0;
	*n = strtoull(v, &end, 10);
	return errno || *end || end == v || *v == '-' || *n == 0 ? -1 : 0;
}

/* A duration: N with an optional unit s, m, h or d. -1 when malformed. */
static int64_t duration(const char *v)
{
	char *end;
	long long n = strtoll(v, &end, 10);
	int64_t unit = 1;

	if (end == v || n < 0)
		return -1;
	if (*end)
		unit = *end == 's'   ? 1
		       : *end == 'm' ? 60
		       : *end == 'h' ? 3600
		       : *end == 'd' ? 86400
				     : -1;
	if (unit < 0 || (*end && end[1]))
		return -1;
	return n * unit;
}

/* -o trust_group=NAME|GID. */
static const char *group(struct mount_opts *o, const char *v)
{
	struct group *g;
	char *end;
	long gid = strtol(v, &end, 10);

	if (*v && !*end && gid >= 0) {
		o->trust_group = gid;
		return NULL;
	}
	g = getgrnam(v);
	if (!g)
		return "no such group";
	o->trust_group = g->gr_gid;
	return NULL;
}

/* -o capath=NAME|off, -o cafile=NAME|off: the views' names at the root. */
static const char *view_name(const char **slot, const char *v)
{
	if (!*v || strchr(v, '/') || strcmp(v, path_snapshot_dir) == 0 ||
	    pk_folder_child(PK_F_ROOT, v) != PK_F_NONE ||
	    pk_folder_alias(PK_F_ROOT, v) != PK_F_NONE)
		return "not a usable name";
	*slot = strcmp(v, "off") == 0 ? NULL : strdup(v);
	return NULL;
}

/* The size and count options: the field each one sets. */
static const char *limit(struct mount_opts *o, enum opt_key k, const char *v)
{
	unsigned long long n;

	if (count(v, &n) != 0 || (k == K_MAX_REJECTED && n > UINT32_MAX) ||
	    (k >= K_PENDING_MAX && n > SIZE_MAX))
		return "bad value";
	switch (k) {
	case K_MAX_REJECTED:
		o->limits.max_rejected = (unsigned)n;
		break;
	case K_CERT_MAX:
		o->limits.cert_max = n;
		break;
	case K_CRL_MAX:
		o->limits.crl_max = n;
		break;
	case K_AUX_MAX:
		o->limits.aux_max = n;
		break;
	case K_PENDING_MAX:
		o->pending_max = (size_t)n;
		break;
	default:
		o->max_locks = (size_t)n;
	}
	return NULL;
}

/* The history options: retention=DUR, autosnapshot=DUR, autosnapshot_keep=N. */
static const char *history(struct mount_opts *o, enum opt_key k, const char *v)
{
	int64_t d = duration(v);

	if (d < 0 || (k == K_RETENTION && d == 0))
		return "bad value";
	if (k == K_RETENTION)
		o->maint.retention_s = d;
	else if (k == K_AUTOSNAPSHOT)
		o->maint.auto_every_s = d;
	else
		o->maint.auto_keep = (unsigned)d;
	return NULL;
}

/* The fleet's options: endpoints (http:// or https://, '|' between them),
 * the key prefix (absolute), the node's name, TLS files. */
static const char *fleet_opt(struct fleet_opts *f, enum opt_key k, const char *v)
{
	const char **slot[] = {&f->endpoints, &f->prefix, &f->node, &f->cacert,
			       &f->cert,      &f->key,	  &f->user, &f->password_file};

	if (!*v)
		return "bad value";
	if (k == K_ETCD && strncmp(v, "http://", 7) && strncmp(v, "https://", 8))
		return "endpoints are http:// or https:// URLs, '|' between them";
	if (k == K_ETCD_PREFIX && (v[0] != '/' || strlen(v) > 200))
		return "a prefix starts with / (at most 200 bytes)";
	if (k == K_ETCD_NODE && (strlen(v) > 63 || strpbrk(v, " \n/")))
		return "a node name has at most 63 bytes, no space or /";
	free((char *)*slot[k - K_ETCD]); /* given twice: the last one counts */
	*slot[k - K_ETCD] = strdup(v);
	return NULL;
}

/* Read one of pkifs's options; NULL, or what is wrong with its value. */
static const char *set_opt(struct mount_opts *o, enum opt_key k, const char *v)
{
	switch (k) {
	case K_RETENTION:
	case K_AUTOSNAPSHOT:
	case K_AUTOSNAPSHOT_KEEP:
		return history(o, k, v);
	case K_TRUST_GROUP:
		return group(o, v);
	case K_CAPATH:
		return view_name(&path_capath_dir, v);
	case K_CAFILE:
		return view_name(&path_cafile, v);
	case K_LAYOUT:
		return path_layout_parse(v) == 0
			       ? NULL
			       : "node-opcua, part12, both, open62541 or uanet";
	case K_ETCD:
	case K_ETCD_PREFIX:
	case K_ETCD_NODE:
	case K_ETCD_CACERT:
	case K_ETCD_CERT:
	case K_ETCD_KEY:
	case K_ETCD_USER:
	case K_ETCD_PASSWORD_FILE:
		return fleet_opt(&o->fleet, k, v);
	default:
		return limit(o, k, v);
	}
}

/* Append "name" or "name=value" to the libfuse option list. */
static void pass_on(struct mount_opts *o, const char *opt)
{
	size_t len = strlen(o->fuse_opts);

	snprintf(o->fuse_opts + len, sizeof(o->fuse_opts) - len, "%s%s", len ? "," : "", opt);
}

static int opt_proc(void *data, const char *arg, int key, struct fuse_args *out)
{
	struct mount_opts *o = data;
	const char *why;

	(void)out;
	if (key == FUSE_OPT_KEY_NONOPT)
		return 1;
	if (key == FUSE_OPT_KEY_OPT) {
		if (!service_ignored_opt(arg))
			pass_on(o, arg);
		return 0;
	}
	why = set_opt(o, (enum opt_key)key, strchr(arg, '=') + 1);
	if (!why)
		return 0;
	if (strcmp(why, "bad value") == 0)
		fprintf(stderr, "pkifs: bad value in -o %s\n", arg);
	else
		fprintf(stderr, "pkifs: -o %s: %s\n", arg, why);
	return -1;
}

void mount_free_opts(struct mount_opts *o)
{
	struct fleet_opts *f = &o->fleet;
	const char *p[] = {f->endpoints, f->prefix, f->node,	   f->cacert,
			   f->cert,	 f->key,    f->user, f->password_file};

	for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++)
		free((char *)p[i]);
	memset(f, 0, sizeof(*f));
}

int mount_parse_opts(struct mount_opts *o, const char *list)
{
	char *argv[] = {"pkifs", "-o", (char *)list, NULL};
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	int rc = fuse_opt_parse(&args, o, opts, opt_proc);

	fuse_opt_free_args(&args);
	return rc == 0 ? 0 : -1;
}
