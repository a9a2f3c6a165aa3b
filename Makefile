# Convergence: one non-recursive Makefile for the whole cluster.
#
#   make run     install missing packages, build, start the local cluster
#   make test    install missing packages, build, run every test
#   make check   the tests built with AddressSanitizer + UndefinedBehaviorSanitizer
#   make lint    clang-format check, cppcheck, banned functions
#   make testtools  the npm packages of the test servers (tests/servers/)
#   make fuzz    the libFuzzer harnesses of tests/fuzz/, FUZZ_SECONDS each
#
# Objects go to $(BUILD) (build/ by default, build/asan for `make check`).

VERSION := 0.1.0
BUILD ?= build
WORKERS ?= 2

# Every Debian package the project needs, in one list. `make deps` installs
# the missing ones and stays quiet when all are present. The last line is
# for the test servers of tests/servers/: node and npm for s3rver, Python
# with aiosmtpd for the SMTP server and the webhook receiver.
DEB_PACKAGES := build-essential pkg-config ca-certificates curl \
	libzmq3-dev libczmq-dev libmsgpack-dev libyaml-dev libjansson-dev \
	libmicrohttpd-dev libcurl4-openssl-dev libssl-dev libsqlite3-dev \
	libpq-dev libcunit1-dev sqlite3 clang-format cppcheck valgrind zlib1g-dev \
	nodejs npm python3 python3-aiosmtpd

# npm packages of the test servers (tests/servers/package.json and its
# lock), installed here by `make testtools`.
TESTTOOLS := build/testtools

PKG_MODULES := libzmq libczmq msgpack yaml-0.1 jansson libmicrohttpd libcurl \
	openssl sqlite3 libpq zlib

CC ?= cc
WARNINGS := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wvla -Werror
CPPFLAGS_ALL := -I. -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
	-DCVG_VERSION=\"$(VERSION)\" -MMD -MP
CFLAGS_ALL := -std=c11 -g -O2 $(WARNINGS)
LDLIBS_ALL = $(shell pkg-config --libs $(PKG_MODULES)) -lpthread -lm

ifeq ($(SAN),1)
CFLAGS_ALL := -std=c11 -g -O1 -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=all $(WARNINGS)
LDFLAGS_ALL := -fsanitize=address,undefined
endif
ifeq ($(TESTING),1)
CPPFLAGS_ALL += -DCVG_TESTING
endif
# The fuzz harnesses' build (`make fuzz`): clang, every object with
# libFuzzer's coverage and ASan + UBSan, the harnesses linked with libFuzzer.
ifeq ($(FUZZ),1)
CC := clang
CFLAGS_ALL := -std=c11 -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all $(WARNINGS)
LDFLAGS_ALL := -fsanitize=fuzzer,address,undefined
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKG_MODULES) cunit 2>/dev/null)

# ---- sources --------------------------------------------------------------
COMMON_SRC := $(wildcard common/*.c common/warehouse/*.c)
RUNNER_SRC := $(filter-out worker/main.c,$(wildcard worker/*.c)) \
	$(wildcard worker/processors/*/*.c)
GATEWAY_SRC := $(filter-out gateway/main.c,$(wildcard gateway/*.c gateway/handlers/*.c))
SCHED_SRC := $(filter-out scheduler/main.c,$(wildcard scheduler/*.c))
LOGGER_SRC := $(filter-out logger/main.c,$(wildcard logger/*.c))
TEST_SRC := $(wildcard tests/*.c tests/unit/*.c tests/integration/*.c)
BENCH_SRC := tests/bench/bench_logger.c
SUPERVISOR_SRC := compose/local/cvg-run.c

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIBCVG := $(BUILD)/libcvg.a
LIBRUN := $(BUILD)/libcvgrun.a
LIBGW := $(BUILD)/libgw.a
LIBSCH := $(BUILD)/libsch.a
LIBLGR := $(BUILD)/liblgr.a

BINS := $(BUILD)/cvg-gateway $(BUILD)/cvg-scheduler $(BUILD)/cvg-worker \
	$(BUILD)/cvg-logger $(BUILD)/cvg-run
TESTBIN := $(BUILD)/cvg-tests

.PHONY: all deps run test check lint valgrind bench clean format tests-build testtools \
	fuzz fuzz-build
.DEFAULT_GOAL := all

all: $(BINS)

# A package counts as present when it is installed or an installed package
# provides it: another vendor's nodejs provides npm, and conflicts with it.
deps:
	@have=" $$(dpkg-query -W -f='$${db:Status-Abbrev}|$${Package}, $${Provides}\n' 2>/dev/null \
	  | sed -n 's/^.i |//p' | sed 's/([^)]*)//g; s/:[a-z0-9]*//g' | tr ',\n' '  ') "; \
	missing=""; for p in $(DEB_PACKAGES); do \
	  case "$$have" in *" $$p "*) ;; *) missing="$$missing $$p";; esac; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$missing"; \
	  SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null \
	    || { echo "deps: apt-get install failed"; exit 1; }; \
	fi

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) $(PKG_CFLAGS) -c $< -o $@

$(LIBCVG): $(call obj,$(COMMON_SRC))
$(LIBRUN): $(call obj,$(RUNNER_SRC))
$(LIBGW): $(call obj,$(GATEWAY_SRC))
$(LIBSCH): $(call obj,$(SCHED_SRC))
$(LIBLGR): $(call obj,$(LOGGER_SRC))
$(BUILD)/%.a:
	@mkdir -p $(dir $@)
	@rm -f $@
	@echo "  AR      $@"
	@ar rcs $@ $^

$(BUILD)/cvg-gateway: $(call obj,gateway/main.c) $(LIBGW) $(LIBRUN) $(LIBCVG)
$(BUILD)/cvg-scheduler: $(call obj,scheduler/main.c) $(LIBSCH) $(LIBCVG)
$(BUILD)/cvg-worker: $(call obj,worker/main.c) $(LIBRUN) $(LIBCVG)
$(BUILD)/cvg-logger: $(call obj,logger/main.c) $(LIBLGR) $(LIBCVG)
$(BUILD)/cvg-run: $(call obj,$(SUPERVISOR_SRC)) $(LIBCVG)
$(TESTBIN): $(call obj,$(TEST_SRC)) $(LIBGW) $(LIBSCH) $(LIBLGR) $(LIBRUN) $(LIBCVG)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS_ALL) $^ -o $@ $(LDLIBS_ALL) -lcunit
$(BINS):
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS_ALL) $^ -o $@ $(LDLIBS_ALL)

tests-build: $(BINS) $(TESTBIN)

# `npm ci` from the lock into $(TESTTOOLS), again only when the lock
# changes. Nothing written outside the project: npm's cache and logs go to
# $(TESTTOOLS)/npm-cache. No install scripts run. Two retries a few
# seconds apart, then it fails (within about 15 s when the registry refuses), its
# output ($(TESTTOOLS)/npm.log) shown.
testtools: $(TESTTOOLS)/.installed

$(TESTTOOLS)/.installed: tests/servers/package.json tests/servers/package-lock.json | deps
	@command -v npm >/dev/null || { echo "testtools: npm not found (make deps installs it)"; exit 1; }
	@echo "testtools: npm ci into $(TESTTOOLS)"
	@mkdir -p $(TESTTOOLS) && cp $^ $(TESTTOOLS)/
	@cd $(TESTTOOLS) && npm ci --cache="$$PWD/npm-cache" --prefer-offline --ignore-scripts \
	  --no-audit --no-fund --no-update-notifier --fetch-timeout=60000 \
	  --fetch-retries=2 --fetch-retry-mintimeout=2000 --fetch-retry-maxtimeout=10000 \
	  </dev/null >npm.log 2>&1 \
	  || { cat npm.log; echo "testtools: npm ci failed; is the npm registry reachable?"; exit 1; }
	@touch $@

# The whole suite: unit suites, then the cluster started for real from the
# binaries next to the test runner. TESTS=name filters suites by name.
test: deps testtools
	@$(MAKE) --no-print-directory TESTING=1 BUILD=$(BUILD)/testing tests-build
	@CVG_SOURCE_DIR=$(CURDIR) $(BUILD)/testing/cvg-tests $(TESTS)

check: deps testtools
	@$(MAKE) --no-print-directory SAN=1 TESTING=1 BUILD=$(BUILD)/asan tests-build
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1 \
	 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	 CVG_SOURCE_DIR=$(CURDIR) $(BUILD)/asan/cvg-tests $(TESTS)

# Unit suites under valgrind (each forked suite is checked as it exits),
# then the integration suites with every cluster process under valgrind.
valgrind: deps testtools
	@$(MAKE) --no-print-directory TESTING=1 BUILD=$(BUILD)/testing tests-build
	@CVG_SOURCE_DIR=$(CURDIR) valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
	  --errors-for-leak-kinds=definite,indirect --error-exitcode=1 \
	  $(BUILD)/testing/cvg-tests unit
	@CVG_SOURCE_DIR=$(CURDIR) CVG_VALGRIND_CHILDREN=1 $(BUILD)/testing/cvg-tests integration

run: deps all
	@WORKERS=$(WORKERS) $(BUILD)/cvg-run --bin-dir $(BUILD)

$(BUILD)/cvg-bench-logger: $(call obj,tests/bench/bench_logger.c) $(LIBCVG)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS_ALL) $^ -o $@ $(LDLIBS_ALL)

bench: deps all $(BUILD)/cvg-bench-logger
	@tests/bench/run.sh $(BUILD)

# ---- fuzzing ---------------------------------------------------------------
# Each tests/fuzz/fuzz_<target>.c is a libFuzzer harness, built into
# $(BUILD)/fuzz and run FUZZ_SECONDS on one core from its seeds
# (tests/fuzz/seeds/<target>/) and the corpus it grew before
# ($(BUILD)/fuzz/corpus/<target>/, where new inputs go), with the words of
# tests/fuzz/<target>.dict when there is one. A crash, sanitizer
# report, leak, hang (-timeout) or memory blow-up (-rss_limit_mb) saves the
# input under $(BUILD)/fuzz/artifacts/<target>/; the other targets still
# run, and the make fails at the end. FUZZ_TARGETS=name... runs some only.
# Not part of `make test` or `make check`. clang and libFuzzer's runtime
# are installed for this target only.
FUZZ_SECONDS ?= 60
FUZZ_DEB_PACKAGES := clang libclang-rt-14-dev
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_TARGETS ?= $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRC))
FUZZ_FLAGS := -jobs=1 -workers=1 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1

$(BUILD)/fuzz_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(call obj,gateway/forwarded.c) $(LIBRUN) $(LIBCVG)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS_ALL) $^ -o $@ $(LDLIBS_ALL)

fuzz-build: $(patsubst tests/fuzz/fuzz_%.c,$(BUILD)/fuzz_%,$(FUZZ_SRC))
.SECONDARY: $(call obj,$(FUZZ_SRC))

fuzz: DEB_PACKAGES += $(FUZZ_DEB_PACKAGES)
fuzz: deps
	@$(MAKE) --no-print-directory FUZZ=1 BUILD=$(BUILD)/fuzz fuzz-build
	@out=$(abspath $(BUILD))/fuzz; failed=""; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $$out/corpus/$$t $$out/artifacts/$$t $$out/run/$$t; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  (cd $$out/run/$$t && rm -f fuzz-0.log && \
	   ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	   LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp CVG_SOURCE_DIR=$(CURDIR) \
	   $$out/fuzz_$$t $(FUZZ_FLAGS) -max_total_time=$(FUZZ_SECONDS) \
	     $$([ -f $(CURDIR)/tests/fuzz/$$t.dict ] && echo -dict=$(CURDIR)/tests/fuzz/$$t.dict) \
	     -artifact_prefix=$$out/artifacts/$$t/ $$out/corpus/$$t $(CURDIR)/tests/fuzz/seeds/$$t \
	     >/dev/null 2>&1) || failed="$$failed $$t"; \
	  grep -E '^#[0-9]+[[:space:]]+DONE|^(==[0-9]+==|SUMMARY|stat::average_exec_per_sec)' \
	    $$out/run/$$t/fuzz-0.log | sort -u | head -n 6; \
	done; \
	if [ -n "$$failed" ]; then \
	  echo "fuzz: failed:$$failed (see $$out/run/<target>/fuzz-0.log)"; exit 1; fi

C_FILES = $(shell git ls-files --cached --others --exclude-standard '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build/*')

lint:
	@echo "lint: clang-format"; clang-format --dry-run -Werror $(C_FILES)
	@echo "lint: cppcheck"; cppcheck -q --error-exitcode=1 --std=c11 --inline-suppr \
	  --enable=warning,performance,portability -I. \
	  --suppress=missingIncludeSystem $(filter %.c,$(C_FILES))
	@echo "lint: banned functions"; \
	  if grep -nE '\b(sprintf|vsprintf|strcpy|strcat|gets|strtok|atoi|atol|rand|system)[[:space:]]*\(' \
	    $(C_FILES) | grep -v snprintf; then echo "banned function used"; exit 1; fi

format:
	clang-format -i $(C_FILES)

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
