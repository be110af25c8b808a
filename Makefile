# dgram for Lua 5.4 (LUA=lua5.3, lua5.1 or luajit: the block below). `make`, `make demo` and
# `make test` install what is missing first (as root; otherwise they print the apt-get
# command): tools/deps.sh.
LUA      ?= lua5.4
CC       ?= cc
PKGS      = libuv $(LUA)
CFLAGS   ?= -O2 -g
WARN      = -Wall -Wextra -Werror -std=c11 -D_GNU_SOURCE
SRC       = $(sort $(wildcard src/*.c))
HDR       = src/dgram.h src/platform.h src/compat.h
HOST_SRC  = examples/embed/host.c
C_ALL     = $(SRC) $(HDR) $(HOST_SRC) include/dgram.h src/lib/luaopen_dgram.c \
            $(wildcard spec/c/*.c bench/c/*.c)
SO        = $(BUILD)/dgram/core.so
ASAN_SO   = $(BUILD)/asan/dgram/core.so
HOST      = $(BUILD)/embed-host
HOST_STATIC = $(BUILD)/embed-host-static
LIB       = $(BUILD)/libdgram.a
# Only luaopen_* leave the library: everything else is hidden (and, in libdgram.a, local,
# so a host's own `type_name` or `push_error` never meets ours).
VIS       = -fvisibility=hidden
LIB_LUA   = dgram=lua/dgram.lua \
            $(foreach f,$(sort $(wildcard lua/dgram/*.lua)),dgram.$(basename $(notdir $(f)))=$(f))
# ---- Lua versions: make [test] LUA=lua5.3 | lua5.1 | luajit (lua5.4 by default) ------
# pkg-config knows each Lua by its interpreter's name. Each builds into its own directory
# (5.4 keeps build/), which the specs read from DGRAM_BUILD. 5.1 and LuaJIT need
# lua-compat53's compat-5.3.h (src/compat.h), which lives in lua5.1's include directory.
BUILD     = $(if $(filter lua5.4,$(LUA)),build,build/$(LUA))
# What `make LUA=...` installs besides (README.md names the same: readme_packages_spec).
COMPAT53  = lua-compat53-dev lua-compat53
LUA_PKGS  = $(LUA) $(if $(filter luajit,$(LUA)),libluajit-5.1-dev $(COMPAT53),\
            $(if $(filter lua5.1,$(LUA)),liblua5.1-0-dev $(COMPAT53),lib$(LUA)-dev))
WARN     += $(if $(filter luajit,$(LUA)),-idirafter /usr/include/lua5.1)
export LUA

# PORTABLE=1: every Linux fast path off (src/platform.h; in WARN, so that every compile
# of the build gets it), the plain libuv fallbacks that other OSes use instead, built
# apart in <build>/portable (the specs find it through DGRAM_BUILD): `make test PORTABLE=1`
# runs the whole suite on them.
ifneq ($(PORTABLE),)
BUILD    := $(BUILD)/portable
WARN     += -DDGRAM_PORTABLE
endif
export DGRAM_BUILD = $(BUILD)

LUA_PATH_DEV = ./lua/?.lua;./lua/?/init.lua;./spec/?.lua;;
BUSTED    = busted --lua=$(LUA)

export LUA_PATH = $(LUA_PATH_DEV)
export LUA_CPATH = ./$(BUILD)/?.so;;

.PHONY: all build-deps deps test demo asan valgrind tsan lint format install release-check clean bench bench-quick \
	lib check-symbols check-windows embed-host embed-host-static slow-specs \
	demo-game bench-game bench-game-quick fuzz soak faults

all: build-deps $(SO)

# Debian packages per target (tools/deps.sh installs what is missing): `make` and `make
# demo` need the build's alone (tools/deps.sh --build), `make test` the test tools and
# TEST_PKGS too. README.md names the same packages (spec/readme_packages_spec.lua).
TEST_PKGS  = iproute2 nodejs strace lua-luv nftables valgrind
build-deps:
	@sh tools/deps.sh --build
	@[ $(LUA) = lua5.4 ] || sh tools/deps.sh $(LUA_PKGS)
deps:
	@sh tools/deps.sh $(TEST_PKGS)

$(SO): $(SRC) $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) $(VIS) -fPIC -shared $$(pkg-config --cflags $(PKGS)) $(SRC) \
	  -o $@ $$(pkg-config --libs libuv)
	@LUA_CPATH='./$(BUILD)/?.so' $(LUA) -e 'require("dgram.core")' || { rm -f $@; exit 1; }

$(ASAN_SO): $(SRC) $(HDR)
	@mkdir -p $(dir $@)
	$(CC) -O1 -g -DDGRAM_CHECKED -fno-omit-frame-pointer -fsanitize=address,undefined \
	  -fno-sanitize-recover=undefined $(WARN) -fPIC -shared \
	  $$(pkg-config --cflags $(PKGS)) $(SRC) -o $@ $$(pkg-config --libs libuv)

# libdgram.a for hosts that link the module in (include/dgram.h): the C core and the
# wrapper's Lua files, as one object whose only global symbols are luaopen_dgram(_core).
lib: $(LIB)

$(BUILD)/gen/dgram_lua.c: lua/dgram.lua $(wildcard lua/dgram/*.lua) tools/lua2c.lua
	@mkdir -p $(dir $@)
	$(LUA) tools/lua2c.lua $@ $(LIB_LUA)

$(LIB): $(SRC) $(HDR) include/dgram.h src/lib/luaopen_dgram.c $(BUILD)/gen/dgram_lua.c
	@rm -rf $(BUILD)/lib && mkdir -p $(BUILD)/lib
	@for f in $(SRC) src/lib/luaopen_dgram.c $(BUILD)/gen/dgram_lua.c; do \
	  $(CC) $(CFLAGS) $(WARN) $(VIS) -fPIC -c $$(pkg-config --cflags $(PKGS)) $$f \
	    -o $(BUILD)/lib/$$(basename $$f .c).o || exit 1; done
	ld -r -o $(BUILD)/lib/dgram.o $(BUILD)/lib/*.o
	objcopy --localize-hidden $(BUILD)/lib/dgram.o
	rm -f $@ && ar rcs $@ $(BUILD)/lib/dgram.o

# spec/c/threads.c (four Lua states on four threads) with the module, all under
# ThreadSanitizer: once to the end, once with a thread calling os.exit while others run
# (threads not joined then: no leak reports). tools/tsan.supp says what is suppressed.
TSAN_BIN = $(BUILD)/tsan/threads
$(TSAN_BIN): $(SRC) $(HDR) include/dgram.h src/lib/luaopen_dgram.c $(BUILD)/gen/dgram_lua.c \
	  spec/c/threads.c
	@mkdir -p $(dir $@)
	$(CC) -O1 -g -fsanitize=thread $(WARN) $$(pkg-config --cflags $(PKGS)) spec/c/threads.c \
	  $(SRC) src/lib/luaopen_dgram.c $(BUILD)/gen/dgram_lua.c -o $@ \
	  $$(pkg-config --libs $(LUA) libuv) -lpthread

tsan: deps
	@$(MAKE) --no-print-directory $(TSAN_BIN)
	@for mode in "" --exit; do \
	  TSAN_OPTIONS="halt_on_error=1 exitcode=66 report_thread_leaks=0 suppressions=tools/tsan.supp" timeout 120 $(TSAN_BIN) $$mode || \
	    { echo "tsan: threads $$mode failed"; exit 1; }; done
	@echo "tsan: 0 reports (threads, threads --exit)"

# The library built for Windows by MinGW-w64 as far as this machine can (no libuv or Lua
# built for Windows here): every C file compiled against libuv's and Lua's headers alone,
# core.dll linked against import libraries of their declared functions (tools/windows.sh).
check-windows: build-deps
	@sh tools/deps.sh gcc-mingw-w64-x86-64
	@CFLAGS="$(CFLAGS) $(WARN)" sh tools/windows.sh build/windows $(SRC) src/lib/luaopen_dgram.c

# The symbols the module and the library export: luaopen_* and nothing else.
check-symbols: $(SO) $(LIB)
	@bad=$$(nm -D --defined-only $(SO) | awk '{print $$3}' | grep -v '^luaopen_dgram_core$$'); \
	  [ -z "$$bad" ] || { echo "core.so exports more than luaopen_dgram_core:" $$bad; exit 1; }
	@bad=$$(nm -g --defined-only $(LIB) | awk 'NF==3 {print $$3}' | \
	  grep -v '^luaopen_dgram\(_core\)\?$$'); \
	  [ -z "$$bad" ] || { echo "libdgram.a exports more than luaopen_*:" $$bad; exit 1; }
	@echo "symbols: only luaopen_dgram_core (core.so), luaopen_dgram(_core) (libdgram.a)"

# A C host with a 60 Hz frame loop running a dgram script (examples/embed/host.c):
#   build/embed-host [--mode=nowait|poll] [--seconds N] [--fps N] script.lua [args...]
embed-host: $(HOST)

$(HOST): $(HOST_SRC) $(SO)
	$(CC) $(CFLAGS) $(WARN) -DDGRAM_BUILD_DIR='"$(BUILD)"' $$(pkg-config --cflags $(PKGS)) $(HOST_SRC) -o $@ \
	  $$(pkg-config --libs $(LUA)) -Wl,-E

# The same host linked with libdgram.a alone (include/dgram.h): no core.so, no Lua files.
embed-host-static: $(HOST_STATIC)

$(HOST_STATIC): $(HOST_SRC) $(LIB)
	$(CC) $(CFLAGS) $(WARN) -DDGRAM_STATIC -Iinclude $(HOST_SRC) -o $@ -L$(BUILD) -ldgram \
	  $$(pkg-config --cflags --libs $(LUA) libuv)

test: deps
	@$(MAKE) --no-print-directory all embed-host
	@sh spec/run.sh

demo: build-deps
	@$(MAKE) --no-print-directory all
	@sh examples/demo.sh

# Specs too slow or memory-hungry for `make test` (a 4 GiB message).
slow-specs: deps
	@$(MAKE) --no-print-directory all
	$(BUSTED) --pattern=_slow spec/slow

# The game server (examples/game_server.lua, in the C host when it builds) and 50 bots.
demo-game: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory embed-host || echo "demo-game: no C host, standalone"
	@sh examples/game_demo.sh

# Game-server load: ours (C host, dgram.run(), 2 processes) against Node's, at 500, 1000,
# 2000 bots; writes bench/game/RESULTS.md (about 2.5 minutes). -quick: 100 bots, 20 s.
bench-game: deps
	@$(MAKE) --no-print-directory all embed-host
	@sh bench/game/run.sh full

bench-game-quick: deps
	@$(MAKE) --no-print-directory all embed-host
	@sh bench/game/run.sh quick

# The same specs with AddressSanitizer + UBSan loaded into lua5.4.
asan: deps
	@$(MAKE) --no-print-directory $(ASAN_SO)
	@DGRAM_CPATH=./$(BUILD)/asan/?.so DGRAM_ASAN=1 sh spec/run.sh

valgrind: deps
	@$(MAKE) --no-print-directory all
	@DGRAM_VALGRIND=1 sh spec/run.sh

lint: deps
	@sh tools/deps.sh clang-format
	luacheck lua spec examples bench tools
	clang-format --dry-run -Werror $(C_ALL)
	$(CC) $(WARN) -fsyntax-only $$(pkg-config --cflags $(PKGS)) $(SRC) src/lib/luaopen_dgram.c $(HOST_SRC)
	$(CC) $(WARN) -DDGRAM_PORTABLE -fsyntax-only $$(pkg-config --cflags $(PKGS)) $(SRC)
	@$(LUA) tools/layers.lua src
	@$(MAKE) --no-print-directory check-symbols

format:
	clang-format -i $(C_ALL)

# The release's checks alone: the rockspecs against the tree and the module's version,
# luarocks make into a temporary tree, luarocks pack and a build of the source rock.
release-check: deps
	@$(MAKE) --no-print-directory all
	$(BUSTED) spec/rockspec_spec.lua spec/install_spec.lua

install: deps
	luarocks make --lua-version=5.4 dgram-scm-1.rockspec

bench: deps
	@$(MAKE) --no-print-directory all
	@sh bench/run.sh full

bench-quick: deps
	@$(MAKE) --no-print-directory all
	@sh bench/run.sh quick

# Tests that attack it (docs/RELIABILITY.md). Each runs inside a private network
# namespace (tools/netns.sh: root, unshare, ip). FUZZ_SEED=n replays a run.
FUZZ_CALLS   ?= 1000000
FUZZ_SECONDS ?= 3000
FUZZ_SEED    ?= $(shell date +%s)
fuzz: deps
	@$(MAKE) --no-print-directory $(ASAN_SO)
	@sh tools/netns.sh --asan $(LUA) tools/fuzz.lua --calls $(FUZZ_CALLS) \
	  --seconds $(FUZZ_SECONDS) --seed $(FUZZ_SEED); rc=$$?; \
	  [ $$rc -le 1 ] || echo "fuzz: the process died (status $$rc): replay with" \
	    "FUZZ_SEED=$(FUZZ_SEED), find the call with: sh tools/netns.sh --asan" \
	    "$(LUA) tools/fuzz.lua --seed $(FUZZ_SEED) --calls $(FUZZ_CALLS) --trace"; exit $$rc

SOAK_COUNT ?= 10000000
SOAK_FLOOD ?= 2000000
soak: deps
	@$(MAKE) --no-print-directory all
	@LUA_PATH='$(LUA_PATH_DEV)' LUA_INIT='$(if $(filter lua5.1 luajit,$(LUA)),@spec/compat.lua)' \
	  $(LUA) tools/soak.lua --count $(SOAK_COUNT) --flood $(SOAK_FLOOD)

faults: deps
	@$(MAKE) --no-print-directory all
	@sh tools/netns.sh $(LUA) tools/faults.lua

clean:
	rm -rf $(BUILD)
