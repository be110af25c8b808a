#!/bin/sh
# Installs the Debian packages the build and tests need, when they are missing.
# Usage: tools/deps.sh [--build] [--list] [extra-package ...]
#   --build  only what `make` needs to build core.so (not the test and lint tools)
#   --list   prints the packages it checks, one a line, and checks nothing
# As root it runs apt-get; otherwise it prints the exact command to run and fails.
set -u
build_only=0 listing=0
while [ $# -gt 0 ]; do
  case $1 in
    --build) build_only=1 ;;
    --list) listing=1 ;;
    *) break ;;
  esac
  shift
done
need=""
no_cmd() { ! command -v "$1" >/dev/null 2>&1; }
no_file() { [ ! -f "$1" ]; }
no_pc() { ! pkg-config --exists "$1" 2>/dev/null; }
no_pkg() { ! dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }
# want PACKAGE TEST...: PACKAGE is missing when TEST succeeds.
want() {
  pkg=$1
  shift
  if [ $listing = 1 ]; then echo "$pkg"; elif "$@"; then need="$need $pkg"; fi
}

# What `make` needs (README.md's Install section names the same packages).
want gcc no_cmd cc
want make no_cmd make
want pkg-config no_cmd pkg-config
want lua5.4 no_cmd lua5.4
want liblua5.4-dev no_file /usr/include/lua5.4/lua.h
want libuv1-dev no_pc libuv
if [ $build_only = 0 ]; then
  # What `make test` and `make lint` need besides.
  want lua-busted no_cmd busted
  want luarocks no_cmd luarocks
  want lua-check no_cmd luacheck
fi
for p in "$@"; do want "$p" no_pkg "$p"; done

[ -z "$need" ] && exit 0
cmd="apt-get install -y --no-install-recommends$need"
if [ "$(id -u)" -ne 0 ]; then
  echo "dgram: missing packages:$need" >&2
  echo "dgram: run as root:  apt-get update && $cmd" >&2
  exit 1
fi
echo "dgram: installing$need" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null 2>&1 || true
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $need >/dev/null || {
  echo "dgram: apt-get install failed:$need" >&2
  exit 1
}
