# dgram for Lua 5.4. `make demo` and `make test` install what is missing first.
LUA      ?= lua5.4
CC       ?= cc
PKGS      = libuv lua5.4
CFLAGS   ?= -O2 -g
WARN      = -Wall -Wextra -Werror -std=c11 -D_GNU_SOURCE
SRC       = $(sort $(wildcard src/*.c))
HDR       = src/dgram.h
C_ALL     = $(SRC) $(HDR) $(wildcard spec/c/*.c bench/c/*.c)
BUILD     = build
SO        = $(BUILD)/dgram/core.so
ASAN_SO   = $(BUILD)/asan/dgram/core.so
LUA_PATH_DEV = ./lua/?.lua;./lua/?/init.lua;./spec/?.lua;;
BUSTED    = busted --lua=$(LUA)

export LUA_PATH = $(LUA_PATH_DEV)
export LUA_CPATH = ./$(BUILD)/?.so;;

.PHONY: all deps test demo asan valgrind lint format install clean bench bench-quick \
        fuzz soak faults

all: $(SO)

# Extra Debian packages per target (tools/deps.sh installs what is missing).
TEST_PKGS  = iproute2 nodejs nftables
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

test: deps
	@$(MAKE) --no-print-directory all
	@sh spec/run.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@sh examples/demo.sh

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
	luacheck lua spec examples bench tools
	clang-format --dry-run -Werror $(C_ALL)
	$(CC) $(WARN) -fsyntax-only $$(pkg-config --cflags $(PKGS)) $(SRC)

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
	@LUA_PATH='$(LUA_PATH_DEV)' $(LUA) tools/soak.lua --count $(SOAK_COUNT) --flood $(SOAK_FLOOD)

faults: deps
	@$(MAKE) --no-print-directory all
	@sh tools/netns.sh $(LUA) tools/faults.lua

clean:
	rm -rf $(BUILD)
