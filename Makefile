# tollgate - see README.md.
#
#   make run        install what is missing, build, start a dev Redis, serve
#   make test       install what is missing, build, run every test
#   make build      build/tollgate
#   make SANITIZER=address,undefined build   (into build-address-undefined/)
#   make bench      performance comparison (see README, Performance)

PKGS := libmicrohttpd hiredis libcjson libjwt sqlite3 gnutls
comma := ,
SANITIZER ?=
BUILD ?= build$(if $(SANITIZER),-$(subst $(comma),-,$(SANITIZER)))

CC ?= cc
OPT ?= -O2
WARN := -Wall -Wextra -Wstrict-prototypes -Wwrite-strings -Wshadow -Werror
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
SAN_FLAGS := $(if $(SANITIZER),-fsanitize=$(SANITIZER) -fno-omit-frame-pointer -fno-sanitize-recover=all)
CFLAGS := -std=c11 -D_GNU_SOURCE -I. $(OPT) -g $(WARN) $(SAN_FLAGS) -MMD -MP
LDFLAGS := $(SAN_FLAGS)
LDLIBS = $(PKG_LIBS) -lpthread -lm

# Every module but the entry point, so unit tests link the same objects.
LIB_SRCS := $(wildcard common/*.c auth/*.c billing/*.c gateway/*.c gateway/*/*.c) \
  migrations/migrate.c
LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS)) $(BUILD)/gen/migrations_sql.o
# The binary's subcommands (cli/), one file per noun.
CLI_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard cli/*.c))
MIGRATIONS := $(sort $(wildcard migrations/[0-9]*.sql))
UNIT_SRCS := $(shell find tests/unit -name 'test_*.c')
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.PHONY: all build run test bench deps deps-check clean unit-bins meter-bench
all: build
build: deps-check $(BUILD)/tollgate

# `make V=1` shows the full command lines.
V ?=
Q := $(if $(V),,@)
say = $(if $(V),,@printf '  %-6s %s\n' $(1) $(2);)

$(BUILD)/tollgate: $(CLI_OBJS) $(LIB_OBJS)
	$(call say,LINK,$@)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(BUILD)/gen/migrations_sql.c: $(MIGRATIONS) migrations/embed.sh
	@mkdir -p $(dir $@)
	$(call say,GEN,$@)sh migrations/embed.sh $@ $(MIGRATIONS)

$(BUILD)/gen/migrations_sql.o: $(BUILD)/gen/migrations_sql.c
	$(call say,CC,$@)$(CC) $(CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) tests/unit/testhelp.h
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(LIB_OBJS) $(LDFLAGS) $(LDLIBS)

unit-bins: $(UNIT_BINS)

$(BUILD)/bench/meter_bench: tests/bench/meter_bench.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(LIB_OBJS) $(LDFLAGS) $(LDLIBS)

# The metering writer's sustained events/s (tests/bench/meter_bench.c).
meter-bench: deps-check $(BUILD)/bench/meter_bench
	@$(BUILD)/bench/meter_bench

# ---- Dependencies: everything the project needs, installed by the project.
APT_PKGS := build-essential pkg-config libmicrohttpd-dev libhiredis-dev \
  libcjson-dev libjwt-dev libsqlite3-dev libgnutls28-dev redis-server \
  redis-tools curl sqlite3 openssl docker-compose chromium
deps:
	@sh tools/install-deps.sh $(APT_PKGS)
deps-check:
	@pkg-config --exists $(PKGS) || sh tools/install-deps.sh $(APT_PKGS)

tools/node_modules: tools/package.json tools/package-lock.json
	cd tools && npm ci --no-audit --no-fund --loglevel=error
	@touch $@
tests/node/node_modules: tests/node/package.json tests/node/package-lock.json
	cd tests/node && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# ---- Running and testing.
run: deps
	@$(MAKE) --no-print-directory build
	@sh tools/dev-run.sh $(BUILD)/tollgate

test: deps
	@$(MAKE) --no-print-directory build unit-bins
	@$(MAKE) --no-print-directory SANITIZER=address,undefined build unit-bins
	@$(MAKE) --no-print-directory tools/node_modules tests/node/node_modules
	@bash tests/run.sh build/tollgate build-address-undefined

bench: deps
	@sh tools/install-deps.sh wrk webdis redis-tools hey
	@$(MAKE) --no-print-directory build build/bench/bare_mhd build/bench/auth_bench
	@bash tests/bench/run.sh build/tollgate build/bench/bare_mhd build/bench/auth_bench
	@$(MAKE) --no-print-directory meter-bench

build/bench/auth_bench: tests/bench/auth_bench.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(LIB_OBJS) $(LDFLAGS) $(LDLIBS)

build/bench/bare_mhd: tests/bench/bare_mhd.c
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)$(CC) -std=c11 -O2 -Wall -Wextra -Werror -o $@ $< $(shell pkg-config --cflags --libs libmicrohttpd)

clean:
	rm -rf build build-* var/test-*

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
