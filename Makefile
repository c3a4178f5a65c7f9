# tollgate - see README.md.
#
#   make run        install what running needs, build, start a dev Redis, serve
#   make test       install what testing needs, build, run every test
#   make build      $(BUILD)/tollgate (BUILD defaults to build/)
#   make SANITIZER=address,undefined build   (into build-address-undefined/)
#   make bench      performance comparison (see README, Performance)
#
# Flags: the project's own (-std, warnings, -Werror, -I., dependency files,
# sanitizers) are always on; CFLAGS, LDFLAGS, LDLIBS and OPT given on the
# command line or in the environment are appended to them, never replace
# them: `make CFLAGS=-O0` is -O2 ... -O0. BUILD names the output directory:
# `make BUILD=out test` builds out/ and out-address-undefined/.
#
# Dependencies: tools/packages.txt lists the Debian packages by need
# (sections build, run, test, bench); tools/install-deps.sh installs the
# missing ones of the sections a target needs.

PKGS := libmicrohttpd hiredis libcjson libjwt sqlite3 gnutls
comma := ,
SANITIZER ?=
BUILD ?= build$(if $(SANITIZER),-$(subst $(comma),-,$(SANITIZER)))
# The sanitizer build `make test` pairs with $(BUILD).
SAN_BUILD = $(BUILD)-address-undefined

CC ?= cc
OPT ?= -O2
CFLAGS ?=
LDFLAGS ?=
LDLIBS ?=
STD := -std=c11 -D_GNU_SOURCE
WARN := -Wall -Wextra -Wstrict-prototypes -Wwrite-strings -Wshadow -Werror
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
SAN_FLAGS := $(if $(SANITIZER),-fsanitize=$(SANITIZER) -fno-omit-frame-pointer -fno-sanitize-recover=all)

FINAL_CFLAGS = $(STD) -I. $(OPT) -g $(WARN) $(SAN_FLAGS) -MMD -MP $(PKG_CFLAGS) $(CFLAGS)
FINAL_LDFLAGS = $(SAN_FLAGS) $(LDFLAGS)
FINAL_LIBS = $(PKG_LIBS) -lpthread -lm $(LDLIBS)

# Every module but the command line, so unit tests and benchmarks link the
# same objects; everything in cli/ links into the binary only.
LIB_SRCS := $(wildcard common/*.c auth/*.c billing/*.c migrations/*.c gateway/*.c gateway/*/*.c)
LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS)) $(BUILD)/gen/migrations_sql.o \
  $(BUILD)/gen/approved_scripts.o $(BUILD)/gen/dashboard_assets.o
CLI_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard cli/*.c))
MIGRATIONS := $(sort $(wildcard migrations/[0-9]*.sql))
UNIT_SRCS := $(shell find tests/unit -name 'test_*.c')
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
BENCH_BINS := $(BUILD)/bench/bare_mhd $(BUILD)/bench/auth_bench

.PHONY: all build run test bench deps deps-check clean unit-bins meter-bench quota-bench
all: build
build: deps-check $(BUILD)/tollgate

# `make V=1` shows the full command lines.
V ?=
Q := $(if $(V),,@)
say = $(if $(V),,@printf '  %-6s %s\n' $(1) $(2);)

$(BUILD)/tollgate: $(CLI_OBJS) $(LIB_OBJS)
	$(call say,LINK,$@)$(CC) $(FINAL_LDFLAGS) -o $@ $^ $(FINAL_LIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(FINAL_CFLAGS) -c -o $@ $<

$(BUILD)/gen/migrations_sql.c: $(MIGRATIONS) migrations/embed.sh
	@mkdir -p $(dir $@)
	$(call say,GEN,$@)sh migrations/embed.sh $@ $(MIGRATIONS)

$(BUILD)/gen/migrations_sql.o: $(BUILD)/gen/migrations_sql.c
	$(call say,CC,$@)$(CC) $(FINAL_CFLAGS) -c -o $@ $<

# The script SHA-1s shared_scripts = approved runs by default
# (gateway/policy/policy.h: policy_builtin_scripts).
$(BUILD)/gen/approved_scripts.c: tools/approved-scripts.txt tools/embed-text.sh
	@mkdir -p $(dir $@)
	$(call say,GEN,$@)sh tools/embed-text.sh policy_builtin_scripts $@ tools/approved-scripts.txt

$(BUILD)/gen/approved_scripts.o: $(BUILD)/gen/approved_scripts.c
	$(call say,CC,$@)$(CC) $(FINAL_CFLAGS) -c -o $@ $<

# The tenant dashboard (/dashboard): the page's own files and the charting
# library, installed from gateway/dashboard's lockfile, embedded as bytes
# (gateway/handlers/dashboard.h). URL path = file.
DASH := gateway/dashboard
DASH_ASSETS := /dashboard/index.html=$(DASH)/index.html /dashboard/app.js=$(DASH)/app.js \
  /dashboard/app.css=$(DASH)/app.css \
  /dashboard/vendor/uPlot.iife.min.js=$(DASH)/node_modules/uplot/dist/uPlot.iife.min.js \
  /dashboard/vendor/uPlot.min.css=$(DASH)/node_modules/uplot/dist/uPlot.min.css \
  /dashboard/vendor/uPlot.LICENSE.txt=$(DASH)/node_modules/uplot/LICENSE
$(DASH)/node_modules: $(DASH)/package.json $(DASH)/package-lock.json
	cd $(DASH) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(BUILD)/gen/dashboard_assets.c: $(DASH)/index.html $(DASH)/app.js $(DASH)/app.css \
  $(DASH)/node_modules tools/embed-assets.sh
	@mkdir -p $(dir $@)
	$(call say,GEN,$@)sh tools/embed-assets.sh $@ $(DASH_ASSETS)

$(BUILD)/gen/dashboard_assets.o: $(BUILD)/gen/dashboard_assets.c
	$(call say,CC,$@)$(CC) $(FINAL_CFLAGS) -c -o $@ $<

# A unit test or benchmark program: one source file plus every module.
# A unit test may #include its module's .c to reach statics (h2o's way);
# that module's object is then left out of its link.
included_c = $(patsubst %.c,$(BUILD)/%.o,$(shell sed -n 's/^\#include "\(.*\.c\)"/\1/p' $(1)))
$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) tests/unit/testhelp.h
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)$(CC) $(FINAL_CFLAGS) -o $@ $< \
	  $(filter-out $(call included_c,$<),$(LIB_OBJS)) $(FINAL_LDFLAGS) $(FINAL_LIBS)

$(BUILD)/bench/%: tests/bench/%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)$(CC) $(FINAL_CFLAGS) -o $@ $< $(LIB_OBJS) $(FINAL_LDFLAGS) $(FINAL_LIBS)

unit-bins: $(UNIT_BINS)

# The metering writer's sustained events/s (tests/bench/meter_bench.c).
meter-bench: deps-check $(BUILD)/bench/meter_bench
	@$(BUILD)/bench/meter_bench

# The quota decision's cost per request (tests/bench/quota_bench.c).
quota-bench: deps-check $(BUILD)/bench/quota_bench
	@$(BUILD)/bench/quota_bench

# ---- Dependencies: tools/packages.txt, installed by tools/install-deps.sh.
deps:
	@sh tools/install-deps.sh build run
deps-check:
	@(pkg-config --exists $(PKGS) && command -v npm >/dev/null) || sh tools/install-deps.sh build

tools/node_modules: tools/package.json tools/package-lock.json
	cd tools && npm ci --no-audit --no-fund --loglevel=error
	@touch $@
tests/node/node_modules: tests/node/package.json tests/node/package-lock.json
	cd tests/node && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# ---- Running and testing.
run:
	@sh tools/install-deps.sh build run
	@$(MAKE) --no-print-directory build
	@sh tools/dev-run.sh $(BUILD)/tollgate

test:
	@sh tools/install-deps.sh build run test
	@$(MAKE) --no-print-directory SANITIZER= BUILD=$(BUILD) build unit-bins
	@$(MAKE) --no-print-directory SANITIZER=address,undefined BUILD=$(SAN_BUILD) build unit-bins
	@$(MAKE) --no-print-directory tools/node_modules tests/node/node_modules
	@bash tests/run.sh $(BUILD)/tollgate $(SAN_BUILD)

bench:
	@sh tools/install-deps.sh build run bench
	@$(MAKE) --no-print-directory build $(BENCH_BINS)
	@BENCH_OUT=$${BENCH_OUT:-$(BUILD)/bench/results.json} \
	  bash tests/bench/run.sh $(BUILD)/tollgate $(BENCH_BINS)
	@$(MAKE) --no-print-directory meter-bench
	@$(MAKE) --no-print-directory quota-bench
	@bash tests/bench/sse.sh $(BUILD)/tollgate

clean:
	rm -rf build build-* $(BUILD) $(SAN_BUILD) var/test-*

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
