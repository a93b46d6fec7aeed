/*
 * fleet.c: the replicated folders through etcd (fleet.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "fleet.h"
#include "pkifs/replica.h"

#define TXN_TIMEOUT_MS	 3000 /* a write waits this long for etcd's quorum */
#define APPLY_TIMEOUT_MS 5000 /* then this long for the watch to bring it back */
#define LIST_PAGE	 500
#define SEED_BATCH	 100 /* etcd takes at most 128 operations a transaction */

/* Log a change of the connection's state, and leave it for `pkifs status`. */
static void fleet_state(struct fleet *fl, int up, const char *what)
{
	char line[600];

	if (up == fl->up && up)
		return;
	fl->up = up;
	snprintf(line, sizeof(line), "%s %s", up ? "watching" : "down:", what);
	syslog(up ? LOG_NOTICE : LOG_WARNING, "pkifs: etcd %s", line);
	pk_replica_note(fl->store, "state", line);
}

/* Every few seconds at most: each note is a write to the store. */
static void note_contact(struct fleet *fl)
{
	char t[32];
	time_t now = time(NULL);

	if (now - fl->contact < 10)
		return;
	fl->contact = now;
	snprintf(t, sizeof(t), "%lld", (long long)now);
	pk_replica_note(fl->store, "contact", t);
}

/* PREFIX/folder/name. */
static void make_key(const struct fleet *fl, enum pk_folder f, const char *name, char *key,
		     size_t size)
{
	snprintf(key, size, "%s/%s/%s", fl->prefix, pk_folder_info(f)->path, name);
}

/* The replicated folder and name a key names; -1 for any other key. */
static int parse_key(const struct fleet *fl, const char *key, enum pk_folder *f,
		     const char **name)
{
	size_t pl = strlen(fl->prefix);
	const char *rest = key + pl + 1, *slash;

	if (strncmp(key, fl->prefix, pl) || key[pl] != '/' || !(slash = strrchr(rest, '/')))
		return -1;
	for (int i = 0; i < PK_F_COUNT; i++) {
		const char *p = pk_folder_info(i)->path;
		if (pk_folder_info(i)->replicated && strlen(p) == (size_t)(slash - rest) &&
		    strncmp(p, rest, strlen(p)) == 0 && slash[1]) {
			*f = i;
			*name = slash + 1;
			return 0;
		}
	}
	return -1;
}

/* A value: "pkifs 1\nmode M\nmtime T\nino I\nnode N\n\n" and the file's
 * bytes (node: the machine that wrote it, for the audit rows of a resync). */
static char *make_value(const struct fleet *fl, const struct pk_repl_change *c, size_t *len)
{
	char head[192];
	int hl = snprintf(head, sizeof(head),
			  "pkifs 1\nmode %o\nmtime %lld\nino %llu\nnode %s\n\n", c->mode,
			  (long long)c->mtime_ns, (unsigned long long)c->ino, fl->node);
	char *v = malloc((size_t)hl + c->len + 1);

	if (!v)
		return NULL;
	memcpy(v, head, (size_t)hl);
	memcpy(v + hl, c->data, c->len);
	*len = (size_t)hl + c->len;
	return v;
}

/* Fill c's bytes and attributes from value v (len bytes). -1 if malformed. */
static int parse_value(unsigned char *v, size_t len, struct pk_repl_change *c)
{
	unsigned mode = 0644;
	long long mtime = 0;
	unsigned long long ino = 0;
	unsigned char *end = memmem(v, len, "\n\n", 2);
	char *save = NULL;

	if (!end || strncmp((char *)v, "pkifs 1\n", 8))
		return -1;
	*end = 0;
	c->node = NULL;
	for (char *l = strtok_r((char *)v, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (strncmp(l, "node ", 5) == 0 && l[5])
			c->node = l + 5; /* in v: lives as long as the value */
		else if (sscanf(l, "mode %o", &mode) != 1 && sscanf(l, "mtime %lld", &mtime) != 1)
			sscanf(l, "ino %llu", &ino);
	}
	c->ino = ino;
	c->mode = mode & 07777;
	c->mtime_ns = mtime;
	c->data = end + 2;
	c->len = len - (size_t)(end + 2 - v);
	return 0;
}

/* The _who value of a transaction. */
static void make_who(const struct fleet *fl, const struct pk_caller *c, const char *op,
		     char *v, size_t size)
{
	snprintf(v, size, "node %s\nop %s\nuid %u\ngid %u\npid %d\ncomm %s\n", fl->node, op,
		 c->uid, c->gid, c->pid, c->comm);
}

/* Read a _who value into o (its strings point into the buffers given). */
static void parse_who(char *v, struct pk_repl_origin *o, char *node, char *op)
{
	char *save = NULL;

	memset(o, 0, sizeof(*o));
	strcpy(node, "?");
	strcpy(op, "put");
	o->node = node;
	o->op = op;
	for (char *l = strtok_r(v, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (sscanf(l, "node %63s", node) == 1 || sscanf(l, "op %15s", op) == 1 ||
		    sscanf(l, "uid %u", &o->who.uid) == 1 || sscanf(l, "gid %u", &o->who.gid) == 1 ||
		    sscanf(l, "pid %d", &o->who.pid) == 1)
			continue;
		if (strncmp(l, "comm ", 5) == 0)
			snprintf(o->who.comm, sizeof(o->who.comm), "%s", l + 5);
	}
}

static json_t *op_put(const char *key, const void *val, size_t len)
{
	char *b = etcd_b64(val, len);
	json_t *r = json_pack("{s:{s:o,s:s}}", "request_put", "key", etcd_key(key), "value",
			      b ? b : "");

	free(b);
	return r;
}

static json_t *op_delete(const char *key)
{
	return json_pack("{s:{s:o}}", "request_delete_range", "key", etcd_key(key));
}

/* The transaction of n changes: each key unchanged since base, then the
 * puts and deletes and the _who. */
static json_t *make_txn(const struct fleet *fl, const struct pk_caller *c, const char *op,
			uint64_t base, const struct pk_repl_change *ch, size_t n)
{
	json_t *cmp = json_array(), *ops = json_array();
	char key[1024], who[256];

	for (size_t i = 0; i < n; i++) {
		size_t vl = 0;
		char *v = ch[i].data ? make_value(fl, &ch[i], &vl) : NULL;
		make_key(fl, ch[i].f, ch[i].name, key, sizeof(key));
		json_array_append_new(cmp, json_pack("{s:o,s:s,s:s,s:I}", "key", etcd_key(key),
						     "target", "MOD", "result", "LESS",
						     "mod_revision", (json_int_t)base + 1));
		json_array_append_new(ops, v ? op_put(key, v, vl) : op_delete(key));
		free(v);
	}
	snprintf(key, sizeof(key), "%s/_who", fl->prefix);
	make_who(fl, c, op, who, sizeof(who));
	json_array_append_new(ops, op_put(key, who, strlen(who)));
	return json_pack("{s:o,s:o}", "compare", cmp, "success", ops);
}

/* Wait until the store has applied rev; 0, or -1 after the bound. */
static int wait_applied(struct fleet *fl, uint64_t rev)
{
	struct timespec until;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += APPLY_TIMEOUT_MS / 1000;
	pthread_mutex_lock(&fl->lock);
	while (fl->applied < rev && rc == 0)
		rc = pthread_cond_timedwait(&fl->applied_cv, &fl->lock, &until);
	rc = fl->applied >= rev ? 0 : -1;
	pthread_mutex_unlock(&fl->lock);
	return rc;
}

/* The replicator (replica.h): one guarded etcd transaction. */
static enum pk_err fleet_commit(void *ctx, const struct pk_caller *c, const char *op,
				uint64_t base, const struct pk_repl_change *ch, size_t n,
				struct pk_status *st)
{
	struct fleet *fl = ctx;
	json_t *txn = make_txn(fl, c, op, base, ch, n), *r = NULL;
	char why[400];
	int rc = etcd_post(&fl->etcd, "/v3/kv/txn", txn, TXN_TIMEOUT_MS, &r, why, sizeof(why));
	uint64_t rev = r ? etcd_num(json_object_get(r, "header"), "revision") : 0;
	int ok = r && json_is_true(json_object_get(r, "succeeded"));

	json_decref(txn);
	json_decref(r);
	if (rc != 0 && strstr(why, "too large"))
		return pk_fail(st, PK_E_TOO_BIG, "etcd refuses a request this large (%s)", why);
	if (rc != 0)
		return pk_fail(st, PK_E_READONLY,
			       "the fleet's etcd cannot commit (%s): replicated folders are "
			       "read-only until it can",
			       why);
	if (wait_applied(fl, rev) != 0 && ok)
		syslog(LOG_WARNING, "pkifs: etcd revision %llu committed, not applied here yet",
		       (unsigned long long)rev);
	if (!ok)
		return pk_fail(st, PK_E_BUSY, "changed on another machine of the fleet meanwhile");
	return PK_OK;
}

/* Changes being gathered from the log. */
struct batch {
	struct pk_repl_change *ch;
	unsigned char **bufs; /* the decoded values ch[].data points into */
	size_t n, cap;
	uint64_t rev;
	char who[512];
};

static void batch_clear(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free((char *)b->ch[i].name);
		free(b->bufs[i]);
	}
	b->n = 0;
	b->who[0] = 0;
}

static void batch_free(struct batch *b)
{
	batch_clear(b);
	free(b->ch);
	free(b->bufs);
}

/* Add one key-value (kv) of the log; del for a deletion. */
static int batch_add(struct fleet *fl, struct batch *b, json_t *kv, int del)
{
	json_t *k = json_object_get(kv, "key"), *v = json_object_get(kv, "value");
	size_t kl = 0, vl = 0;
	unsigned char *key = json_is_string(k) ? etcd_unb64(json_string_value(k), &kl) : NULL;
	unsigned char *val = !del && json_is_string(v) ? etcd_unb64(json_string_value(v), &vl)
						       : NULL;
	struct pk_repl_change c = {0};
	const char *name;
	char who[300];
	int rc = -1;

	snprintf(who, sizeof(who), "%s/_who", fl->prefix);
	if (key && strcmp((char *)key, who) == 0 && val)
		snprintf(b->who, sizeof(b->who), "%s", val);
	else if (key && parse_key(fl, (char *)key, &c.f, &name) == 0 &&
		 (del || (val && parse_value(val, vl, &c) == 0)) && b->n < b->cap) {
		c.name = strdup(name);
		if (del)
			c.data = NULL;
		b->ch[b->n] = c;
		b->bufs[b->n++] = val;
		val = NULL;
		rc = 0;
	}
	free(key);
	free(val);
	return rc;
}

static int batch_room(struct batch *b, size_t more)
{
	if (b->n + more <= b->cap)
		return 0;
	size_t cap = (b->n + more) * 2;
	struct pk_repl_change *c = realloc(b->ch, cap * sizeof(*c));
	unsigned char **u = c ? realloc(b->bufs, cap * sizeof(*u)) : NULL;
	if (c)
		b->ch = c;
	if (!u)
		return -1;
	b->bufs = u;
	b->cap = cap;
	return 0;
}

/* The store has applied rev: wake the writers waiting for it. */
static void applied(struct fleet *fl, uint64_t rev)
{
	pthread_mutex_lock(&fl->lock);
	if (rev > fl->applied)
		fl->applied = rev;
	pthread_cond_broadcast(&fl->applied_cv);
	pthread_mutex_unlock(&fl->lock);
}

/* Apply the gathered changes of one revision. */
static void batch_apply(struct fleet *fl, struct batch *b)
{
	struct pk_repl_origin o;
	struct pk_status st = {0};
	char node[64], op[16];

	parse_who(b->who, &o, node, op);
	/* inode numbers are each store's own: only the machine that made a
	 * file keeps the one its kernel already knows */
	for (size_t i = 0; i < b->n; i++) {
		if (strcmp(node, fl->node))
			b->ch[i].ino = 0;
		b->ch[i].node = NULL; /* the revision's _who names it */
	}
	if (pk_replica_apply(fl->store, &o, b->ch, b->n, b->rev, &st) != PK_OK)
		syslog(LOG_ERR, "pkifs: applying etcd revision %llu: %s",
		       (unsigned long long)b->rev, st.reason);
	else
		applied(fl, b->rev);
	batch_clear(b);
}

/* One message of the watch: its events, revision by revision. */
static int on_watch(void *ctx, json_t *msg)
{
	struct fleet *fl = ctx;
	json_t *res = json_object_get(msg, "result"), *evs = json_object_get(res, "events"), *ev;
	struct batch b = {0};
	size_t i;

	if (!msg) { /* the stream is open and quiet */
		note_contact(fl);
		return 0;
	}
	if (!res || json_is_true(json_object_get(res, "canceled"))) {
		fl->listed = !etcd_num(res, "compact_revision") && fl->listed;
		return 1;
	}
	if (json_object_get(msg, "error")) {
		json_t *m = json_object_get(json_object_get(msg, "error"), "message");
		const char *why = json_is_string(m) ? json_string_value(m) : "";
		etcd_forget_token(&fl->etcd, why);
		fleet_state(fl, 0, why);
		return 1;
	}
	if (json_is_true(json_object_get(res, "created")))
		fleet_state(fl, 1, fl->etcd.urls[fl->etcd.cur]);
	note_contact(fl);
	if (batch_room(&b, json_array_size(evs)) != 0)
		return 1;
	json_array_foreach(evs, i, ev) {
		json_t *kv = json_object_get(ev, "kv");
		uint64_t rev = etcd_num(kv, "mod_revision");
		json_t *type = json_object_get(ev, "type");
		if (b.rev && rev != b.rev && b.n + !!b.who[0])
			batch_apply(fl, &b);
		b.rev = rev;
		batch_add(fl, &b, kv, json_is_string(type) &&
					      strcmp(json_string_value(type), "DELETE") == 0);
	}
	if (b.rev)
		batch_apply(fl, &b);
	batch_free(&b);
	return 0;
}

/* One page of the prefix from key from at revision rev (0: now): into b;
 * the revision read, the last key in *last (malloc'd), *more if there is
 * more. 0 or -1. */
static int list_page(struct fleet *fl, const char *from, size_t fromlen, uint64_t *rev,
		     struct batch *b, char **last, int *more, char *why, size_t wl)
{
	char end[300];
	json_t *req, *r = NULL, *kvs, *kv;
	size_t i;
	int rc;

	snprintf(end, sizeof(end), "%s0", fl->prefix); /* '0' follows '/' */
	req = json_pack("{s:o,s:o,s:i}", "key", etcd_keyn(from, fromlen), "range_end",
			etcd_key(end), "limit", LIST_PAGE);
	if (*rev)
		json_object_set_new(req, "revision", json_integer((json_int_t)*rev));
	rc = etcd_post(&fl->etcd, "/v3/kv/range", req, 10000, &r, why, wl);
	json_decref(req);
	if (rc != 0)
		return -1;
	*rev = etcd_num(json_object_get(r, "header"), "revision");
	*more = json_is_true(json_object_get(r, "more"));
	kvs = json_object_get(r, "kvs");
	rc = batch_room(b, json_array_size(kvs));
	json_array_foreach(kvs, i, kv) {
		size_t kl;
		json_t *k = json_object_get(kv, "key");
		if (rc == 0)
			batch_add(fl, b, kv, 0);
		if (i + 1 == json_array_size(kvs) && json_is_string(k)) {
			free(*last);
			*last = (char *)etcd_unb64(json_string_value(k), &kl);
		}
	}
	json_decref(r);
	return rc;
}

/* The whole prefix at one revision into b; b->rev is it. */
static int list_all(struct fleet *fl, struct batch *b, char *why, size_t wl)
{
	char from[1100], *last = NULL;
	size_t fromlen = (size_t)snprintf(from, sizeof(from), "%s/", fl->prefix);
	int more = 1, rc = 0;
	uint64_t rev = 0;

	while (rc == 0 && more) {
		rc = list_page(fl, from, fromlen, &rev, b, &last, &more, why, wl);
		/* the next page starts just after the last key: last + NUL */
		if (rc == 0 && more && last && strlen(last) < sizeof(from) - 1)
			fromlen = (size_t)snprintf(from, sizeof(from), "%s", last) + 1;
		else
			more = 0;
	}
	free(last);
	b->rev = rev;
	return rc;
}

/* An empty prefix and a store that has files: the first machine of a
 * fleet seeds the log with its trust list (guarded: only while no
 * transaction of the fleet's has been made). */
static int seed(struct fleet *fl, char *why, size_t wl)
{
	struct pk_repl_change *ch;
	struct pk_caller c = {(unsigned)getuid(), (unsigned)getgid(), (int)getpid(), "pkifs-seed"};
	size_t n, done = 0;
	int rc = 0;

	if (pk_replica_local(fl->store, &ch, &n) != PK_OK)
		return -1;
	while (rc == 0 && done < n) {
		size_t k = n - done < SEED_BATCH ? n - done : SEED_BATCH;
		json_t *txn = make_txn(fl, &c, "seed", 0, ch + done, k), *r = NULL;
		rc = etcd_post(&fl->etcd, "/v3/kv/txn", txn, TXN_TIMEOUT_MS, &r, why, wl);
		if (rc == 0 && !json_is_true(json_object_get(r, "succeeded")))
			done = n; /* another machine seeded first: take its list */
		json_decref(txn);
		json_decref(r);
		done += k;
	}
	pk_replica_free(ch, n);
	return rc;
}

/* List the prefix and make the store hold exactly it. */
static int resync(struct fleet *fl, char *why, size_t wl)
{
	struct batch b = {0};
	struct pk_status st = {0};
	int rc = list_all(fl, &b, why, wl);

	if (rc == 0 && b.n == 0 && !b.who[0] && pk_replica_revision(fl->store) == 0) {
		struct pk_repl_change *mine;
		size_t n = 0;
		if (pk_replica_local(fl->store, &mine, &n) == PK_OK && n)
			rc = seed(fl, why, wl) == 0 ? (batch_clear(&b), list_all(fl, &b, why, wl))
						    : -1;
		pk_replica_free(mine, n);
	}
	for (size_t i = 0; i < b.n; i++)
		b.ch[i].ino = 0; /* a resync makes new files everywhere */
	if (rc == 0 && pk_replica_reset(fl->store, b.ch, b.n, b.rev, &st) != PK_OK) {
		snprintf(why, wl, "%s", st.reason);
		rc = -1;
	}
	if (rc == 0) {
		applied(fl, b.rev);
		fl->listed = 1;
		note_contact(fl);
	}
	batch_free(&b);
	return rc;
}

/* Watch the prefix from the revision after the applied one. */
static int watch(struct fleet *fl, char *why, size_t wl)
{
	char from[300], end[300];
	json_t *req;
	int rc;

	snprintf(from, sizeof(from), "%s/", fl->prefix);
	snprintf(end, sizeof(end), "%s0", fl->prefix);
	req = json_pack("{s:{s:o,s:o,s:I}}", "create_request", "key", etcd_key(from),
			"range_end", etcd_key(end), "start_revision",
			(json_int_t)fl->applied + 1);
	rc = etcd_stream(&fl->etcd, "/v3/watch", req, on_watch, fl, &fl->stop, why, wl);
	json_decref(req);
	return rc;
}

static void *worker(void *arg)
{
	struct fleet *fl = arg;
	char why[400];
	unsigned backoff = 0;

	while (!fl->stop) {
		int rc = fl->listed ? 0 : resync(fl, why, sizeof(why));
		if (rc == 0 && !fl->stop)
			rc = watch(fl, why, sizeof(why));
		if (fl->stop)
			break;
		if (rc != 0 || !fl->listed) {
			if (rc != 0)
				fleet_state(fl, 0, why);
			backoff = backoff < 8 ? backoff + 1 : 8;
			for (unsigned i = 0; i < backoff * 2 && !fl->stop; i++)
				usleep(125000);
		} else {
			backoff = 0;
			usleep(100000); /* the watch ended cleanly: not in a tight loop */
		}
	}
	return NULL;
}

/* The etcd client and the prefix of options o. 0, or -1 with a message
 * printed. */
static int connect_etcd(struct fleet *fl, const struct fleet_opts *o)
{
	if (etcd_init(&fl->etcd, o->endpoints, o->cacert, o->cert, o->key) != 0) {
		fprintf(stderr, "pkifs: -o etcd=: no endpoint\n");
		return -1;
	}
	if (o->user && (!o->password_file ||
			etcd_set_auth(&fl->etcd, o->user, o->password_file) != 0)) {
		fprintf(stderr, "pkifs: -o etcd_user=%s: cannot read -o etcd_password_file=%s\n",
			o->user, o->password_file ? o->password_file : "(none)");
		etcd_free(&fl->etcd);
		return -1;
	}
	snprintf(fl->prefix, sizeof(fl->prefix), "%s", o->prefix ? o->prefix : "/pkifs");
	for (size_t l = strlen(fl->prefix); l > 1 && fl->prefix[l - 1] == '/'; l--)
		fl->prefix[l - 1] = 0;
	return 0;
}

int fleet_start(struct fleet *fl, struct pk_store *s, const struct fleet_opts *o)
{
	struct pk_replicator r = {fleet_commit, fl};
	char host[64] = "localhost";

	if (!o->endpoints)
		return 0;
	if (connect_etcd(fl, o) != 0)
		return -1;
	gethostname(host, sizeof(host) - 1);
	fl->store = s;
	snprintf(fl->node, sizeof(fl->node), "%s", o->node ? o->node : host);
	pthread_mutex_init(&fl->lock, NULL);
	pthread_cond_init(&fl->applied_cv, NULL);
	fl->applied = pk_replica_revision(s);
	fl->listed = fl->applied > 0;
	fl->up = -1; /* neither: the first state is logged */
	pk_replica_note(s, "endpoints", o->endpoints);
	pk_replica_note(s, "prefix", fl->prefix);
	pk_replica_note(s, "node", fl->node);
	pk_replica_note(s, "cacert", o->cacert); /* the files' names, not their content */
	pk_replica_note(s, "cert", o->cert);
	pk_replica_note(s, "key", o->key);
	pk_replica_note(s, "user", o->user);
	pk_replica_note(s, "password_file", o->password_file);
	pk_replica_note(s, "state", "starting");
	pk_store_set_replicator(s, &r);
	fl->running = pthread_create(&fl->thread, NULL, worker, fl) == 0;
	return fl->running ? 0 : -1;
}

void fleet_stop(struct fleet *fl)
{
	if (!fl->store)
		return;
	fl->stop = 1;
	if (fl->running)
		pthread_join(fl->thread, NULL);
	pk_store_set_replicator(fl->store, NULL);
	pk_replica_note(fl->store, "state", "stopped");
	pthread_cond_destroy(&fl->applied_cv);
	pthread_mutex_destroy(&fl->lock);
	etcd_free(&fl->etcd);
	fl->store = NULL;
}

uint64_t fleet_head(const struct fleet_opts *o, char *why, size_t whylen)
{
	struct etcd e;
	json_t *req = json_pack("{s:s,s:b}", "key", "AA==", "count_only", 1), *r = NULL;
	uint64_t rev = 0;

	snprintf(why, whylen, "cannot read the password file");
	if (etcd_init(&e, o->endpoints, o->cacert, o->cert, o->key) == 0 &&
	    (!o->user || etcd_set_auth(&e, o->user, o->password_file) == 0) &&
	    etcd_post(&e, "/v3/kv/range", req, 2000, &r, why, whylen) == 0)
		rev = etcd_num(json_object_get(r, "header"), "revision");
	json_decref(req);
	json_decref(r);
	etcd_free(&e);
	return rev;
}

int fleet_each_file(const struct fleet_opts *o, fleet_file_fn fn, void *ctx, uint64_t *rev,
		    char *why, size_t whylen)
{
	struct fleet fl = {0};
	struct batch b = {0};
	int rc;

	snprintf(why, whylen, "bad fleet options");
	if (connect_etcd(&fl, o) != 0)
		return -1;
	rc = list_all(&fl, &b, why, whylen);
	for (size_t i = 0; rc == 0 && i < b.n; i++)
		rc = fn(ctx, &b.ch[i]) ? 1 : 0;
	*rev = b.rev;
	batch_free(&b);
	etcd_free(&fl.etcd);
	return rc < 0 ? -1 : 0;
}
