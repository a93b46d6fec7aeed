# pkifs — see README.md. `make` builds build/pkifs; `make test` runs every test.
CC      ?= cc
CFLAGS  ?= -O2 -g
WARN     = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror
CPPFLAGS = -Iinclude $(shell pkg-config --cflags fuse3 2>/dev/null)
LIBS     = $(shell pkg-config --libs fuse3 2>/dev/null) -lsqlite3 -lcrypto -lcurl -ljansson -lpthread
SAN      = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
PYTEST   = /usr/bin/python3 -m pytest

CORE_SRC = $(wildcard core/*.c)
FS_SRC   = $(wildcard fs/*.c)
HDRS     = $(wildcard include/pkifs/*.h core/*.h fs/*.h)
UNIT_SRC = $(wildcard tests/unit/test_*.c)
# fs/ logic with no FUSE or store in it, unit-tested beside core/.
FS_PURE  = fs/nodes.c fs/pending.c fs/dirfill.c fs/path.c

B = build
BA = build/asan

# Every object is built with -MMD -MP: the .d file beside it names the
# headers it includes, so touching a header rebuilds only its dependants.
# core/ goes into a static libpkcore.a per build flavour; each flavour has
# its own object directory:
#   $(B)/obj        release: the daemon $(B)/pkifs (CFLAGS)
#   $(BA)/obj       ASan+UBSan daemon $(BA)/pkifs
#   $(B)/unit/obj   unit tests of core/ and of fs/'s pure logic (ASan+UBSan)
#   $(B)/unit-vg/obj  the same unit tests without sanitizers, for valgrind
#   $(B)/fuzz/obj   libFuzzer target (clang)
DEPFLAGS = -MMD -MP
REL_FLAGS  = $(WARN) $(CFLAGS) $(CPPFLAGS)
ASAN_FLAGS = $(WARN) -O1 -g $(SAN) $(CPPFLAGS)
UNIT_FLAGS = $(WARN) -O1 -g $(SAN) $(CPPFLAGS) -Icore -Ifs
VG_FLAGS   = $(WARN) -O1 -g $(CPPFLAGS) -Icore -Ifs
FUZZ_CC    = clang
FUZZ_FLAGS = -std=c11 -D_GNU_SOURCE -g -O1 -Iinclude -Icore
FUZZ_SAN   = address,undefined

objs = $(patsubst %.c,$(1)/%.o,$(2))

REL_CORE  = $(call objs,$(B)/obj,$(CORE_SRC))
REL_FS    = $(call objs,$(B)/obj,$(FS_SRC))
ASAN_CORE = $(call objs,$(BA)/obj,$(CORE_SRC))
ASAN_FS   = $(call objs,$(BA)/obj,$(FS_SRC))
UNIT_CORE = $(call objs,$(B)/unit/obj,$(CORE_SRC))
UNIT_TOBJ = $(call objs,$(B)/unit/obj,$(UNIT_SRC))
UNIT_FS   = $(call objs,$(B)/unit/obj,$(FS_PURE))
VG_CORE   = $(call objs,$(B)/unit-vg/obj,$(CORE_SRC))
VG_TOBJ   = $(call objs,$(B)/unit-vg/obj,$(UNIT_SRC))
VG_FS     = $(call objs,$(B)/unit-vg/obj,$(FS_PURE))
FUZZ_CORE = $(call objs,$(B)/fuzz/obj,$(CORE_SRC))

UNIT_BINS    = $(patsubst tests/unit/%.c,$(B)/unit/%,$(UNIT_SRC))
UNIT_VG_BINS = $(patsubst tests/unit/%.c,$(B)/unit-vg/%,$(UNIT_SRC))

ALL_OBJS = $(REL_CORE) $(REL_FS) $(ASAN_CORE) $(ASAN_FS) $(UNIT_CORE) $(UNIT_TOBJ) $(UNIT_FS) $(VG_FS) \
	$(VG_CORE) $(VG_TOBJ) $(FUZZ_CORE) $(B)/fuzz/obj/fuzz_object.o

.PHONY: all deps install uninstall test unit unit-valgrind integration asan test-asan valgrind bench bench-smoke fuzz soak check-all run stop lint clean

all: $(B)/pkifs

# Install missing packages once; re-checked when this stamp is removed.
$(B)/.deps: scripts/install-deps.sh
	@mkdir -p $(B)
	@pkg-config --exists fuse3 && test -f /usr/include/sqlite3.h && \
	  test -f /usr/include/openssl/x509.h && test -f /usr/include/cmocka.h && \
	  test -f /usr/include/jansson.h && test -f /usr/include/x86_64-linux-gnu/curl/curl.h -o -f /usr/include/curl/curl.h && \
	  command -v etcd >/dev/null && command -v etcdctl >/dev/null && \
	  test -x /usr/bin/fusermount3 && /usr/bin/python3 -c 'import pytest' 2>/dev/null && \
	  /usr/bin/python3 -c 'import hypothesis' 2>/dev/null && \
	  command -v rsync >/dev/null && command -v node >/dev/null && command -v mosquitto >/dev/null && \
	  command -v cpio >/dev/null && \
	  command -v systemd-analyze >/dev/null && command -v mandoc >/dev/null && command -v man >/dev/null && \
	  command -v dh >/dev/null && command -v dpkg-buildpackage >/dev/null && command -v lintian >/dev/null || scripts/install-deps.sh
	@touch $@
deps: $(B)/.deps

$(REL_CORE) $(REL_FS): $(B)/obj/%.o: %.c | $(B)/.deps
	@mkdir -p $(@D)
	$(CC) $(REL_FLAGS) $(DEPFLAGS) -c -o $@ $<

$(ASAN_CORE) $(ASAN_FS): $(BA)/obj/%.o: %.c | $(B)/.deps
	@mkdir -p $(@D)
	$(CC) $(ASAN_FLAGS) $(DEPFLAGS) -c -o $@ $<

$(UNIT_CORE) $(UNIT_TOBJ) $(UNIT_FS): $(B)/unit/obj/%.o: %.c | $(B)/.deps
	@mkdir -p $(@D)
	$(CC) $(UNIT_FLAGS) $(DEPFLAGS) -c -o $@ $<

$(VG_CORE) $(VG_TOBJ) $(VG_FS): $(B)/unit-vg/obj/%.o: %.c | $(B)/.deps
	@mkdir -p $(@D)
	$(CC) $(VG_FLAGS) $(DEPFLAGS) -c -o $@ $<

$(FUZZ_CORE): $(B)/fuzz/obj/%.o: %.c | $(B)/.deps
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link,$(FUZZ_SAN) $(DEPFLAGS) -c -o $@ $<

# The archive is rebuilt whole, so an object whose source left core/ does
# not linger in it.
%/libpkcore.a:
	@rm -f $@
	$(AR) rcs $@ $^

%/libpkfs.a:
	@rm -f $@
	$(AR) rcs $@ $^

$(B)/obj/libpkcore.a: $(REL_CORE)
$(BA)/obj/libpkcore.a: $(ASAN_CORE)
$(B)/unit/obj/libpkcore.a: $(UNIT_CORE)
$(B)/unit-vg/obj/libpkcore.a: $(VG_CORE)
$(B)/unit/obj/libpkfs.a: $(UNIT_FS)
$(B)/unit-vg/obj/libpkfs.a: $(VG_FS)
$(B)/fuzz/obj/libpkcore.a: $(FUZZ_CORE)

$(B)/pkifs: $(REL_FS) $(B)/obj/libpkcore.a
	$(CC) $(REL_FLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BA)/pkifs: $(ASAN_FS) $(BA)/obj/libpkcore.a
	$(CC) $(ASAN_FLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# Unit tests of core/ and of fs/'s pure logic: cmocka, real OpenSSL, real SQLite files.
$(UNIT_BINS): $(B)/unit/%: $(B)/unit/obj/tests/unit/%.o $(B)/unit/obj/libpkfs.a $(B)/unit/obj/libpkcore.a
	$(CC) $(UNIT_FLAGS) -o $@ $^ -lcmocka -lsqlite3 -lcrypto -lpthread

# The same unit tests without sanitizers, for valgrind memcheck (which sees
# what ASan does not: reads of uninitialised memory).
$(UNIT_VG_BINS): $(B)/unit-vg/%: $(B)/unit-vg/obj/tests/unit/%.o $(B)/unit-vg/obj/libpkfs.a $(B)/unit-vg/obj/libpkcore.a
	$(CC) $(VG_FLAGS) -o $@ $^ -lcmocka -lsqlite3 -lcrypto -lpthread

$(B)/testpki/.done: scripts/gen-test-pki.sh | $(B)/.deps
	@mkdir -p $(B)/testpki
	scripts/gen-test-pki.sh $(B)/testpki
	@touch $@

unit: $(UNIT_BINS) $(B)/testpki/.done
	@for t in $(UNIT_BINS); do echo "== $$t"; \
	  PKIFS_TEST_PKI=$(CURDIR)/$(B)/testpki $$t || exit 1; done

unit-valgrind: $(UNIT_VG_BINS) $(B)/testpki/.done
	@for t in $(UNIT_VG_BINS); do echo "== valgrind $$t"; \
	  PKIFS_TEST_PKI=$(CURDIR)/$(B)/testpki valgrind --quiet --error-exitcode=99 \
	    --leak-check=full --errors-for-leak-kinds=definite,indirect $$t || exit 1; done

integration: $(B)/pkifs $(B)/testpki/.done $(B)/gencerts
	PKIFS_BIN=$(CURDIR)/$(B)/pkifs PKIFS_TEST_PKI=$(CURDIR)/$(B)/testpki \
	  $(PYTEST) -q -p no:cacheprovider tests/integration

# Everything: unit tests (ASan+UBSan, then valgrind memcheck), the mount
# tests against the release build and again against an ASan+UBSan daemon,
# and a mounted session under valgrind memcheck.
# The suites run one after another even under make -j (they mount, and
# share the machine); what they need is built first, in parallel.
TEST_SUITES = unit unit-valgrind integration test-asan valgrind bench-smoke
test: $(UNIT_BINS) $(UNIT_VG_BINS) $(B)/pkifs $(BA)/pkifs $(B)/gencerts $(B)/testpki/.done
	@for s in $(TEST_SUITES); do $(MAKE) --no-print-directory $$s || exit 1; done

asan: $(BA)/pkifs
test-asan: $(BA)/pkifs $(B)/testpki/.done $(B)/gencerts
	PKIFS_BIN=$(CURDIR)/$(BA)/pkifs PKIFS_TEST_PKI=$(CURDIR)/$(B)/testpki \
	  PKIFS_SANITIZED=1 $(PYTEST) -q -p no:cacheprovider tests/integration

$(B)/gencerts: scripts/gencerts.c | $(B)/.deps
	$(CC) $(WARN) -O2 -o $@ $< -lcrypto

# Benchmark: tmpfs, bindfs over tmpfs and pkifs side by side, then a fleet of
# three mounts through a 3-member etcd (not a test).
bench: $(B)/pkifs $(B)/gencerts
	/usr/bin/python3 scripts/bench.py --bin $(B)/pkifs --gencerts $(B)/gencerts \
	  --n $${BENCH_N:-10000} --big $${BENCH_BIG:-100000} --json $(B)/bench.json
	/usr/bin/python3 scripts/bench_fleet.py --bin $(B)/pkifs --gencerts $(B)/gencerts \
	  --n $${BENCH_FLEET_N:-10000} --json $(B)/bench-fleet.json

# A small run of the benchmark, so it keeps working (part of make test).
bench-smoke: $(B)/pkifs $(B)/gencerts
	/usr/bin/python3 scripts/bench.py --bin $(B)/pkifs --gencerts $(B)/gencerts \
	  --n 200 --moves 50 --json $(B)/bench-smoke.json
	/usr/bin/python3 scripts/bench_fleet.py --bin $(B)/pkifs --gencerts $(B)/gencerts \
	  --n 100 --samples 20 --rounds 1 --json $(B)/bench-fleet-smoke.json

# libFuzzer on the validation entry point, seeded with the hostile corpus,
# for FUZZ_SECONDS (default 60).
$(B)/fuzz/obj/fuzz_object.o: tests/fuzz/fuzz_object.c | $(B)/.deps
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link,$(FUZZ_SAN) $(DEPFLAGS) -c -o $@ $<

$(B)/fuzz_object: $(B)/fuzz/obj/fuzz_object.o $(B)/fuzz/obj/libpkcore.a
	$(FUZZ_CC) -g -fsanitize=fuzzer,$(FUZZ_SAN) -o $@ $^ -lcrypto

fuzz: $(B)/fuzz_object
	@mkdir -p $(B)/fuzz-corpus
	cp tests/corpus/*.der tests/corpus/*.pem $(B)/fuzz-corpus/
	$(B)/fuzz_object -max_total_time=$${FUZZ_SECONDS:-60} -rss_limit_mb=1024 \
	  -max_len=70000 $(B)/fuzz-corpus

# The model-based test of the mount for SOAK_STEPS random steps (default
# 100000; PKIFS_MODEL_SEED picks the sequence); prints steps run and time.
soak: $(B)/pkifs $(B)/testpki/.done
	PKIFS_BIN=$(CURDIR)/$(B)/pkifs PKIFS_TEST_PKI=$(CURDIR)/$(B)/testpki \
	  PKIFS_MODEL_STEPS=$${SOAK_STEPS:-100000} PKIFS_MODEL_EXAMPLE_STEPS=$${SOAK_EXAMPLE_STEPS:-50} \
	  $(PYTEST) -q -s -p no:cacheprovider tests/integration/test_model.py

valgrind: $(B)/pkifs $(B)/testpki/.done
	scripts/valgrind-run.sh $(B)/pkifs $(B)/testpki

# Everything, plus a bounded fuzzing run.
check-all: test
	FUZZ_SECONDS=$${FUZZ_SECONDS:-60} $(MAKE) fuzz

# The quick start's main job: mount a store at ./pki backed by ./pki.db.
run: $(B)/pkifs
	@mkdir -p pki
	$(B)/pkifs mount --db pki.db pki
	@echo "pkifs: store pki.db mounted at ./pki; unmount with: $(B)/pkifs umount pki (or make stop)"

stop:
	$(B)/pkifs umount pki

# make install [PREFIX=/usr/local] [DESTDIR=]: the binary (mount(8) finds it
# for fstab type fuse.pkifs when it is in /usr/local/bin or /usr/bin), the
# man page, the systemd unit, bash completion, the README and an example
# config; make uninstall removes exactly those files.
PREFIX  ?= /usr/local
BINDIR   = $(PREFIX)/bin
MAN8DIR  = $(PREFIX)/share/man/man8
DOCDIR   = $(PREFIX)/share/doc/pkifs
COMPDIR  = $(PREFIX)/share/bash-completion/completions
UNITDIR ?= $(PREFIX)/lib/systemd/system
INSTALLED = $(BINDIR)/pkifs $(MAN8DIR)/pkifs.8 $(UNITDIR)/pkifs@.service \
	$(COMPDIR)/pkifs $(DOCDIR)/README.md $(DOCDIR)/pkifs.conf.example

install: $(B)/pkifs
	install -D -m 0755 $(B)/pkifs $(DESTDIR)$(BINDIR)/pkifs
	install -D -m 0644 man/pkifs.8 $(DESTDIR)$(MAN8DIR)/pkifs.8
	install -d $(DESTDIR)$(UNITDIR)
	sed 's#/usr/bin/pkifs#$(BINDIR)/pkifs#' dist/pkifs@.service >$(DESTDIR)$(UNITDIR)/pkifs@.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/pkifs@.service
	install -D -m 0644 dist/pkifs.bash-completion $(DESTDIR)$(COMPDIR)/pkifs
	install -D -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	install -D -m 0644 dist/pkifs.conf.example $(DESTDIR)$(DOCDIR)/pkifs.conf.example

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	-rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null

lint:
	clang-format --dry-run --Werror $(CORE_SRC) $(FS_SRC) $(HDRS)
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance -Iinclude core fs

clean:
	rm -rf $(B)

# last, so that no rule of a .d file becomes the default goal
-include $(ALL_OBJS:.o=.d)
