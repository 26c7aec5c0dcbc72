# apcore - one binary, four applets.  `make` builds with .config (copied
# from configs/defconfig on a bare checkout) using only make, sed, awk, cc.
#
#   make [SANITIZE=1]        build ./apcore
#   make check [SANITIZE=1]  build and run the whole test suite
#   make bench               benchmarks against the peers, as ratios
#   make test-configs        allnoconfig, each applet alone, allyesconfig, static
#   make menuconfig | defconfig | allnoconfig | allyesconfig | olddefconfig
#   make install [PREFIX=/usr/local] [DESTDIR=]

VERSION := 0.1.0

O ?= generated
CONFIG ?= .config
BIN ?= apcore
PREFIX ?= /usr/local
INSTALL_STRIP ?= -s
CC ?= cc
CJSON_SRC ?= /usr/local/src/apcore-deps/cjson

OBJ := $(O)/obj
KCONF := kconfig-conf
KMCONF := kconfig-mconf

APPLET_FILES := $(filter-out applets/apcore.c,$(wildcard applets/*.c))
KCONFIG_FILES := Kconfig $(O)/Kconfig.applets

.DEFAULT_GOAL := all

# The configuration drives everything below; make re-reads it after
# regenerating it.
-include $(O)/config.mk

# ---------------------------------------------------------------- flags
CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wformat=2 -Wno-format-nonliteral -Wvla
HARDEN := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fno-strict-aliasing
ALL_CFLAGS := -std=gnu11 $(WARN) $(HARDEN) -D_GNU_SOURCE -DAPCORE_VERSION='"$(VERSION)"' \
	-Iinclude -I$(O) -ffunction-sections -fdata-sections -MMD -MP $(CFLAGS)
ALL_LDFLAGS := -Wl,--gc-sections -Wl,--as-needed -Wl,-z,relro,-z,now $(LDFLAGS)

ifeq ($(SANITIZE),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ALL_LDFLAGS += -fsanitize=address,undefined
endif

# STATIC_DEPS=y (the default): a dynamic build still links every library
# but libc from its static archive, and cJSON from its source when that is
# there: each shared object costs the loader an open, mmaps and relocations
# on every start (apcore --version 1.3 -> 0.9 ms, a sandbox launch ~0.5 ms).
STATIC_DEPS ?= y
LIBS := -lmbedtls -lmbedx509 -lmbedcrypto -lyaml
ifeq ($(CONFIG_STATIC),y)
ALL_LDFLAGS += -static
CJSON_OBJ := $(OBJ)/cjson/cJSON.o
else
ALL_CFLAGS += -fPIE
ALL_LDFLAGS += -pie
CJSON_PIE := -fPIE
ifeq ($(STATIC_DEPS):$(wildcard $(CJSON_SRC)/cJSON.c),y:$(CJSON_SRC)/cJSON.c)
CJSON_OBJ := $(OBJ)/cjson/cJSON.o
else
LIBS += -lcjson
endif
endif
# libsecret's headers only: keyring.c dlopen()s the library at run time.
ifeq ($(CONFIG_APCORE_KEYRING),y)
KEYRING_CFLAGS := $(shell pkg-config --cflags libsecret-1)
endif
ifeq ($(CONFIG_APCORE_SANDBOX_SECCOMP),y)
LIBS += -lseccomp
endif
ifeq ($(CONFIG_APCORE_AUTH_REDIS),y)
LIBS += -lhiredis
endif
LIBS += -lm
LINK_LIBS := $(LIBS)
ifneq ($(CONFIG_STATIC),y)
ifeq ($(STATIC_DEPS),y)
LINK_LIBS := -Wl,-Bstatic $(filter-out -lcjson,$(LIBS)) -Wl,-Bdynamic $(filter -lcjson,$(LIBS))
endif
endif
LIBS += $(LDLIBS)
LINK_LIBS += $(LDLIBS)

# ---------------------------------------------------------------- sources
LIBCOMMON_SRCS := $(wildcard libcommon/*.c)
LIBCOMMON_OBJS := $(LIBCOMMON_SRCS:%.c=$(OBJ)/%.o)

APPLET_SRCS := applets/apcore.c
APPLET_SRCS += $(if $(CONFIG_APCORE_ENCRYPT),applets/encrypt.c)
APPLET_SRCS += $(if $(CONFIG_APCORE_AUDIT),applets/audit.c)
APPLET_SRCS += $(if $(CONFIG_APCORE_AUTH),applets/auth.c $(wildcard applets/auth/*.c))
APPLET_SRCS += $(if $(CONFIG_APCORE_SANDBOX),applets/sandbox.c $(wildcard applets/sandbox/*.c))
APPLET_OBJS := $(APPLET_SRCS:%.c=$(OBJ)/%.o)

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(O)/tests/%)

GEN_HDRS := $(O)/config.h $(O)/applets.h $(O)/help.h

# ---------------------------------------------------------------- config
$(CONFIG): | configs/defconfig
	cp configs/defconfig $@

$(O)/applets.h $(O)/help.h $(O)/Kconfig.applets: $(APPLET_FILES) scripts/genapplets.sh
	sh scripts/genapplets.sh $(O) $(APPLET_FILES)
	@touch $(O)/applets.h $(O)/help.h $(O)/Kconfig.applets

$(O)/config.h $(O)/config.mk: $(CONFIG) $(KCONFIG_FILES) scripts/mkconfig.sh
	sh scripts/mkconfig.sh $(CONFIG) $(O) $(KCONFIG_FILES)
	@touch $(O)/config.h $(O)/config.mk

# Rebuild everything when the compiler flags change (e.g. SANITIZE=1).
FLAGS_STAMP := $(O)/flags.stamp
$(FLAGS_STAMP): FORCE
	@mkdir -p $(O)
	@echo '$(CC) $(ALL_CFLAGS) $(KEYRING_CFLAGS) $(ALL_LDFLAGS) $(LINK_LIBS)' > $@.new
	@if cmp -s $@.new $@; then rm $@.new; else mv $@.new $@; fi

# ---------------------------------------------------------------- build
all: $(BIN)

$(BIN): $(APPLET_OBJS) $(O)/libcommon.a $(CJSON_OBJ) $(FLAGS_STAMP)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(APPLET_OBJS) $(O)/libcommon.a $(CJSON_OBJ) $(LINK_LIBS)

$(O)/libcommon.a: $(LIBCOMMON_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(OBJ)/%.o: %.c $(GEN_HDRS) $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(if $(findstring keyring,$<),$(KEYRING_CFLAGS)) -c -o $@ $<

# cJSON has no static archive in Debian: build it from Debian's source
# package (scripts/install-deps.sh fetches it) for STATIC builds, and for
# STATIC_DEPS builds when the source is there.
$(OBJ)/cjson/cJSON.o: $(CJSON_SRC)/cJSON.c
	@mkdir -p $(dir $@)
	$(CC) -O2 $(CJSON_PIE) -fno-strict-aliasing -ffunction-sections -fdata-sections $(CFLAGS) -c -o $@ $<

# apcore-sandbox's seccomp programs for the policies without allow/deny
# lists or TCP ports, made at build time by the code apcore compiles them
# with (applets/sandbox/seccomp.c says when they are used).  A generator
# that cannot run here (cross build) leaves them out: compiled at run time.
ifeq ($(CONFIG_APCORE_SANDBOX)$(CONFIG_APCORE_SANDBOX_SECCOMP),yy)
$(O)/sbx-seccomp-gen: scripts/sbx-seccomp-gen.c $(OBJ)/applets/sandbox/seccomp-build.o $(FLAGS_STAMP)
	$(CC) $(ALL_CFLAGS) -Iapplets/sandbox $(ALL_LDFLAGS) -o $@ $< $(OBJ)/applets/sandbox/seccomp-build.o \
		$(LINK_LIBS)

$(O)/sbx_seccomp_pre.h: $(O)/sbx-seccomp-gen
	$(O)/sbx-seccomp-gen > $@.new || { echo "sbx-seccomp-gen failed: seccomp filters compiled at run time"; \
		printf '#define SBX_SC_PRE_MAJOR 0\n#define SBX_SC_PRE_MINOR 0\n#define SBX_SC_PRE_MICRO 0\n#define SBX_SC_PRE_API 0\n#define SBX_SC_PRE_ERRNO NULL, 0\n#define SBX_SC_PRE_KILL NULL, 0\n#define SBX_SC_PRE_LOG NULL, 0\n' > $@.new; }
	mv $@.new $@

$(OBJ)/applets/sandbox/seccomp.o: $(O)/sbx_seccomp_pre.h
endif

$(O)/tests/%: tests/unit/%.c tests/unit/unit.h $(O)/libcommon.a $(CJSON_OBJ) $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit $(ALL_LDFLAGS) -o $@ $< $(O)/libcommon.a $(CJSON_OBJ) $(LINK_LIBS)

unit: $(UNIT_BINS)

# ---------------------------------------------------------------- checks
check: all unit fuzz
	APCORE=$(abspath $(BIN)) UNITDIR=$(abspath $(O)/tests) O=$(abspath $(O)) FUZZDIR=$(abspath $(O)/fuzz) \
		SANITIZE=$(SANITIZE) sh tests/run.sh $(TESTS)

test-configs:
	sh scripts/test-configs.sh

bench: all
	APCORE=$(abspath $(BIN)) sh scripts/bench/run.sh

# ---------------------------------------------------------------- kconfig
KCONFIG_ENV := KCONFIG_CONFIG=$(CONFIG)

$(O)/Kconfig.stamp: $(O)/Kconfig.applets
	@touch $@

menuconfig: $(O)/Kconfig.stamp
	$(KCONFIG_ENV) $(KMCONF) Kconfig

oldconfig olddefconfig allnoconfig allyesconfig: $(O)/Kconfig.stamp
	$(KCONFIG_ENV) $(KCONF) --$@ Kconfig

defconfig: $(O)/Kconfig.stamp
	$(KCONFIG_ENV) $(KCONF) --defconfig=configs/defconfig Kconfig

savedefconfig: $(O)/Kconfig.stamp
	$(KCONFIG_ENV) $(KCONF) --savedefconfig=configs/defconfig Kconfig

# ---------------------------------------------------------------- install
install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(INSTALL_STRIP) $(BIN) $(DESTDIR)$(PREFIX)/bin/apcore
	for a in $$(./$(BIN) --list); do ln -sf apcore $(DESTDIR)$(PREFIX)/bin/$$a; done

clean:
	rm -rf $(O) $(BIN)

distclean: clean
	rm -f .config .config.old

FORCE:
.PHONY: all unit check test-configs bench menuconfig oldconfig olddefconfig allnoconfig \
	allyesconfig defconfig savedefconfig install clean distclean FORCE

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)

# ---------------------------------------------------------------- fuzzing
# libFuzzer targets tests/fuzz/fuzz_*.c over all of libcommon, built with
# clang; `make fuzz` builds them, `make fuzz-run FUZZ_SECONDS=N` runs each
# from its seed corpus in tests/fuzz/corpus/NAME (make check runs them too).
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 10
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(O)/fuzz/%)
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-std=gnu11 -D_GNU_SOURCE -DAPCORE_VERSION='"$(VERSION)"' -Iinclude -I$(O) $(KEYRING_CFLAGS)

$(O)/fuzz/%: tests/fuzz/%.c $(LIBCOMMON_SRCS) $(GEN_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(LIBCOMMON_SRCS) $(filter-out -static,$(LIBS)) $(if $(CJSON_OBJ),-lcjson)

fuzz: $(FUZZ_BINS)

fuzz-run: fuzz
	@for f in $(FUZZ_BINS); do \
		n=$${f##*/fuzz_}; mkdir -p $(O)/fuzz/corpus-$$n; \
		echo "fuzz: $$n for $(FUZZ_SECONDS) s"; \
		seeds=tests/fuzz/corpus/$$n; [ -d $$seeds ] || seeds=; \
		$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $(O)/fuzz/corpus-$$n $$seeds \
			> $(O)/fuzz/$$n.log 2>&1 || { tail -40 $(O)/fuzz/$$n.log; exit 1; }; \
		grep -E 'stat::number_of_executed_units' $(O)/fuzz/$$n.log; \
	done

.PHONY: fuzz fuzz-run
