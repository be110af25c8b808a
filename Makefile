# dgram for Lua 5.4. `make demo` and `make test` install what is missing first.
LUA      ?= lua5.4
CC       ?= cc
PKGS      = libuv lua5.4
CFLAGS   ?= -O2 -g
WARN      = -Wall -Wextra -Werror -std=c11 -D_GNU_SOURCE
SRC       = $(sort $(wildcard src/*.c))
HDR       = src/dgram.h
HOST_SRC  = examples/embed/host.c
C_ALL     = $(SRC) $(HDR) $(HOST_SRC) $(wildcard spec/c/*.c bench/c/*.c)
BUILD     = build
SO        = $(BUILD)/dgram/core.so
ASAN_SO   = $(BUILD)/asan/dgram/core.so
HOST      = $(BUILD)/embed-host
LUA_PATH_DEV = ./lua/?.lua;./lua/?/init.lua;./spec/?.lua;;
BUSTED    = busted --lua=$(LUA)

export LUA_PATH = $(LUA_PATH_DEV)
export LUA_CPATH = ./$(BUILD)/?.so;;

.PHONY: all deps test demo asan valgrind lint format install clean bench bench-quick embed-host \
        demo-game bench-game bench-game-quick

all: $(SO)

# Extra Debian packages per target (tools/deps.sh installs what is missing).
TEST_PKGS  = iproute2 nodejs lua-luv
deps:
	@sh tools/deps.sh $(TEST_PKGS)

$(SO): $(SRC) $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -fPIC -shared $$(pkg-config --cflags $(PKGS)) $(SRC) \
	  -o $@ $$(pkg-config --libs libuv)
	@LUA_CPATH='./$(BUILD)/?.so' $(LUA) -e 'require("dgram.core")' || { rm -f $@; exit 1; }

$(ASAN_SO): $(SRC) $(HDR)
	@mkdir -p $(dir $@)
	$(CC) -O1 -g -DDGRAM_CHECKED -fno-omit-frame-pointer -fsanitize=address,undefined \
	  -fno-sanitize-recover=undefined $(WARN) -fPIC -shared \
	  $$(pkg-config --cflags $(PKGS)) $(SRC) -o $@ $$(pkg-config --libs libuv)

# A C host with a 60 Hz frame loop running a dgram script (examples/embed/host.c):
#   build/embed-host [--mode=nowait|poll] [--seconds N] [--fps N] script.lua [args...]
embed-host: $(HOST)

$(HOST): $(HOST_SRC) $(SO)
	$(CC) $(CFLAGS) $(WARN) $$(pkg-config --cflags $(PKGS)) $(HOST_SRC) -o $@ \
	  $$(pkg-config --libs lua5.4) -Wl,-E

test: deps
	@$(MAKE) --no-print-directory all embed-host
	@sh spec/run.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@sh examples/demo.sh

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
	@sh tools/deps.sh valgrind
	@$(MAKE) --no-print-directory all
	@DGRAM_VALGRIND=1 sh spec/run.sh

lint: deps
	@sh tools/deps.sh clang-format
	luacheck lua spec examples bench
	clang-format --dry-run -Werror $(C_ALL)
	$(CC) $(WARN) -fsyntax-only $$(pkg-config --cflags $(PKGS)) $(SRC) $(HOST_SRC)

format:
	clang-format -i $(C_ALL)

install: deps
	luarocks make --lua-version=5.4 dgram-scm-1.rockspec

bench: deps
	@$(MAKE) --no-print-directory all
	@sh bench/run.sh full

bench-quick: deps
	@$(MAKE) --no-print-directory all
	@sh bench/run.sh quick

clean:
	rm -rf $(BUILD)
