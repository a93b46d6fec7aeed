/*
 * test_replica.c: the store's side of a fleet (replica.h) on a real SQLite
 * file with real certificates: a replicator sees validated changes and the
 * store is left as it was; the log's batches apply as one generation each,
 * a refused change alone is skipped; a reset makes the replicated folders
 * equal to a list and leaves the local folders alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pkifs/audit.h"
#include "pkifs/replica.h"
#include "pkifs/store.h"
#include "pkifs/trust.h"
#include "testpki.h"

static const struct pk_caller me = {0, 0, 1, "unit"};
static char dbpath[256];

/* What the replicator was handed. */
struct seen {
	int calls;
	size_t n;
	struct pk_repl_change ch[2];
	char names[2][64];
	uint64_t base;
	enum pk_err answer;
};

static enum pk_err record(void *ctx, const struct pk_caller *c, const char *op, uint64_t base,
			  const struct pk_repl_change *ch, size_t n, struct pk_status *st)
{
	struct seen *s = ctx;

	(void)c;
	(void)op;
	s->calls++;
	s->n = n;
	s->base = base;
	for (size_t i = 0; i < n && i < 2; i++) {
		s->ch[i] = ch[i];
		snprintf(s->names[i], sizeof(s->names[i]), "%s", ch[i].name);
		s->ch[i].name = s->names[i];
		s->ch[i].data = NULL; /* not kept: the caller's bytes */
		s->ch[i].len = ch[i].data ? ch[i].len : 0;
	}
	if (s->answer != PK_OK)
		return pk_fail(st, s->answer, "the log cannot commit");
	return PK_OK;
}

static int setup(void **state)
{
	struct pk_store_opts o = {.create = 1};
	struct pk_status st;
	struct pk_store *s;

	snprintf(dbpath, sizeof(dbpath), "/tmp/pkifs-unit-replica-%d.db", (int)getpid());
	unlink(dbpath);
	pk_limits_default(&o.limits);
	assert_int_equal(pk_store_open(dbpath, &o, &s, &st), PK_OK);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	pk_store_close(*state);
	test_rm_db(dbpath);
	return 0;
}

static enum pk_err put(struct pk_store *s, enum pk_folder f, const char *name, const char *file,
		       struct pk_status *st)
{
	struct pk_file pf = {0};
	size_t len;
	void *data = test_pki_file(file, &len);
	enum pk_err e;

	pf.data = data;
	pf.len = len;
	pf.attr.mode = 0644;
	e = pk_trust_put(s, &me, f, name, &pf, 0, st);
	free(data);
	return e;
}

static int exists(struct pk_store *s, enum pk_folder f, const char *name)
{
	struct pk_attr a;

	return pk_store_lookup(s, f, name, &a) == PK_OK;
}

/* A change of the log holding a test PKI file (data malloc'd). */
static struct pk_repl_change file_change(enum pk_folder f, const char *name, const char *file)
{
	struct pk_repl_change c = {.f = f, .name = name, .mode = 0644};

	c.data = test_pki_file(file, &c.len);
	return c;
}

static void validated_put_goes_to_the_replicator_not_the_store(void **state)
{
	struct pk_store *s = *state;
	struct seen seen = {0};
	struct pk_replicator r = {record, &seen};
	struct pk_status st = {0};
	uint64_t gen = pk_store_generation(s);

	pk_store_set_replicator(s, &r);
	assert_int_equal(put(s, PK_F_TRUSTED_CERTS, "ca.der", "root-ca.der", &st), PK_OK);
	assert_int_equal(seen.calls, 1);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.ch[0].f, PK_F_TRUSTED_CERTS);
	assert_string_equal(seen.names[0], "ca.der");
	assert_true(seen.ch[0].len > 0);
	assert_false(exists(s, PK_F_TRUSTED_CERTS, "ca.der"));
	assert_int_equal(pk_store_generation(s), gen);
	/* a local folder commits here, without the replicator */
	assert_int_equal(put(s, PK_F_REJECTED, "x.der", "app1.der", &st), PK_OK);
	assert_int_equal(seen.calls, 1);
	assert_true(exists(s, PK_F_REJECTED, "x.der"));
}

static void refused_change_never_reaches_the_replicator(void **state)
{
	struct pk_store *s = *state;
	struct seen seen = {0};
	struct pk_replicator r = {record, &seen};
	struct pk_status st = {0};

	pk_store_set_replicator(s, &r);
	/* a leaf certificate is no CA: issuers/certs refuses it, as without a fleet */
	assert_int_equal(put(s, PK_F_ISSUERS_CERTS, "leaf.der", "app1.der", &st),
			 PK_E_NOT_CA);
	assert_int_equal(seen.calls, 0);
}

static void log_refusal_is_the_operations_error(void **state)
{
	struct pk_store *s = *state;
	struct seen seen = {.answer = PK_E_READONLY};
	struct pk_replicator r = {record, &seen};
	struct pk_status st = {0};

	pk_store_set_replicator(s, &r);
	assert_int_equal(put(s, PK_F_TRUSTED_CERTS, "ca.der", "root-ca.der", &st),
			 PK_E_READONLY);
	assert_string_equal(st.reason, "the log cannot commit");
	assert_false(exists(s, PK_F_TRUSTED_CERTS, "ca.der"));
}

static void trust_from_rejected_sends_the_put_then_removes_locally(void **state)
{
	struct pk_store *s = *state;
	struct seen seen = {0};
	struct pk_replicator r = {record, &seen};
	struct pk_status st = {0};

	assert_int_equal(put(s, PK_F_REJECTED, "app1.der", "app1.der", &st), PK_OK);
	pk_store_set_replicator(s, &r);
	assert_int_equal(pk_trust_rename(s, &me, PK_F_REJECTED, "app1.der", PK_F_TRUSTED_CERTS,
					 "app1.der", 0, &st),
			 PK_OK);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.ch[0].f, PK_F_TRUSTED_CERTS);
	assert_true(seen.ch[0].len > 0);
	assert_false(exists(s, PK_F_REJECTED, "app1.der"));
}

static void batch_applies_as_one_generation_with_its_revision(void **state)
{
	struct pk_store *s = *state;
	struct pk_repl_origin o = {"n2", "put", {0, 0, 7, "cp"}};
	struct pk_repl_change ch[2] = {file_change(PK_F_TRUSTED_CERTS, "ca.der", "root-ca.der"),
				       file_change(PK_F_TRUSTED_CERTS, "app.der", "app1.der")};
	struct pk_status st = {0};
	uint64_t gen = pk_store_generation(s);

	assert_int_equal(pk_replica_apply(s, &o, ch, 2, 42, &st), PK_OK);
	assert_int_equal(pk_store_generation(s), gen + 1);
	assert_int_equal(pk_replica_revision(s), 42);
	assert_true(exists(s, PK_F_TRUSTED_CERTS, "ca.der"));
	assert_true(exists(s, PK_F_TRUSTED_CERTS, "app.der"));
	free((void *)ch[0].data);
	free((void *)ch[1].data);
	/* a removal, and one that names nothing (already gone) */
	ch[0] = (struct pk_repl_change){.f = PK_F_TRUSTED_CERTS, .name = "app.der"};
	ch[1] = (struct pk_repl_change){.f = PK_F_TRUSTED_CERTS, .name = "never.der"};
	assert_int_equal(pk_replica_apply(s, &o, ch, 2, 43, &st), PK_OK);
	assert_false(exists(s, PK_F_TRUSTED_CERTS, "app.der"));
	assert_int_equal(pk_replica_revision(s), 43);
}

static void refused_change_in_a_batch_is_skipped_alone(void **state)
{
	struct pk_store *s = *state;
	struct pk_repl_origin o = {"n3", "put", {0, 0, 9, "cp"}};
	struct pk_repl_change ch[2] = {file_change(PK_F_ISSUERS_CERTS, "leaf.der", "app1.der"),
				       file_change(PK_F_TRUSTED_CERTS, "ca.der", "root-ca.der")};
	struct pk_status st = {0};
	struct pk_audit_filter all = {0};
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);

	assert_int_equal(pk_replica_apply(s, &o, ch, 2, 5, &st), PK_OK);
	assert_false(exists(s, PK_F_ISSUERS_CERTS, "leaf.der"));
	assert_true(exists(s, PK_F_TRUSTED_CERTS, "ca.der"));
	pk_audit_print_filtered(s, mem, 0, &all, NULL);
	fclose(mem);
	assert_non_null(strstr(text, "issuers/certs/leaf.der"));
	assert_non_null(strstr(text, "from node n3"));
	free(text);
	free((void *)ch[0].data);
	free((void *)ch[1].data);
}

static void reset_makes_the_replicated_folders_equal_to_the_list(void **state)
{
	struct pk_store *s = *state;
	struct pk_repl_change ch[1] = {file_change(PK_F_ISSUERS_CERTS, "int.der",
						   "intermediate-ca.der")};
	struct pk_status st = {0};
	uint64_t gen;

	assert_int_equal(put(s, PK_F_TRUSTED_CERTS, "old.der", "root-ca.der", &st), PK_OK);
	assert_int_equal(put(s, PK_F_REJECTED, "r.der", "app2.der", &st), PK_OK);
	gen = pk_store_generation(s);
	assert_int_equal(pk_replica_reset(s, ch, 1, 77, &st), PK_OK);
	assert_int_equal(pk_store_generation(s), gen + 1);
	assert_false(exists(s, PK_F_TRUSTED_CERTS, "old.der"));
	assert_true(exists(s, PK_F_ISSUERS_CERTS, "int.der"));
	assert_true(exists(s, PK_F_REJECTED, "r.der")); /* local: untouched */
	assert_int_equal(pk_replica_revision(s), 77);
	/* the same list again changes no file */
	assert_int_equal(pk_replica_reset(s, ch, 1, 78, &st), PK_OK);
	assert_true(exists(s, PK_F_ISSUERS_CERTS, "int.der"));
	free((void *)ch[0].data);
}

static void local_lists_the_replicated_files_only(void **state)
{
	struct pk_store *s = *state;
	struct pk_repl_change *ch;
	struct pk_status st = {0};
	size_t n = 0;

	assert_int_equal(put(s, PK_F_TRUSTED_CERTS, "ca.der", "root-ca.der", &st), PK_OK);
	assert_int_equal(put(s, PK_F_REJECTED, "r.der", "app2.der", &st), PK_OK);
	assert_int_equal(pk_replica_local(s, &ch, &n), PK_OK);
	assert_int_equal(n, 1);
	assert_string_equal(ch[0].name, "ca.der");
	assert_true(ch[0].len > 0);
	pk_replica_free(ch, n);
}

static void notes_read_back(void **state)
{
	struct pk_store *s = *state;
	char *v;

	pk_replica_note(s, "state", "watching");
	v = pk_replica_info(s, "state");
	assert_string_equal(v, "watching");
	free(v);
	pk_replica_note(s, "state", NULL);
	assert_null(pk_replica_info(s, "state"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(validated_put_goes_to_the_replicator_not_the_store,
						setup, teardown),
		cmocka_unit_test_setup_teardown(refused_change_never_reaches_the_replicator,
						setup, teardown),
		cmocka_unit_test_setup_teardown(log_refusal_is_the_operations_error, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			trust_from_rejected_sends_the_put_then_removes_locally, setup, teardown),
		cmocka_unit_test_setup_teardown(batch_applies_as_one_generation_with_its_revision,
						setup, teardown),
		cmocka_unit_test_setup_teardown(refused_change_in_a_batch_is_skipped_alone, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			reset_makes_the_replicated_folders_equal_to_the_list, setup, teardown),
		cmocka_unit_test_setup_teardown(local_lists_the_replicated_files_only, setup,
						teardown),
		cmocka_unit_test_setup_teardown(notes_read_back, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
