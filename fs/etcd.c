/*
 * etcd.c: etcd's v3 JSON gateway over libcurl (etcd.h).
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "etcd.h"

int etcd_init(struct etcd *e, const char *urls, const char *cacert, const char *cert,
	      const char *key)
{
	char *copy = strdup(urls), *save = NULL;

	memset(e, 0, sizeof(*e));
	pthread_mutex_init(&e->lock, NULL);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	for (char *u = strtok_r(copy, "|", &save); u; u = strtok_r(NULL, "|", &save)) {
		char **p = realloc(e->urls, (e->n + 1) * sizeof(*p));
		size_t len = strlen(u);
		if (!p)
			break;
		e->urls = p;
		while (len && u[len - 1] == '/')
			u[--len] = 0;
		e->urls[e->n++] = strdup(u);
	}
	free(copy);
	e->cacert = cacert ? strdup(cacert) : NULL;
	e->cert = cert ? strdup(cert) : NULL;
	e->key = key ? strdup(key) : NULL;
	return e->n ? 0 : -1;
}

void etcd_free(struct etcd *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->urls[i]);
	free(e->urls);
	free(e->cacert);
	free(e->cert);
	free(e->key);
	free(e->user);
	if (e->password)
		explicit_bzero(e->password, strlen(e->password));
	free(e->password);
	pthread_mutex_destroy(&e->lock);
	memset(e, 0, sizeof(*e));
}

int etcd_set_auth(struct etcd *e, const char *user, const char *password_file)
{
	char line[512] = "";
	FILE *f = fopen(password_file, "r");

	if (!f)
		return -1;
	if (!fgets(line, sizeof(line), f))
		line[0] = 0;
	fclose(f);
	line[strcspn(line, "\r\n")] = 0;
	e->user = strdup(user);
	e->password = strdup(line);
	explicit_bzero(line, sizeof(line));
	return e->user && e->password ? 0 : -1;
}

/* What a transfer collects: the whole reply, or lines for a stream. */
struct sink {
	char *buf;
	size_t len, cap;
	etcd_msg_fn fn; /* NULL: keep the whole reply */
	void *ctx;
	const volatile int *stop;
	int ended; /* fn or *stop ended the stream */
};

/* Hand each complete line of the stream to fn. */
static void sink_lines(struct sink *k)
{
	char *nl;

	while (!k->ended && (nl = memchr(k->buf, '\n', k->len))) {
		json_t *msg = json_loadb(k->buf, (size_t)(nl - k->buf), 0, NULL);
		size_t used = (size_t)(nl - k->buf) + 1;
		if (msg && k->fn(k->ctx, msg))
			k->ended = 1;
		json_decref(msg);
		memmove(k->buf, k->buf + used, k->len - used);
		k->len -= used;
	}
}

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
	struct sink *k = ctx;
	size_t len = size * n;

	if (k->len + len + 1 > k->cap) {
		size_t cap = (k->len + len + 1) * 2;
		char *b = realloc(k->buf, cap);
		if (!b)
			return 0;
		k->buf = b;
		k->cap = cap;
	}
	memcpy(k->buf + k->len, p, len);
	k->len += len;
	k->buf[k->len] = 0;
	if (k->fn)
		sink_lines(k);
	return k->ended ? 0 : len;
}

static int on_progress(void *ctx, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	struct sink *k = ctx;

	(void)a, (void)b, (void)c, (void)d;
	if (k->stop && *k->stop)
		k->ended = 1;
	else if (k->fn(k->ctx, NULL))
		k->ended = 1;
	return k->ended;
}

/* One transfer to endpoint i; the curl result, *http the status. */
static CURLcode transfer(struct etcd *e, size_t i, const char *path, const char *body,
			 long timeout_ms, struct sink *k, long *http)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	char url[512], auth[600];
	CURLcode rc;

	if (!c)
		return CURLE_OUT_OF_MEMORY;
	pthread_mutex_lock(&e->lock);
	snprintf(auth, sizeof(auth), "Authorization: %s", e->token);
	pthread_mutex_unlock(&e->lock);
	if (auth[15])
		h = curl_slist_append(h, auth);
	snprintf(url, sizeof(url), "%s%s", e->urls[i], path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, k);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 5L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 2L);
	if (timeout_ms)
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	if (k->fn) {
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, k);
	}
	if (e->cacert)
		curl_easy_setopt(c, CURLOPT_CAINFO, e->cacert);
	if (e->cert)
		curl_easy_setopt(c, CURLOPT_SSLCERT, e->cert);
	if (e->key)
		curl_easy_setopt(c, CURLOPT_SSLKEY, e->key);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, http);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return rc;
}

/* etcd's own error in a reply: its message, or NULL. */
static const char *reply_error(json_t *r)
{
	json_t *m = json_object_get(r, "message");

	if (!m)
		m = json_object_get(r, "error");
	return json_is_string(m) ? json_string_value(m) : NULL;
}

static int call(struct etcd *e, const char *path, json_t *body, long timeout_ms,
		struct sink *k, json_t **out, char *why, size_t whylen);

/* Get a token for the user (none configured: nothing to do). 0 or -1. */
static int authenticate(struct etcd *e, char *why, size_t whylen)
{
	json_t *req, *r = NULL;
	struct sink k = {0};
	int rc;

	if (!e->user)
		return 0;
	req = json_pack("{s:s,s:s}", "name", e->user, "password", e->password);
	rc = call(e, "/v3/auth/authenticate", req, 3000, &k, &r, why, whylen);
	json_decref(req);
	free(k.buf);
	if (rc == 0 && !json_is_string(json_object_get(r, "token"))) {
		snprintf(why, whylen, "etcd gave no token for user %s", e->user);
		rc = -2;
	}
	pthread_mutex_lock(&e->lock);
	if (rc == 0)
		snprintf(e->token, sizeof(e->token), "%s",
			 json_string_value(json_object_get(r, "token")));
	pthread_mutex_unlock(&e->lock);
	json_decref(r);
	return rc;
}

/* The call failed on etcd's auth: a token it no longer knows, or none. */
static int auth_failed(const char *why)
{
	return strstr(why, "auth token") || strstr(why, "user name is empty") ||
	       strstr(why, "token");
}

/* A call with the user's token, fetched (again) when etcd wants one. */
static int authed_call(struct etcd *e, const char *path, json_t *body, long timeout_ms,
		       struct sink *k, json_t **out, char *why, size_t whylen)
{
	int rc, have;

	pthread_mutex_lock(&e->lock);
	have = e->token[0] != 0;
	pthread_mutex_unlock(&e->lock);
	if (e->user && !have && (rc = authenticate(e, why, whylen)) != 0)
		return rc;
	rc = call(e, path, body, timeout_ms, k, out, why, whylen);
	if (rc == -2 && e->user && auth_failed(why)) {
		pthread_mutex_lock(&e->lock);
		e->token[0] = 0;
		pthread_mutex_unlock(&e->lock);
		if ((rc = authenticate(e, why, whylen)) == 0)
			rc = call(e, path, body, timeout_ms, k, out, why, whylen);
	}
	return rc;
}

void etcd_forget_token(struct etcd *e, const char *why)
{
	if (!auth_failed(why))
		return;
	pthread_mutex_lock(&e->lock);
	e->token[0] = 0;
	pthread_mutex_unlock(&e->lock);
}

/* Run a transfer on the endpoints in turn from the last good one. */
static int call(struct etcd *e, const char *path, json_t *body, long timeout_ms,
		struct sink *k, json_t **out, char *why, size_t whylen)
{
	char *text = json_dumps(body, JSON_COMPACT);
	/* a stream is not tried again elsewhere: its caller resumes it from
	 * what it has applied; the next call starts at the next endpoint */
	size_t first, tries = k->fn ? 1 : e->n;
	int rc = -1;

	pthread_mutex_lock(&e->lock);
	first = e->cur;
	pthread_mutex_unlock(&e->lock);
	snprintf(why, whylen, "no etcd endpoint");
	for (size_t t = 0; text && t < tries && rc == -1; t++) {
		size_t i = (first + t) % e->n;
		long http = 0;
		CURLcode c;
		k->len = 0;
		c = transfer(e, i, path, text, timeout_ms, k, &http);
		if (k->ended || (c == CURLE_OK && http == 200)) {
			rc = 0;
		} else if (c == CURLE_OK || c == CURLE_WRITE_ERROR) {
			json_t *r = json_loadb(k->buf ? k->buf : "", k->len, 0, NULL);
			const char *m = reply_error(r);
			snprintf(why, whylen, "%s: %s", e->urls[i], m ? m : "HTTP error");
			json_decref(r);
			rc = -2;
		} else {
			snprintf(why, whylen, "%s: %s", e->urls[i], curl_easy_strerror(c));
			if (c == CURLE_OPERATION_TIMEDOUT && !k->fn)
				rc = -3; /* no quorum answers no faster elsewhere */
		}
		pthread_mutex_lock(&e->lock);
		e->cur = rc == 0 || rc == -2 ? i : (i + 1) % e->n;
		pthread_mutex_unlock(&e->lock);
	}
	free(text);
	if (rc == 0 && out && !(*out = json_loadb(k->buf ? k->buf : "", k->len, 0, NULL))) {
		snprintf(why, whylen, "etcd's reply is not JSON");
		rc = -2;
	}
	return rc == -3 ? -1 : rc;
}

int etcd_post(struct etcd *e, const char *path, json_t *body, long timeout_ms, json_t **out,
	      char *why, size_t whylen)
{
	struct sink k = {0};
	int rc = authed_call(e, path, body, timeout_ms, &k, out, why, whylen);

	free(k.buf);
	return rc;
}

int etcd_stream(struct etcd *e, const char *path, json_t *body, etcd_msg_fn fn, void *ctx,
		const volatile int *stop, char *why, size_t whylen)
{
	struct sink k = {.fn = fn, .ctx = ctx, .stop = stop};
	int rc = authed_call(e, path, body, 0, &k, NULL, why, whylen);

	free(k.buf);
	if (rc == 0 && !k.ended)
		snprintf(why, whylen, "the watch stream ended");
	return rc == 0 && !k.ended ? -1 : rc;
}

char *etcd_b64(const void *data, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);

	if (out)
		EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

unsigned char *etcd_unb64(const char *s, size_t *len)
{
	size_t n = strlen(s);
	unsigned char *out = malloc(3 * (n / 4) + 1);
	int got;

	if (!out)
		return NULL;
	got = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
	if (got < 0) {
		free(out);
		return NULL;
	}
	/* EVP_DecodeBlock counts the padding as bytes */
	while (n && s[n - 1] == '=' && got > 0)
		n--, got--;
	out[got] = 0;
	*len = (size_t)got;
	return out;
}

json_t *etcd_key(const char *s)
{
	return etcd_keyn(s, strlen(s));
}

json_t *etcd_keyn(const void *s, size_t len)
{
	char *b = etcd_b64(s, len);
	json_t *j = json_string(b ? b : "");

	free(b);
	return j;
}

uint64_t etcd_num(json_t *obj, const char *field)
{
	json_t *v = json_object_get(obj, field);

	if (json_is_string(v))
		return strtoull(json_string_value(v), NULL, 10);
	return json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
}
