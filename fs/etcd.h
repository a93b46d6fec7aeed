/*
 * etcd.h: a small client of etcd's v3 API through its JSON gateway.
 *
 * etcd serves its gRPC API as JSON over HTTP too (POST /v3/kv/range,
 * /v3/kv/txn, /v3/watch ...); keys and values are base64 in it, revisions
 * are decimal strings. libcurl carries it (TLS and client certificates
 * included); jansson reads and writes the JSON. Each call makes its own
 * curl handle, so threads may call at once. The endpoints are tried in
 * turn: a call that cannot connect to one tries the next; one that timed
 * out does not (a member without quorum answers no faster).
 */
#ifndef PKIFS_FS_ETCD_H
#define PKIFS_FS_ETCD_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct etcd {
	char **urls; /* http(s)://host:port, no trailing slash */
	size_t n;
	size_t cur; /* the endpoint that answered last */
	char *cacert, *cert, *key;
	char *user, *password; /* etcd's own auth (RBAC): a token per session */
	char token[512];
	pthread_mutex_t lock;
};

/* urls: '|'-separated; the TLS files may be NULL. 0, or -1 (no endpoint). */
int etcd_init(struct etcd *e, const char *urls, const char *cacert, const char *cert,
	      const char *key);
void etcd_free(struct etcd *e);

/* Authenticate as user with the password in file (its first line): calls
 * carry etcd's token from then on, fetched again when etcd drops it. 0, or
 * -1 when the file cannot be read. */
int etcd_set_auth(struct etcd *e, const char *user, const char *password_file);

/* A stream said the token is no good: the next call fetches a new one. */
void etcd_forget_token(struct etcd *e, const char *why);

/* POST body (not consumed) to path; *out is the reply's JSON. 0; -1 when
 * no endpoint answered (why says what happened); -2 when etcd answered
 * with an error (why holds its message). */
int etcd_post(struct etcd *e, const char *path, json_t *body, long timeout_ms, json_t **out,
	      char *why, size_t whylen);

/* A stream (the watch): fn for each message until it returns nonzero, the
 * stream ends, or *stop is set (and about once a second with msg NULL
 * while the stream is open and quiet); then the same return as etcd_post (0 when
 * fn or *stop ended it). */
typedef int (*etcd_msg_fn)(void *ctx, json_t *msg);
int etcd_stream(struct etcd *e, const char *path, json_t *body, etcd_msg_fn fn, void *ctx,
		const volatile int *stop, char *why, size_t whylen);

/* base64 of data (malloc'd) and back (malloc'd, NUL-terminated beyond len). */
char *etcd_b64(const void *data, size_t len);
unsigned char *etcd_unb64(const char *s, size_t *len);

/* A JSON string of base64(s) / an int64 field that etcd sends as a string. */
json_t *etcd_key(const char *s);
json_t *etcd_keyn(const void *s, size_t len);
uint64_t etcd_num(json_t *obj, const char *field);

#endif
